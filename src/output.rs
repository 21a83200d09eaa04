//! How `list` and `check` write their reports. A leaf module, so that the
//! renderers need not reach up to the command line for it.

use clap::ValueEnum;

/// How `list` and `check` write their report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}
