//! The scan's report: `path:line:col  WHAT  masked` for people, JSON, and SARIF 2.1.0
//! for GitHub code scanning. Values appear only masked.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::{Finding, Mode, Options};
use crate::output::FindingsFormat;

pub fn write(findings: &[Finding], options: &Options, out: &mut impl Write) -> io::Result<()> {
    match options.format {
        FindingsFormat::Text => text(findings, options, out),
        FindingsFormat::Json => {
            let doc = json!({ "findings": findings.iter().map(finding_json).collect::<Vec<_>>() });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)
        }
        FindingsFormat::Sarif => {
            serde_json::to_writer_pretty(&mut *out, &sarif(findings))?;
            writeln!(out)
        }
    }
}

fn text(findings: &[Finding], options: &Options, out: &mut impl Write) -> io::Result<()> {
    let places: Vec<String> = findings
        .iter()
        .map(|f| format!("{}:{}:{}", f.shown_path(), f.line, f.column))
        .collect();
    let labels: Vec<String> = findings.iter().map(Finding::label).collect();
    let place_width = places.iter().map(|p| p.chars().count()).max().unwrap_or(0);
    let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    for ((finding, place), label) in findings.iter().zip(&places).zip(&labels) {
        write!(
            out,
            "{place:place_width$}  {label:label_width$}  {}",
            finding.masked
        )?;
        if let Some(commit) = &finding.commit {
            write!(out, "  commit {commit}")?;
        }
        writeln!(out)?;
    }
    let n = findings.len();
    if n > 0 {
        let what = match options.mode {
            Mode::Tree => "in the tree",
            Mode::Staged => "in what is staged",
            Mode::History => "in the history",
        };
        writeln!(
            out,
            "\n{n} secret{} found {what}; to allow a false positive, add its fingerprint \
             to `[scan] allow` (see --format json)",
            if n == 1 { "" } else { "s" }
        )?;
    }
    Ok(())
}

/// A finding for machines. `path` is the file's name as JSON text (exact, control
/// characters escaped the JSON way); a name that is not UTF-8 cannot be JSON text, so
/// `uri`, its bytes percent-encoded, names every file exactly.
fn finding_json(f: &Finding) -> Value {
    json!({
        "path": String::from_utf8_lossy(&f.path),
        "uri": crate::escape::uri(&f.path),
        "line": f.line,
        "column": f.column,
        "rule": f.rule_id(),
        "what": f.label(),
        "masked": f.masked,
        "commit": f.commit,
        "fingerprint": f.fingerprint(),
    })
}

/// SARIF 2.1.0, one run, one rule per rule id.
fn sarif(findings: &[Finding]) -> Value {
    let mut rules: Vec<(String, String)> = findings
        .iter()
        .map(|f| (f.rule_id(), f.description()))
        .collect();
    rules.sort();
    rules.dedup_by(|a, b| a.0 == b.0);
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut message = format!("{} found: {}", f.label(), f.masked);
            if let Some(commit) = &f.commit {
                message.push_str(&format!(" (added in commit {commit})"));
            }
            json!({
                "ruleId": f.rule_id(),
                "level": if f.rank == 3 { "warning" } else { "error" },
                "message": { "text": message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": crate::escape::uri(&f.path) },
                        "region": { "startLine": f.line, "startColumn": f.column },
                    }
                }],
                "partialFingerprints": { "secretrun/v1": f.fingerprint() },
            })
        })
        .collect();
    let rules: Vec<(&str, &str)> = rules
        .iter()
        .map(|(id, label)| (id.as_str(), label.as_str()))
        .collect();
    crate::output::sarif_log(&rules, results)
}
