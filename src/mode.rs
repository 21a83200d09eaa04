//! Live or test: the two kinds of provider key, and what `--expect` takes. A leaf:
//! the command line, the config and the detectors all speak of it.

use std::fmt;

/// Whether a key is for real money or for testing. Also what `--expect` takes.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Live,
    Test,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Live => "live",
            Mode::Test => "test",
        })
    }
}
