//! Sources of secrets: what a `--from` string names ([`SourceSpec`]) and loading
//! them, in order, into one [`SecretSet`] where a later source wins.

pub mod dotenv;

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use zeroize::Zeroizing;

use crate::error::{Failure, Kind, fail};
use crate::escape::{Escaped, os};
use crate::secret::{Origin, SecretSet};

/// One source, as named on the command line or in the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSpec {
    /// A dotenv file.
    Dotenv(PathBuf),
}

impl SourceSpec {
    /// Parses a `--from` string; relative paths are taken from `base`.
    pub fn parse(text: &str, base: &Path) -> Result<SourceSpec> {
        if let Some((scheme, _)) = text.split_once("://")
            && !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'+')
        {
            return fail(
                Kind::Config,
                format!(
                    "`{}://` sources are not supported by this build",
                    Escaped(scheme)
                ),
            );
        }
        if text.is_empty() {
            return fail(Kind::Config, "an empty source path");
        }
        Ok(SourceSpec::Dotenv(base.join(text)))
    }
}

impl std::fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceSpec::Dotenv(path) => f.write_str(&os(path.as_os_str())),
        }
    }
}

/// Loads every source in order into one set.
pub fn load(specs: &[SourceSpec]) -> Result<SecretSet> {
    let mut set = SecretSet::new();
    for spec in specs {
        match spec {
            SourceSpec::Dotenv(path) => load_dotenv(path, &mut set)?,
        }
    }
    Ok(set)
}

fn load_dotenv(path: &Path, set: &mut SecretSet) -> Result<()> {
    let shown = os(path.as_os_str());
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| {
        let kind = match e.kind() {
            ErrorKind::PermissionDenied => Kind::Denied,
            _ => Kind::Config,
        };
        let what = match e.kind() {
            ErrorKind::NotFound => "not found".to_owned(),
            _ => e.to_string(),
        };
        Failure::new(kind, format!("reading dotenv file `{shown}`: {what}"))
    })?);
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        Failure::new(
            Kind::Invalid,
            format!("malformed dotenv file `{shown}`: line {line} is not UTF-8"),
        )
    })?;
    let entries = dotenv::parse(text, set)
        .map_err(|e| Failure::new(Kind::Invalid, e.to_string()))
        .with_context(|| format!("malformed dotenv file `{shown}`"))?;
    for entry in entries {
        let origin = Origin::Dotenv {
            path: path.to_path_buf(),
            line: entry.line,
        };
        set.insert(entry.name, entry.value, origin);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_dotenv_files() {
        assert_eq!(
            SourceSpec::parse("cfg/.env", Path::new("/etc/app")).unwrap(),
            SourceSpec::Dotenv(PathBuf::from("/etc/app/cfg/.env"))
        );
        assert_eq!(
            SourceSpec::parse("/abs/.env", Path::new("/etc/app")).unwrap(),
            SourceSpec::Dotenv(PathBuf::from("/abs/.env"))
        );
    }

    #[test]
    fn unknown_schemes_are_config_errors() {
        let err = SourceSpec::parse("ftp://x", Path::new("")).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 78);
    }
}
