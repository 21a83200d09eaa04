//! `[profiles.NAME]`: development, staging and production from one secretrun.toml.
//! A profile is chosen by `--profile NAME`, else `SECRETRUN_PROFILE`, else the
//! profile named `default` when there is one; none chosen and none called
//! `default`, the file is read as it is written. A profile sets what the file's top
//! level sets, and wins over it: `sources`, `keep`, `pure`, `require`, `timeout`,
//! `expect`, `[rotation]`, and `[vars.NAME]` per variable (a profile's
//! `[profiles.P.vars.NAME]` replaces the file's `[vars.NAME]` whole). `extends =
//! "base"` starts from another profile, as many levels as wanted; a cycle is an
//! error naming it. Where credentials go (`[vault]`, `[aws]`) is not a profile's to
//! set: it stays under the trusted-origins rule of the file's top level.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Deserialize;

use super::{FileConfig, RotationFile};
use crate::cli::{Cli, Command};
use crate::error::{Kind, fail};
use crate::escape::Escaped;
use crate::mode::Mode;
use crate::parent::Parent;
use crate::validate::VarSpec;

/// One `[profiles.NAME]` as written: what it changes of the file's top level.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Profile {
    extends: Option<String>,
    sources: Option<Vec<String>>,
    keep: Option<Vec<String>>,
    pure: Option<bool>,
    require: Option<Vec<String>>,
    timeout: Option<String>,
    expect: Option<Mode>,
    rotation: Option<RotationFile>,
    #[serde(default)]
    vars: BTreeMap<String, VarSpec>,
}

/// What one reading of the sources is for: a profile, and a source standing in
/// for the profile's sources (a side of `diff SOURCE SOURCE`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Side {
    pub profile: Option<String>,
    pub source: Option<String>,
}

impl Side {
    fn profile(name: &str) -> Side {
        Side {
            profile: Some(name.to_owned()),
            source: None,
        }
    }

    /// How `diff` names it: the source, else the profile.
    pub fn label(&self) -> &str {
        (self.source.as_deref())
            .or(self.profile.as_deref())
            .unwrap_or("default")
    }
}

/// Chooses what this reading is for, and applies its profile to the file: `side`
/// when given (`diff`'s second), else `diff`'s first side, else `--profile`,
/// `SECRETRUN_PROFILE` or `default`. With the two sides, for `diff`.
pub(super) fn select(
    file: &mut FileConfig,
    cli: &Cli,
    parent: &Parent,
    side: Option<&Side>,
) -> Result<(Side, Option<(Side, Side)>)> {
    let flags = &cli.shared.profile;
    let diff = match &cli.subcommand {
        Some(Command::Diff { sides, .. }) => Some(diff_sides(sides, flags, &file.profiles)?),
        _ => None,
    };
    let side = match (side, &diff) {
        (Some(side), _) => side.clone(),
        (None, Some((ours, _))) => ours.clone(),
        (None, None) => Side {
            profile: flags.first().cloned(),
            source: None,
        },
    };
    let from_env = parent.var_os("SECRETRUN_PROFILE");
    let from_env = from_env.and_then(std::ffi::OsStr::to_str);
    if let Some(name) = chosen(side.profile.as_deref(), from_env, &file.profiles) {
        apply(file, name)?;
    }
    Ok((side, diff))
}

/// The two sides of `diff`: `--profile A --profile B`, or two words, each a profile
/// of the config when it has one by that name, else a source when it reads as one
/// (read under the rules of `--profile`, or the default profile), else an unknown
/// profile (78, naming the known ones).
pub(super) fn diff_sides(
    words: &[String],
    flags: &[String],
    profiles: &BTreeMap<String, Profile>,
) -> Result<(Side, Side)> {
    if let [a, b] = flags
        && words.is_empty()
    {
        return Ok((Side::profile(a), Side::profile(b)));
    }
    let rules = flags.first();
    let side = |word: &String| -> Result<Side> {
        if profiles.contains_key(word) {
            return Ok(Side::profile(word));
        }
        if !reads_as_source(word) {
            unknown(word, None, profiles)?;
        }
        Ok(Side {
            profile: rules.cloned(),
            source: Some(word.clone()),
        })
    };
    let (a, b) = match words {
        [a, b] => (side(a)?, side(b)?),
        _ => return fail(Kind::Config, "`diff` compares two profiles or sources"),
    };
    if let Some(rules) = rules
        && a.source.is_none()
        && b.source.is_none()
    {
        return fail(
            Kind::Config,
            format!(
                "`--profile {}` sets the rules a source is read under, and both sides of the diff are profiles",
                Escaped(rules)
            ),
        );
    }
    Ok((a, b))
}

/// Whether a word that is no profile's name is a source: a store reference, a path
/// (with a `/` or a `.`, or there), `dir:PATH`, `docker-secrets`, `systemd-creds`.
fn reads_as_source(word: &str) -> bool {
    word.contains("://")
        || word.contains(['/', '.'])
        || word.starts_with("dir:")
        || matches!(word, "docker-secrets" | "systemd-creds")
        || std::path::Path::new(word).exists()
}

/// The name of the profile in force, if any: `--profile`, `SECRETRUN_PROFILE`, or
/// `default` when the file has one.
pub(super) fn chosen<'a>(
    flag: Option<&'a str>,
    from_env: Option<&'a str>,
    profiles: &BTreeMap<String, Profile>,
) -> Option<&'a str> {
    match flag.or(from_env.filter(|p| !p.is_empty())) {
        Some(name) => Some(name),
        None => profiles.contains_key("default").then_some("default"),
    }
}

/// Applies the profile `name`, and those it extends (the furthest first), to the
/// file's top level.
pub(super) fn apply(file: &mut FileConfig, name: &str) -> Result<()> {
    let mut profiles = std::mem::take(&mut file.profiles);
    let mut chain: Vec<String> = Vec::new();
    let mut next = Some(name.to_owned());
    while let Some(current) = next {
        if let Some(at) = chain.iter().position(|n| *n == current) {
            let mut cycle: Vec<&str> = chain[at..].iter().map(String::as_str).collect();
            cycle.push(&current);
            return fail(
                Kind::Config,
                format!(
                    "profiles extend each other in a cycle: {}",
                    cycle.join(" → ")
                ),
            );
        }
        let Some(profile) = profiles.get(&current) else {
            return unknown(&current, chain.last(), &profiles);
        };
        next = profile.extends.clone();
        chain.push(current);
    }
    for name in chain.iter().rev() {
        let profile = profiles.remove(name).expect("in the chain, so present");
        overlay(file, profile);
    }
    Ok(())
}

/// A profile's settings over the file's.
fn overlay(file: &mut FileConfig, profile: Profile) {
    if let Some(sources) = profile.sources {
        file.sources = Some(sources);
    }
    if let Some(keep) = profile.keep {
        file.keep = keep;
    }
    if let Some(pure) = profile.pure {
        file.pure = pure;
    }
    if let Some(require) = profile.require {
        file.require = require;
    }
    if profile.timeout.is_some() {
        file.timeout = profile.timeout;
    }
    if profile.expect.is_some() {
        file.expect = profile.expect;
    }
    if let Some(rotation) = profile.rotation {
        file.rotation = rotation;
    }
    file.vars.extend(profile.vars);
}

/// A profile that is not in the file: 78, naming those that are.
fn unknown(
    name: &str,
    extended_by: Option<&String>,
    profiles: &BTreeMap<String, Profile>,
) -> Result<()> {
    let known: Vec<String> = profiles
        .keys()
        .map(|k| format!("`{}`", Escaped(k)))
        .collect();
    let known = match known.is_empty() {
        true => "the config defines no profiles".to_owned(),
        false => format!("the config defines {}", known.join(", ")),
    };
    let whose = match extended_by {
        Some(by) => format!(" (extended by `{}`)", Escaped(by)),
        None => String::new(),
    };
    fail(
        Kind::Config,
        format!("no profile `{}`{whose}: {known}", Escaped(name)),
    )
}
