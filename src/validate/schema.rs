//! The schema of `[vars.NAME]` in secretrun.toml: what one variable must be. Read by
//! the config, checked by `validate`.

use std::time::Duration;

use serde::Deserialize;

use crate::duration::parse_duration;

use super::formats::Format;

/// What the config says about one variable: the schema `validate` checks.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VarSpec {
    #[serde(default)]
    pub required: bool,
    pub description: Option<String>,
    pub format: Option<Format>,
    pub pattern: Option<Pattern>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub min_length: Option<usize>,
    pub one_of: Option<Vec<String>>,
    #[serde(default)]
    pub allow_empty: bool,
    /// `secret = false`: `list` and `check` show the value in clear, unless its
    /// name, a URL's password or a detector says it is a secret.
    pub secret: Option<bool>,
    /// How old the value may be (`90d`), where its store records when it was
    /// written.
    #[serde(default, deserialize_with = "max_age")]
    pub max_age: Option<Duration>,
    /// How the command gets the value: in its environment, or as a file whose path
    /// the environment holds (`as = "file"`, see `deliver`).
    #[serde(default, rename = "as")]
    pub deliver: Deliver,
    /// With `as = "file"`: the variable that holds the path (`NAME_FILE`, Docker's
    /// convention); the variable itself by default.
    pub env: Option<String>,
}

/// `as = "env"` (the default) or `as = "file"`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Deliver {
    #[default]
    Env,
    File,
}

/// A `max_age = "90d"`.
fn max_age<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_duration(&text)
        .filter(|d| !d.is_zero())
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom("`max_age` is not a duration such as `90d`"))
}

impl VarSpec {
    /// Whether anything beyond presence is asked of the value.
    pub fn has_constraints(&self) -> bool {
        self.format.is_some()
            || self.pattern.is_some()
            || self.min.is_some()
            || self.max.is_some()
            || self.min_length.is_some()
            || self.one_of.is_some()
    }
}

/// A `pattern = "…"`, compiled once when the config is read, matched against the
/// whole value.
#[derive(Debug)]
pub struct Pattern {
    source: String,
    regex: regex_lite::Regex,
}

impl Pattern {
    pub fn is_match(&self, value: &str) -> bool {
        self.regex.is_match(value)
    }

    pub fn source(&self) -> &str {
        &self.source
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = String::deserialize(deserializer)?;
        let regex = regex_lite::Regex::new(&format!("^(?:{source})$"))
            .map_err(|e| serde::de::Error::custom(format!("invalid pattern: {e}")))?;
        Ok(Pattern { source, regex })
    }
}
