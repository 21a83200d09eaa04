//! Sources of secrets: what a `--from` string names ([`SourceSpec`]) and loading
//! them into one [`SecretSet`] where a later source wins.
//!
//! Loading has three steps: dotenv files are parsed in order (they are local, and a
//! later file may expand names of an earlier one); every store reference, from
//! `--from` or inside a dotenv value, is fetched concurrently under one deadline,
//! each distinct secret once; then everything is merged in source order.

#[cfg(feature = "aws")]
pub mod aws;
pub mod dotenv;
pub mod remote;
#[cfg(any(feature = "vault", feature = "aws"))]
pub mod tls;
#[cfg(feature = "vault")]
pub mod vault;

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tokio::time::Instant;
use zeroize::Zeroizing;

use crate::error::{Failure, Kind, fail};
use crate::escape::{Escaped, os};
use crate::secret::{Origin, SecretSet};
use remote::{FetchKey, Fetched, RemoteRef, Scheme};

/// One source, as named on the command line or in the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSpec {
    /// A dotenv file.
    Dotenv(PathBuf),
    /// A secret in a store.
    Remote(RemoteRef),
}

impl SourceSpec {
    /// Parses a `--from` string; relative paths are taken from `base`.
    pub fn parse(text: &str, base: &Path) -> Result<SourceSpec> {
        if let Some(parsed) = RemoteRef::parse(text) {
            return Ok(SourceSpec::Remote(parsed?));
        }
        if let Some((scheme, _)) = text.split_once("://")
            && !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'+')
        {
            return fail(
                Kind::Config,
                format!(
                    "`{}://` is not a source secretrun knows (vault://, aws-sm://, or a path)",
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
            SourceSpec::Remote(r) => r.fmt(f),
        }
    }
}

/// What loading needs of the configuration: the sources in order, the one deadline
/// for all fetching, and each store's settings from the config file.
#[derive(Debug)]
pub struct Plan {
    pub sources: Vec<SourceSpec>,
    pub timeout: std::time::Duration,
    #[cfg(feature = "vault")]
    pub vault: vault::FileSettings,
    #[cfg(feature = "aws")]
    pub aws: aws::FileSettings,
}

/// A dotenv file, parsed, its references not yet fetched.
struct ParsedFile {
    path: PathBuf,
    entries: Vec<dotenv::Entry>,
}

/// Loads every source of the config into one set.
pub fn load(config: &Plan, parent: &[(OsString, OsString)]) -> Result<SecretSet> {
    let deadline = Instant::now() + config.timeout;
    let mut files: Vec<ParsedFile> = Vec::new();
    for spec in &config.sources {
        if let SourceSpec::Dotenv(path) = spec {
            let entries = {
                let earlier = |name: &str| -> Option<(&str, bool)> {
                    files.iter().rev().find_map(|f| {
                        f.entries
                            .iter()
                            .rev()
                            .find(|e| e.name == name)
                            .map(|e| (e.value.expose(), e.is_fetched()))
                    })
                };
                parse_dotenv(path, &earlier)?
            };
            files.push(ParsedFile {
                path: path.clone(),
                entries,
            });
        }
    }

    // Every reference, from `--from` and from dotenv values.
    let mut refs: Vec<RemoteRef> = Vec::new();
    for spec in &config.sources {
        if let SourceSpec::Remote(r) = spec {
            refs.push(r.clone());
        }
    }
    let mut file_refs: HashMap<(usize, usize), RemoteRef> = HashMap::new();
    for (fi, file) in files.iter().enumerate() {
        for (ei, entry) in file.entries.iter().enumerate() {
            if entry.literal {
                continue;
            }
            if let Some(parsed) = RemoteRef::parse(entry.value.expose()) {
                let r = parsed.with_context(|| {
                    format!(
                        "in `{}` line {}, the value of `{}`",
                        os(file.path.as_os_str()),
                        entry.line,
                        entry.name
                    )
                })?;
                refs.push(r.clone());
                file_refs.insert((fi, ei), r);
            }
        }
    }
    let fetched = fetch_all(&refs, config, parent, deadline)?;

    let mut set = SecretSet::new();
    let mut files = files.into_iter().enumerate();
    for spec in &config.sources {
        match spec {
            SourceSpec::Dotenv(_) => {
                let (fi, file) = files.next().expect("one parsed file per dotenv source");
                for (ei, entry) in file.entries.into_iter().enumerate() {
                    let Some(r) = file_refs.get(&(fi, ei)) else {
                        let origin = Origin::Dotenv {
                            path: file.path.clone(),
                            line: entry.line,
                        };
                        set.insert(entry.name, entry.value, origin);
                        continue;
                    };
                    let vars = remote::to_vars(r, &fetched[&r.fetch_key()], Some(&entry.name))?;
                    for (name, value) in vars {
                        let origin = Origin::Reference {
                            path: file.path.clone(),
                            line: entry.line,
                            source: r.to_string(),
                        };
                        set.insert(name, value, origin);
                    }
                }
            }
            SourceSpec::Remote(r) => {
                for (name, value) in remote::to_vars(r, &fetched[&r.fetch_key()], None)? {
                    set.insert(
                        name,
                        value,
                        Origin::Remote {
                            source: r.to_string(),
                        },
                    );
                }
            }
        }
    }
    Ok(set)
}

/// Fetches each distinct secret once, all stores at once, under the deadline. The
/// async runtime lives only inside this call: no thread survives it.
fn fetch_all(
    refs: &[RemoteRef],
    config: &Plan,
    parent: &[(OsString, OsString)],
    deadline: Instant,
) -> Result<HashMap<FetchKey, Fetched>> {
    let mut unique: Vec<&RemoteRef> = Vec::new();
    for r in refs {
        if !unique.iter().any(|u| u.fetch_key() == r.fetch_key()) {
            unique.push(r);
        }
    }
    if unique.is_empty() {
        return Ok(HashMap::new());
    }
    let env = |name: &str| {
        parent
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.to_str())
            .map(str::to_owned)
    };
    let vault_refs: Vec<&RemoteRef> = unique
        .iter()
        .copied()
        .filter(|r| r.scheme == Scheme::Vault)
        .collect();
    let aws_refs: Vec<&RemoteRef> = unique
        .iter()
        .copied()
        .filter(|r| r.scheme == Scheme::AwsSm)
        .collect();
    let vault = match vault_refs.first() {
        Some(r) => Some(stores::vault_settings(config, &env, r)?),
        None => None,
    };
    if !aws_refs.is_empty() {
        stores::aws_prepare(&env, aws_refs[0])?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the network runtime")?;
    // The stores are asked at once: a launch costs the slowest, not the sum.
    let (vault_results, aws_results) = runtime.block_on(futures_util::future::join(
        stores::vault_fetch(vault, &vault_refs, deadline),
        stores::aws_fetch(config, &env, &aws_refs, deadline),
    ));
    drop(runtime);
    let mut fetched = HashMap::new();
    for (refs, results) in [(vault_refs, vault_results?), (aws_refs, aws_results?)] {
        for (r, result) in refs.into_iter().zip(results) {
            fetched.insert(r.fetch_key(), result?);
        }
    }
    Ok(fetched)
}

/// Each store behind its cargo feature; a build without one refuses its scheme.
mod stores {
    use super::*;

    #[cfg(feature = "vault")]
    pub type VaultSettings = vault::Settings;
    #[cfg(not(feature = "vault"))]
    pub type VaultSettings = ();

    #[cfg(feature = "vault")]
    pub fn vault_settings(
        config: &Plan,
        env: &dyn Fn(&str) -> Option<String>,
        _: &RemoteRef,
    ) -> Result<VaultSettings> {
        let settings = vault::Settings::resolve(&config.vault, env)?;
        if settings.skip_verify {
            eprintln!(
                "warning: VAULT_SKIP_VERIFY is on: the Vault server's certificate is NOT verified; \
                 anyone on the path can read your secrets"
            );
        }
        Ok(settings)
    }

    #[cfg(not(feature = "vault"))]
    pub fn vault_settings(
        _: &Plan,
        _: &dyn Fn(&str) -> Option<String>,
        r: &RemoteRef,
    ) -> Result<VaultSettings> {
        fail(
            Kind::Config,
            format!("`{r}`: this build of secretrun has no Vault support (cargo feature `vault`)"),
        )
    }

    pub async fn vault_fetch(
        settings: Option<VaultSettings>,
        refs: &[&RemoteRef],
        deadline: Instant,
    ) -> Result<Vec<Result<Fetched>>> {
        let Some(settings) = settings else {
            return Ok(Vec::new());
        };
        #[cfg(feature = "vault")]
        {
            let client = vault::Client::connect(settings, deadline).await?;
            Ok(futures_util::future::join_all(refs.iter().map(|r| client.read(r, deadline))).await)
        }
        #[cfg(not(feature = "vault"))]
        {
            let _ = (settings, refs, deadline);
            unreachable!("vault_settings refuses vault:// in this build")
        }
    }

    #[cfg(feature = "aws")]
    pub fn aws_prepare(env: &dyn Fn(&str) -> Option<String>, _: &RemoteRef) -> Result<()> {
        aws::prepare(env);
        Ok(())
    }

    #[cfg(not(feature = "aws"))]
    pub fn aws_prepare(_: &dyn Fn(&str) -> Option<String>, r: &RemoteRef) -> Result<()> {
        fail(
            Kind::Config,
            format!("`{r}`: this build of secretrun has no AWS support (cargo feature `aws`)"),
        )
    }

    pub async fn aws_fetch(
        config: &Plan,
        env: &dyn Fn(&str) -> Option<String>,
        refs: &[&RemoteRef],
        deadline: Instant,
    ) -> Result<Vec<Result<Fetched>>> {
        if refs.is_empty() {
            return Ok(Vec::new());
        }
        #[cfg(feature = "aws")]
        {
            let client = aws::Client::connect(&config.aws, env, deadline).await?;
            Ok(client.fetch(refs, deadline).await)
        }
        #[cfg(not(feature = "aws"))]
        {
            let _ = (config, env, deadline);
            unreachable!("aws_prepare refuses aws-sm:// in this build")
        }
    }
}

fn parse_dotenv<'e>(path: &Path, earlier: &'e dotenv::Lookup<'e>) -> Result<Vec<dotenv::Entry>> {
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
    let entries = dotenv::parse(text, earlier)
        .map_err(|e| Failure::new(Kind::Invalid, e.to_string()))
        .with_context(|| format!("malformed dotenv file `{shown}`"))?;
    Ok(entries)
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
        assert!(matches!(
            SourceSpec::parse("vault://secret/x", Path::new("")).unwrap(),
            SourceSpec::Remote(_)
        ));
    }

    #[test]
    fn unknown_schemes_are_config_errors() {
        let err = SourceSpec::parse("ftp://x", Path::new("")).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 78);
    }
}
