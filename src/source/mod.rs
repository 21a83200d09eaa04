//! Sources of secrets: what a `--from` string names ([`SourceSpec`]) and loading
//! them into one [`SecretSet`] where a later source wins.
//!
//! Loading has three steps: dotenv files are parsed in order (they are local, and a
//! later file may expand names of an earlier one); every store reference, from
//! `--from` or inside a dotenv value, is fetched concurrently under one deadline,
//! each distinct secret once; then everything is merged in source order.

pub mod address;
#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "azure")]
pub mod azure;
pub mod dotenv;
pub mod files;
#[cfg(feature = "gcp")]
pub mod gcp;
pub mod http;
#[cfg(any(feature = "azure", feature = "gcp"))]
pub mod jwt;
mod near;
#[cfg(any(feature = "azure", feature = "gcp"))]
pub mod oauth;
pub mod platform;
pub mod reference;
pub mod rest;
pub mod store;
#[cfg(feature = "vault")]
pub mod vault;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tokio::time::Instant;

use crate::error::{Kind, fail};
use crate::escape::{Escaped, os};
use crate::secret::AtRest;
use crate::secret::{Origin, SecretSet};
use reference::{Answer, FetchKey, RemoteRef, Scheme};

/// One source, as named on the command line or in the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSpec {
    /// A dotenv file.
    Dotenv(DotenvSpec),
    /// A secret in a store.
    Remote(RemoteRef),
    /// A directory of secret files, a variable each: `docker-secrets`,
    /// `systemd-creds`, `dir:PATH`.
    Platform {
        layout: platform::Layout,
        dir: PathBuf,
    },
    /// The parent's `NAME_FILE` variables (`--from-file-vars`).
    FileVars,
}

/// A dotenv file to read, whether it may be absent (`optional:PATH`), and who named
/// it, for the message when it is not there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DotenvSpec {
    pub path: PathBuf,
    pub optional: bool,
    pub asked: Asked,
}

/// Who named a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Asked {
    /// `--from`.
    Flag,
    /// The config's `sources` (the profile's, when one sets them).
    Config(PathBuf),
    /// Nothing named one: `.env`, with where secretrun looked for a config.
    Default { project: String },
}

impl SourceSpec {
    /// Parses a `--from` string; relative paths are taken from `base`.
    pub fn parse(text: &str, base: &Path) -> Result<SourceSpec> {
        if let Some(path) = text.strip_prefix("optional:") {
            return match SourceSpec::parse(path, base)? {
                SourceSpec::Dotenv(spec) => Ok(SourceSpec::Dotenv(DotenvSpec {
                    optional: true,
                    ..spec
                })),
                _ => fail(
                    Kind::Config,
                    format!(
                        "`optional:` is for a dotenv file; `{}` is not one",
                        Escaped(path)
                    ),
                ),
            };
        }
        if let Some(parsed) = RemoteRef::parse(text) {
            return Ok(SourceSpec::Remote(parsed?));
        }
        let platform = |layout, dir: PathBuf| Ok(SourceSpec::Platform { layout, dir });
        match text {
            "docker-secrets" => return platform(platform::Layout::Docker, PathBuf::new()),
            "systemd-creds" => return platform(platform::Layout::Systemd, PathBuf::new()),
            _ => {}
        }
        if let Some(dir) = text.strip_prefix("dir:") {
            if dir.is_empty() {
                return fail(Kind::Config, "`dir:` names no directory (`dir:PATH`)");
            }
            return platform(platform::Layout::Dir, base.join(dir));
        }
        if let Some(meant) = near::meant(text) {
            return fail(
                Kind::Config,
                format!(
                    "`{}` looks like a mistyped reference: did you mean `{}`? (a file by that \
                     name: `./{}`)",
                    Escaped(text),
                    Escaped(&meant),
                    Escaped(text)
                ),
            );
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
                    "`{}://` is not a source secretrun knows (vault://, aws-sm://, azure-kv://, \
                     gcp-sm://, docker-secrets, systemd-creds, dir:PATH, or a path)",
                    Escaped(scheme)
                ),
            );
        }
        if text.is_empty() {
            return fail(Kind::Config, "an empty source path");
        }
        Ok(SourceSpec::Dotenv(DotenvSpec {
            path: base.join(text),
            optional: false,
            asked: Asked::Flag,
        }))
    }

    /// The same source, named by someone else than `--from`.
    pub fn asked_by(self, asked: Asked) -> SourceSpec {
        match self {
            SourceSpec::Dotenv(spec) => SourceSpec::Dotenv(DotenvSpec { asked, ..spec }),
            other => other,
        }
    }
}

impl std::fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceSpec::Dotenv(spec) => f.write_str(&os(spec.path.as_os_str())),
            SourceSpec::Remote(r) => r.fmt(f),
            SourceSpec::Platform { layout, dir } => match layout {
                platform::Layout::Docker => f.write_str("docker-secrets"),
                platform::Layout::Systemd => f.write_str("systemd-creds"),
                platform::Layout::Dir => write!(f, "dir:{}", os(dir.as_os_str())),
            },
            SourceSpec::FileVars => f.write_str("--from-file-vars"),
        }
    }
}

/// What loading needs of the configuration: the sources in order, the one deadline
/// for all fetching, and each store's settings from the config file.
#[derive(Debug)]
pub struct Plan {
    pub sources: Vec<SourceSpec>,
    pub timeout: std::time::Duration,
    /// Where age identities come from.
    pub identity: crate::encrypted::age::IdentitySettings,
    /// Passphrases given at the terminal, for every later load of this process.
    pub passphrases: crate::encrypted::age::Passphrases,
    /// Whether to read what creates credentials when read (a database engine's
    /// `creds/`): a launch does, `list` and `check` when asked.
    pub read_dynamic: bool,
    #[cfg(feature = "vault")]
    pub vault: vault::FileSettings,
    #[cfg(feature = "aws")]
    pub aws: aws::FileSettings,
}

/// A dotenv file, parsed, its references not yet fetched.
struct ParsedFile {
    path: PathBuf,
    /// Whether the whole file was age-encrypted.
    file: AtRest,
    /// Each line, with the reference its value holds, if any.
    entries: Vec<(dotenv::Entry, Option<RemoteRef>)>,
}

/// Loads every source of the plan into one set. `notice` is told, as soon as it is
/// known, what the user should be warned of (a setting that weakens security), even
/// when loading then fails. Fetching ends at the plan's timeout, or at `until` when
/// that comes sooner (a lease's fresh read, which is of no use past its expiry).
pub fn load(
    plan: &Plan,
    parent: &[(OsString, OsString)],
    notice: &mut dyn FnMut(String),
    until: Option<std::time::Instant>,
) -> Result<SecretSet> {
    let mut deadline = Instant::now() + plan.timeout;
    if let Some(until) = until {
        deadline = deadline.min(Instant::from_std(until));
    }
    let (files, expanded) = parse_files(plan, parent)?;
    let platform_files = read_platform(plan, parent)?;
    // Every reference, from `--from` and from dotenv values.
    let from_flags = plan.sources.iter().filter_map(|spec| match spec {
        SourceSpec::Remote(r) => Some(r),
        _ => None,
    });
    let in_files = files
        .iter()
        .flat_map(|f| f.entries.iter().filter_map(|(_, r)| r.as_ref()));
    let refs: Vec<&RemoteRef> = from_flags.chain(in_files).collect();
    let fetched = fetch_all(&refs, plan, parent, deadline, notice)?;
    // On an error the answers are dropped, and with them their leases, revoked.
    let mut set = merge(plan, (files, expanded), platform_files, &fetched)?;
    for lease in fetched.into_values().filter_map(|answer| answer.lease) {
        set.add_lease(lease);
    }
    Ok(set)
}

/// Parses the dotenv sources in order (a later file may expand names of an earlier
/// one), and the references their values hold.
/// With what expansion produced in them, which composing spends on from.
fn parse_files(plan: &Plan, parent: &[(OsString, OsString)]) -> Result<(Vec<ParsedFile>, usize)> {
    let reader = files::Reader::new(&plan.identity, &plan.passphrases, parent);
    let mut files: Vec<ParsedFile> = Vec::new();
    for spec in &plan.sources {
        let SourceSpec::Dotenv(dotenv) = spec else {
            continue;
        };
        let path = &dotenv.path;
        let earlier = |name: &str| -> Option<(&str, bool)> {
            files.iter().rev().find_map(|f| {
                f.entries
                    .iter()
                    .rev()
                    .find(|(e, _)| e.name == name)
                    .map(|(e, _)| (e.value.expose(), e.is_fetched()))
            })
        };
        let mut entries = Vec::new();
        // An optional file that is not there: nothing from it.
        let Some(read) = reader.read(dotenv, &earlier)? else {
            files.push(ParsedFile {
                path: path.clone(),
                file: AtRest::Plain,
                entries: Vec::new(),
            });
            continue;
        };
        for entry in read.entries {
            let reference = match RemoteRef::parse(entry.value.expose()) {
                _ if entry.composed => None,
                Some(parsed) if !entry.literal => Some(parsed.with_context(|| {
                    format!(
                        "in `{}` line {}, the value of `{}`",
                        os(path.as_os_str()),
                        entry.line,
                        entry.name
                    )
                })?),
                None if !entry.literal => {
                    near::in_dotenv(entry.value.expose(), path, entry.line, &entry.name)?;
                    None
                }
                _ => None,
            };
            entries.push((entry, reference));
        }
        files.push(ParsedFile {
            path: path.clone(),
            file: read.file,
            entries,
        });
    }
    Ok((files, reader.expanded()))
}

/// Reads the platforms' secret files, each source's in order, under one budget.
fn read_platform(
    plan: &Plan,
    parent: &[(OsString, OsString)],
) -> Result<Vec<Vec<platform::FileVar>>> {
    let budget = platform::Budget::default();
    let env = |name: &str| crate::parent::var(parent, name);
    let mut read = Vec::new();
    for spec in &plan.sources {
        match spec {
            SourceSpec::Platform { layout, dir } => {
                let dir = platform::directory(*layout, dir, &env)?;
                read.push(platform::read_dir(&spec.to_string(), &dir, &budget)?);
            }
            SourceSpec::FileVars => read.push(platform::read_file_vars(parent, &budget)?),
            _ => {}
        }
    }
    Ok(read)
}

/// Merges every source, in order, into one set: a later source wins.
fn merge(
    plan: &Plan,
    (files, mut spent): (Vec<ParsedFile>, usize),
    platform_files: Vec<Vec<platform::FileVar>>,
    fetched: &HashMap<FetchKey, Answer>,
) -> Result<SecretSet> {
    let mut set = SecretSet::new();
    let mut files = files.into_iter();
    let mut platform_files = platform_files.into_iter();
    for spec in &plan.sources {
        match spec {
            SourceSpec::Platform { .. } | SourceSpec::FileVars => {
                let read = platform_files
                    .next()
                    .expect("one reading per platform source");
                for var in read {
                    set.insert(var.name, var.value, Origin::File { path: var.path });
                }
            }
            SourceSpec::Dotenv(_) => {
                let file = files.next().expect("one parsed file per dotenv source");
                merge_file(&mut set, file, fetched, &mut spent)?;
            }
            SourceSpec::Remote(r) => {
                let answer = &fetched[&r.fetch_key()];
                for (name, value) in reference::to_vars(r, &answer.fetched, None)? {
                    let source = r.to_string();
                    set.insert_dated(name, value, Origin::Remote { source }, answer.dates);
                }
            }
        }
    }
    Ok(set)
}

/// A composed line into the set, its fetched values in their places (from the
/// lines and sources before it, as expansion has them), dated as the first of them.
fn compose_into(
    set: &mut SecretSet,
    entry: &dotenv::Entry,
    path: &Path,
    spent: &mut usize,
) -> Result<()> {
    let dates = std::cell::Cell::new(None);
    let value = dotenv::compose(
        entry,
        &|name| {
            let secret = set.get(name)?;
            dates.set(dates.get().or(Some(secret.dates)));
            Some(secret.value.expose())
        },
        spent,
    )
    .map_err(|e| crate::error::Failure::new(e.kind, e.to_string()))
    .with_context(|| format!("malformed dotenv file `{}`", os(path.as_os_str())))?;
    let origin = Origin::Dotenv {
        path: path.to_path_buf(),
        line: entry.line,
        at_rest: AtRest::Plain,
    };
    set.insert_dated(
        entry.name.clone(),
        value,
        origin,
        dates.get().unwrap_or_default(),
    );
    Ok(())
}

/// A dotenv file's lines into the set: a value as written, what its reference
/// fetched, or a value composed of fetched ones.
fn merge_file(
    set: &mut SecretSet,
    file: ParsedFile,
    fetched: &HashMap<FetchKey, Answer>,
    spent: &mut usize,
) -> Result<()> {
    for (entry, reference) in file.entries {
        if entry.composed {
            compose_into(set, &entry, &file.path, spent)?;
            continue;
        }
        let Some(r) = reference else {
            let at_rest = match file.file {
                AtRest::Plain if entry.sealed => AtRest::Dotenvx,
                other => other,
            };
            let origin = Origin::Dotenv {
                path: file.path.clone(),
                line: entry.line,
                at_rest,
            };
            set.insert(entry.name, entry.value, origin);
            continue;
        };
        let answer = &fetched[&r.fetch_key()];
        let vars = reference::to_vars(&r, &answer.fetched, Some(&entry.name))?;
        for (name, value) in vars {
            let origin = Origin::Reference {
                path: file.path.clone(),
                line: entry.line,
                source: r.to_string(),
            };
            set.insert_dated(name, value, origin, answer.dates);
        }
    }
    Ok(())
}

/// Fetches each distinct secret once, every store at once, under the deadline.
/// The async runtime lives only inside this call: no thread survives it.
fn fetch_all(
    refs: &[&RemoteRef],
    plan: &Plan,
    parent: &[(OsString, OsString)],
    deadline: Instant,
    notice: &mut dyn FnMut(String),
) -> Result<HashMap<FetchKey, Answer>> {
    // Each distinct secret once, grouped by store in the order first named.
    let mut groups: Vec<(Scheme, Vec<&RemoteRef>)> = Vec::new();
    for &r in refs {
        let at = match groups.iter().position(|(s, _)| *s == r.scheme) {
            Some(at) => at,
            None => {
                groups.push((r.scheme, Vec::new()));
                groups.len() - 1
            }
        };
        let group = &mut groups[at].1;
        if !group.iter().any(|u| u.fetch_key() == r.fetch_key()) {
            group.push(r);
        }
    }
    if groups.is_empty() {
        return Ok(HashMap::new());
    }
    let env = |name: &str| crate::parent::var(parent, name);
    let mut stores = Vec::new();
    for (scheme, refs) in &groups {
        stores.push(store::open(*scheme, plan, &env, refs[0], notice)?);
    }
    let runtime = rest::runtime().context("starting the network runtime")?;
    // The stores are asked at once: a launch costs the slowest, not the sum.
    let answers = runtime.block_on(futures_util::future::join_all(
        stores
            .into_iter()
            .zip(&groups)
            .map(|(store, (_, refs))| store.fetch(refs, deadline)),
    ));
    drop(runtime);
    let mut fetched = HashMap::new();
    for ((_, refs), answers) in groups.iter().zip(answers) {
        for (r, answer) in refs.iter().zip(answers?) {
            fetched.insert(r.fetch_key(), answer?);
        }
    }
    Ok(fetched)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_dotenv_files() {
        assert_eq!(
            SourceSpec::parse("cfg/.env", Path::new("/etc/app")).unwrap(),
            SourceSpec::Dotenv(DotenvSpec {
                path: PathBuf::from("/etc/app/cfg/.env"),
                optional: false,
                asked: Asked::Flag
            })
        );
        assert_eq!(
            SourceSpec::parse("optional:/abs/.env", Path::new("/etc/app")).unwrap(),
            SourceSpec::Dotenv(DotenvSpec {
                path: PathBuf::from("/abs/.env"),
                optional: true,
                asked: Asked::Flag
            })
        );
        assert!(SourceSpec::parse("optional:vault://secret/x", Path::new("")).is_err());
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
