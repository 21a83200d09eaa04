//! The validated configuration of one launch: `secretrun.toml`, then `SECRETRUN_*`
//! environment fallbacks (through clap), then flags, resolved into a [`Config`].
//! Flags beat the environment, which beats the file.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::cli::{Cli, Command};
use crate::crypt::Recipients;
use crate::duration::parse_duration;
use crate::encrypted::age::IdentitySettings;
use crate::error::{Failure, Kind, fail};
use crate::escape::{Escaped, os};
use crate::mode::Mode;
use crate::names::{is_protected, is_valid_name, is_valid_pattern};
use crate::parent::Parent;
use crate::prepare::Steps;
#[cfg(feature = "aws")]
use crate::source::aws;
#[cfg(feature = "vault")]
use crate::source::vault;
use crate::source::{Asked, Plan, SourceSpec};
use crate::validate::rotation::Policy;
use crate::validate::{Rules, VarSpec};

mod action;
mod profiles;
mod project;

pub use action::{Action, Launching};
use action::{action, reads_dynamic};
pub use profiles::Side;
pub use project::Project;

/// The default config file, read when present.
pub const DEFAULT_CONFIG: &str = "secretrun.toml";
/// The default source when neither flags nor the config name one.
pub const DEFAULT_DOTENV: &str = ".env";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything a launch needs to know, checked: what to do, and the settings of
/// each step of the pipeline.
#[derive(Debug)]
pub struct Config {
    pub action: Action,
    /// What the pipeline does before the action.
    /// Shared with the supervisor's fetches, which run on threads of their own.
    pub steps: std::sync::Arc<Steps>,
    /// The config's recipients, for `encrypt` and `edit`.
    pub recipients: Recipients,
    /// Which config file was read, or where none was found.
    pub project: Project,
}

/// `secretrun.toml` as written. Unknown keys are errors: a typo must not silently
/// drop a requirement.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    sources: Option<Vec<String>>,
    #[serde(default)]
    keep: Vec<String>,
    #[serde(default)]
    pure: bool,
    #[serde(default)]
    require: Vec<String>,
    timeout: Option<String>,
    expect: Option<Mode>,
    #[cfg(feature = "vault")]
    #[serde(default)]
    vault: vault::FileSettings,
    #[cfg(feature = "aws")]
    #[serde(default)]
    aws: aws::FileSettings,
    #[serde(default)]
    vars: BTreeMap<String, VarSpec>,
    /// Files assembled from several values (`[files.NAME] template`).
    #[serde(default)]
    files: BTreeMap<String, crate::deliver::FileSpec>,
    #[serde(default)]
    rotation: RotationFile,
    #[serde(default)]
    scan: ScanFile,
    /// age identity files, for age-encrypted dotenv files.
    #[serde(default)]
    identity: Vec<String>,
    /// Who `encrypt` and `edit` encrypt to: `age1…` keys and SSH public keys.
    #[serde(default)]
    recipients: Vec<String>,
    /// Files of recipients, one a line.
    #[serde(default)]
    recipients_file: Vec<String>,
    /// `[profiles.NAME]`: development, staging, production.
    #[serde(default)]
    profiles: BTreeMap<String, profiles::Profile>,
}

/// `[scan]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanFile {
    /// Path globs never reported.
    #[serde(default)]
    exclude: Vec<String>,
    /// Fingerprints of known false positives.
    #[serde(default)]
    allow: Vec<String>,
}

/// `[rotation]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RotationFile {
    /// `max_age` for every variable that has none of its own.
    max_age: Option<String>,
    /// How long before a store-recorded expiry to warn (default 14 days).
    warn_before_expiry: Option<String>,
    /// Overdue values are errors, at launch too.
    #[serde(default)]
    strict: bool,
}

impl Config {
    /// Resolves the command line (the completions and manual subcommands excepted:
    /// they need no configuration) with the config file and the environment.
    pub fn from_cli(cli: &Cli, parent: &Parent) -> Result<Config> {
        Config::from_cli_in(cli, parent, None)
    }

    /// [`Config::from_cli`] for this side (`diff` reads two): a profile, and maybe
    /// a source in place of its sources. `None`: what the command line names.
    pub fn from_cli_in(cli: &Cli, parent: &Parent, side: Option<&Side>) -> Result<Config> {
        let args = &cli.shared;
        let (mut file, project) = config_file(args.config.as_deref(), parent)?;
        let base = project.base.clone();
        let (side, diff) = profiles::select(&mut file, cli, parent, side)?;
        let action = action(cli, &file.scan, parent, diff);

        let environment = matches!(
            cli.subcommand,
            Some(Command::Check {
                environment: true,
                ..
            })
        );
        let sources = match &side.source {
            // A side of `diff SOURCE SOURCE`: that source alone, as `--from` names one.
            Some(source) => vec![SourceSpec::parse(source, Path::new(""))?],
            None => sources(cli, &file, &project, environment)?,
        };

        let mut keep = keep_list(&file.keep, &args.keep)?;
        let require = require_list(&file, &args.require)?;
        if environment {
            // Every variable, and the schema's by exact name (a protected name passes
            // no glob): nothing runs, so nothing is handed to a command.
            keep.push("*".to_owned());
            keep.extend(file.vars.keys().chain(&require).cloned());
        }

        let timeout = match args.timeout.as_deref().or(file.timeout.as_deref()) {
            Some(text) => duration(text, "`10s`, `500ms` or `2m`")?,
            None => DEFAULT_TIMEOUT,
        };
        let strict = matches!(cli.subcommand, Some(Command::Check { strict: true, .. }));
        let rotation = rotation_policy(&file.rotation, strict)?;
        let home = parent.var_os("HOME");
        let (identity, recipients) = key_files(&args.identity, &file, &base, home);
        let files = crate::deliver::as_files(&args.as_file, &file.vars, &file.files)?;

        Ok(Config {
            action,
            steps: std::sync::Arc::new(Steps {
                fetch: Plan {
                    sources,
                    timeout,
                    identity,
                    passphrases: Default::default(),
                    read_dynamic: reads_dynamic(cli),
                    #[cfg(feature = "vault")]
                    vault: file.vault,
                    #[cfg(feature = "aws")]
                    aws: file.aws,
                },
                rules: Rules {
                    vars: file.vars,
                    require,
                    expect: args.expect.or(file.expect),
                    rotation,
                },
                keep,
                pure: args.pure || file.pure || environment,
                files,
            }),
            recipients,
            project,
        })
    }
}

/// The config file (`--config`, else `secretrun.toml` here or in the nearest parent:
/// [`project::find`]) and where it was found.
fn config_file(named: Option<&Path>, parent: &Parent) -> Result<(FileConfig, Project)> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let project = project::find(named, &cwd, parent.var_os("HOME"))?;
    let file = match &project.config {
        Some(path) => read_file(path)?,
        None => FileConfig::default(),
    };
    Ok((file, project))
}

/// The age identities to decrypt with (the flags', then the file's) and the
/// recipients to encrypt to, the file's paths taken from its directory.
fn key_files(
    flags: &[PathBuf],
    file: &FileConfig,
    base: &Path,
    home: Option<&OsStr>,
) -> (IdentitySettings, Recipients) {
    let from_file = |paths: &[String]| paths.iter().map(|p| config_path(p, base, home)).collect();
    let identity = IdentitySettings {
        flags: flags.to_vec(),
        config: from_file(&file.identity),
    };
    let recipients = Recipients {
        keys: file.recipients.clone(),
        files: from_file(&file.recipients_file),
    };
    (identity, recipients)
}

/// The sources to load: `--from`, else the config's, else `./.env`. None for `check
/// --environment` (what a running app has is checked instead) and `scan --no-values`;
/// a scan without `./.env` and no sources named still finds keys by their shape.
fn sources(
    cli: &Cli,
    file: &FileConfig,
    project: &Project,
    environment: bool,
) -> Result<Vec<SourceSpec>> {
    let base = &project.base;
    let scan = match &cli.subcommand {
        Some(Command::Scan { no_values, .. }) => Some(*no_values),
        _ => None,
    };
    if environment || scan == Some(true) {
        return Ok(Vec::new());
    }
    // The parent's `NAME_FILE`s come first: every named source wins over them.
    let mut sources = match cli.shared.from_file_vars {
        true => vec![SourceSpec::FileVars],
        false => Vec::new(),
    };
    if !cli.shared.from.is_empty() {
        for s in &cli.shared.from {
            sources.push(SourceSpec::parse(s, Path::new(""))?);
        }
    } else if let Some(named) = &file.sources {
        let config = project.config.clone().unwrap_or_default();
        for s in named {
            let spec = SourceSpec::parse(s, base).context("in the config's `sources`")?;
            sources.push(spec.asked_by(Asked::Config(config.clone())));
        }
    } else if sources.is_empty() && (scan.is_none() || base.join(DEFAULT_DOTENV).exists()) {
        // `.env` beside the config (here without one) when nothing names a source,
        // `--from-file-vars` included (a scan reads it only when it is there).
        let spec = SourceSpec::parse(DEFAULT_DOTENV, base)?;
        sources.push(spec.asked_by(Asked::Default {
            project: project.describe(),
        }));
    }
    Ok(sources)
}

/// A path written in the config file: `~/` is the home directory (`HOME`), a
/// relative path is taken from the file's directory.
fn config_path(text: &str, base: &Path, home: Option<&OsStr>) -> PathBuf {
    match (text.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => base.join(text),
    }
}

/// A duration setting, or a configuration error that shows what one looks like.
fn duration(text: &str, examples: &str) -> Result<Duration> {
    parse_duration(text).ok_or_else(|| {
        Failure::new(
            Kind::Config,
            format!(
                "`{}` is not a duration such as {examples} (at most 100 years)",
                Escaped(text)
            ),
        )
        .into()
    })
}

/// `[rotation]`, with `check --strict`.
fn rotation_policy(file: &RotationFile, strict: bool) -> Result<Policy> {
    let mut policy = Policy {
        strict: strict || file.strict,
        ..Policy::default()
    };
    if let Some(text) = &file.max_age {
        policy.max_age = Some(duration(text, "`90d`").context("in `[rotation] max_age`")?);
    }
    if let Some(text) = &file.warn_before_expiry {
        policy.warn_before_expiry =
            duration(text, "`14d`").context("in `[rotation] warn_before_expiry`")?;
    }
    Ok(policy)
}

/// The names and globs to keep: the config's, then the flags'. The config file is
/// the project's: it may pass plumbing through, never the user's own credentials
/// (only `--keep` on the command line can).
fn keep_list(from_file: &[String], from_flags: &[String]) -> Result<Vec<String>> {
    if let Some(name) = from_file.iter().find(|p| is_protected(p)) {
        return fail(
            Kind::Config,
            format!(
                "`keep` in the config file names `{}`, a credential or setting of yours \
                 that only `--keep` on the command line may pass to the command",
                Escaped(name)
            ),
        );
    }
    let keep: Vec<String> = from_file.iter().chain(from_flags).cloned().collect();
    if let Some(pattern) = keep.iter().find(|p| !is_valid_pattern(p)) {
        return fail(
            Kind::Config,
            format!(
                "`--keep {}` is not a variable name or glob",
                Escaped(pattern)
            ),
        );
    }
    Ok(keep)
}

/// The names that must be present: the config's `require`, its `required = true`
/// variables and the flags', sorted, each once.
fn require_list(file: &FileConfig, from_flags: &[String]) -> Result<Vec<String>> {
    let mut require: Vec<String> = file.require.iter().chain(from_flags).cloned().collect();
    for (name, spec) in &file.vars {
        if !is_valid_name(name) {
            return fail(
                Kind::Config,
                format!("`[vars.{}]` is not a valid variable name", Escaped(name)),
            );
        }
        if spec.required {
            require.push(name.clone());
        }
    }
    if let Some(name) = require.iter().find(|n| !is_valid_name(n)) {
        return fail(
            Kind::Config,
            format!("`--require {}` is not a valid variable name", Escaped(name)),
        );
    }
    require.sort();
    require.dedup();
    Ok(require)
}

/// The most of a config file secretrun reads: far more than any config holds, and a
/// bound on what a project's file can make `list` or `check` parse.
const MAX_CONFIG: u64 = 1 << 20;

fn read_file(path: &Path) -> Result<FileConfig> {
    let shown = os(path.as_os_str());
    let bytes = crate::encrypted::read_file_at_most(path, MAX_CONFIG).map_err(|e| {
        let what = crate::encrypted::read_failure(&e);
        Failure::new(
            Kind::Config,
            format!("reading config file `{shown}`: {what}"),
        )
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        Failure::new(
            Kind::Config,
            format!("config file `{shown}` is not UTF-8 text"),
        )
    })?;
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|span| text[..span.start].matches('\n').count() + 1);
        let at = line.map(|l| format!(":{l}")).unwrap_or_default();
        // toml's own Display quotes the offending line, and serde's messages quote
        // the offending value: a secret pasted into the config must not be echoed.
        Failure::new(
            Kind::Config,
            format!(
                "config file `{shown}{at}`: {}",
                without_quoted_values(e.message())
            ),
        )
        .into()
    })
}

/// Drops `"…"` runs from a deserializer message (`invalid type: string "…"`), which
/// quote the offending value, and the backticked value of `invalid type: integer
/// `…``; keeps the other backticked names, which are keys.
fn without_quoted_values(message: &str) -> String {
    let message = without_backticked_value(message);
    let mut out = String::new();
    let mut parts = message.split('"');
    out.push_str(parts.next().unwrap_or(""));
    for (i, part) in parts.enumerate() {
        if i % 2 == 1 {
            out.push_str(part);
        } else {
            out.push('…');
        }
    }
    Escaped(out.trim_end()).to_string()
}

/// serde writes the value it did not want in backticks before `, expected`
/// (`invalid type: integer `123`, expected a string`): those go; field names that it
/// backticks elsewhere (`unknown field `x``) stay.
fn without_backticked_value(message: &str) -> String {
    let Some(rest) = ["invalid type: ", "invalid value: "]
        .iter()
        .find_map(|lead| message.strip_prefix(lead).map(|rest| (lead, rest)))
    else {
        return message.to_owned();
    };
    let (lead, rest) = rest;
    let end = rest.find(", expected").unwrap_or(rest.len());
    let (what, tail) = rest.split_at(end);
    let kind = what.split('`').next().unwrap_or("").trim_end();
    format!("{lead}{kind}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_dropped_from_messages() {
        assert_eq!(
            without_quoted_values("invalid type: string \"sk_live_CANARY\", expected a boolean"),
            "invalid type: string …, expected a boolean"
        );
        assert_eq!(
            without_quoted_values("unknown field `x`"),
            "unknown field `x`"
        );
    }
}
