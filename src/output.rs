//! How `list`, `check`, `scan` and `diff` write their reports. A leaf module, so that the
//! renderers need not reach up to the command line for it.

use clap::ValueEnum;
use serde_json::{Value, json};

/// How `list` and `check` write their report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// How `scan` and `diff` write their findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FindingsFormat {
    Text,
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
}

/// A SARIF 2.1.0 log of one run of secretrun: its rules (id, description) and its
/// results.
pub fn sarif_log(rules: &[(&str, &str)], results: Vec<Value>) -> Value {
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "secretrun",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(|(id, text)| json!({
                    "id": id,
                    "shortDescription": { "text": text },
                })).collect::<Vec<_>>(),
            }},
            "results": results,
        }]
    })
}
