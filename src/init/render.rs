//! The text `init` writes: the config, and the `.env.example` of names without
//! values. Only names, formats and file names go in (names are POSIX names, file
//! names quoted as TOML strings), never a value.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{Found, Learnt, expectation};

/// `secretrun.toml`: the sources, a `[vars.NAME]` per variable, the profiles.
pub(super) fn config(
    found: &[Found],
    order: &[String],
    learnt: &BTreeMap<String, Learnt>,
) -> String {
    let base: Vec<&Found> = found.iter().filter(|f| f.profile.is_none()).collect();
    let from = found
        .iter()
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut text = String::new();
    match from.is_empty() {
        true => text.push_str("# Written by `secretrun init`: no dotenv file was here yet.\n"),
        false => {
            let _ = writeln!(text, "# Written by `secretrun init` from {from}.");
        }
    }
    text.push_str(
        "# `secretrun check` validates against it; edit freely (docs/guide.md, \"The schema\").\n",
    );
    let sources: Vec<String> = base.iter().map(|f| source(f)).collect();
    let _ = writeln!(text, "sources = [{}]", sources.join(", "));
    for name in order {
        let l = &learnt[name];
        let _ = writeln!(text, "\n[vars.{name}]");
        if l.required {
            text.push_str("required = true\n");
        }
        match (l.format, l.fetched) {
            (Some(format), _) => {
                let _ = writeln!(text, "format = \"{format}\"");
            }
            (None, true) => text.push_str("# read from a store: its shape is known at launch\n"),
            (None, false) => {}
        }
    }
    profiles(&mut text, found, &sources);
    let end = text.trim_end().len();
    text.truncate(end);
    text.push('\n');
    text
}

/// A dotenv file as a source: `.env.local` may be absent on another machine.
fn source(file: &Found) -> String {
    let text = match file.name.as_str() {
        ".env" => ".env".to_owned(),
        name if name.ends_with(".local") => format!("optional:{name}"),
        name => name.to_owned(),
    };
    toml::Value::String(text).to_string()
}

/// A profile for each environment's file, its expectation where its keys show one;
/// else the profiles a project usually has, commented out.
fn profiles(text: &mut String, found: &[Found], base: &[String]) {
    let envs: Vec<&Found> = found.iter().filter(|f| f.profile.is_some()).collect();
    if envs.is_empty() {
        text.push_str(
            "\n# Profiles: `--profile prod` or SECRETRUN_PROFILE=prod.\n\
             # [profiles.dev]\n# expect = \"test\"\n#\n\
             # [profiles.prod]\n# expect = \"live\"\n\
             # sources = [\"vault://secret/app\"]\n",
        );
        return;
    }
    text.push_str("\n# Profiles: `--profile NAME` or SECRETRUN_PROFILE=NAME.\n");
    for file in envs {
        let name = file.profile.unwrap_or_default();
        let mut sources = base.to_vec();
        sources.push(toml::Value::String(file.name.clone()).to_string());
        let _ = writeln!(
            text,
            "[profiles.{name}]\nsources = [{}]",
            sources.join(", ")
        );
        match expectation(file) {
            Some(mode) => {
                let _ = writeln!(
                    text,
                    "expect = \"{mode}\"  # the keys in {} are {mode}",
                    file.name
                );
            }
            None => text.push_str("# expect = \"live\"  # or \"test\": the keys it must hold\n"),
        }
        text.push('\n');
    }
}

/// `.env.example`: each name, what it holds, and no value.
pub(super) fn example(order: &[String], learnt: &BTreeMap<String, Learnt>) -> String {
    let mut text = String::from(
        "# The variables this project needs, without their values (secretrun init).\n\
         # Copy to .env and fill in; `secretrun check` says what is missing or wrong.\n",
    );
    for name in order {
        let l = &learnt[name];
        let mut notes = Vec::new();
        if let Some(format) = l.format {
            notes.push(format);
        }
        if l.required {
            notes.push("required");
        }
        if !notes.is_empty() {
            let _ = writeln!(text, "# {}", notes.join(", "));
        }
        let _ = writeln!(text, "{name}=");
    }
    text
}
