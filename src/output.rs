//! How `list`, `check` and `scan` write their reports. A leaf module, so that the
//! renderers need not reach up to the command line for it.

use clap::ValueEnum;

/// How `list` and `check` write their report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// How `scan` writes its report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    Text,
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
}
