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
use crate::error::{Kind, fail};
use crate::escape::Escaped;
use crate::mode::Mode;
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
