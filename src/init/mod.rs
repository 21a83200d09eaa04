//! `secretrun init`: a starting `secretrun.toml` from what the project has. Each
//! variable of the dotenv files here (`.env`, `.env.local`, `.env.production`, …)
//! with the format its values show, `required` when the code reads it (a whole-word
//! search of the source files, walked as `scan` walks them), and a profile for each
//! environment's file with the live/test expectation its keys show. Then what a
//! careful team does on day one: the dotenv files added to `.gitignore` where they
//! are not ignored, a `.env.example` with the names and no value, and the pre-commit
//! line for `scan --staged`. It never replaces a file without `--force` and never
//! prints or writes a value: only names, formats and file names.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use zeroize::Zeroizing;

use crate::config::DEFAULT_CONFIG;
use crate::error::{Failure, Kind, fail};
use crate::escape::os;
use crate::mode::Mode;
use crate::source::dotenv;

mod infer;
mod render;
mod usage;

/// What `init` is asked.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Replace `secretrun.toml` and `.env.example` when they exist.
    pub force: bool,
    /// Show what would be written, and write nothing.
    pub dry_run: bool,
}

/// Suffixes of dotenv-named files that hold no values to read: examples, and
/// encrypted or backup copies.
const NOT_VALUES: &[&str] = &[
    "example", "sample", "template", "dist", "defaults", "age", "keys", "bak", "orig", "swp",
];

/// The most dotenv text `init` reads, all files together.
const MAX_TEXT: u64 = 4 << 20;

/// One dotenv file found here: its name, and the profile its suffix names.
struct Found {
    name: String,
    profile: Option<&'static str>,
    entries: Vec<dotenv::Entry>,
}

/// What `init` learnt of one variable.
#[derive(Debug, Default)]
struct Learnt {
    format: Option<&'static str>,
    required: bool,
    /// Every value of it is a store reference.
    fetched: bool,
}

/// Runs `init` in the current directory.
pub fn run(options: Options, out: &mut impl Write) -> Result<u8> {
    let dir = Path::new(".");
    if there(&dir.join(DEFAULT_CONFIG)) && !options.force && !options.dry_run {
        return fail(
            Kind::Config,
            format!(
                "{DEFAULT_CONFIG} exists here; `secretrun init --force` replaces it (nothing \
                 was written)"
            ),
        );
    }
    let found = dotenv_files(dir)?;
    let unignored = not_ignored(dir, &found);
    if !unignored.is_empty() && there(&dir.join(".gitignore")) && !regular(&dir.join(".gitignore"))
    {
        return fail(
            Kind::Config,
            ".gitignore is not a regular file (a link?): init writes nothing through it, and \
             nothing was written",
        );
    }
    let mut order: Vec<String> = Vec::new();
    let mut learnt: BTreeMap<String, Learnt> = BTreeMap::new();
    learn(&found, &mut order, &mut learnt);
    let names: BTreeSet<String> = order.iter().cloned().collect();
    let usage = usage::find(dir, &names);
    for name in &usage.used {
        if let Some(l) = learnt.get_mut(name) {
            l.required = true;
        }
    }
    let config = render::config(&found, &order, &learnt);
    let example = render::example(&order, &learnt);
    writeln!(out, "{config}")?;
    let mut done = Vec::new();
    let files = [
        (
            DEFAULT_CONFIG,
            &config,
            format!("{} variables", order.len()),
        ),
        (
            ".env.example",
            &example,
            format!("{} names, no value", order.len()),
        ),
    ];
    for (path, text, what) in files {
        let exists = there(&dir.join(path));
        let line = match (exists && !options.force, options.dry_run) {
            (true, true) => format!("would keep {path} (it exists; --force replaces it)"),
            (true, false) => format!("kept {path} (it exists; --force replaces it)"),
            (false, true) => format!("would write {path} ({what})"),
            (false, false) => {
                write_file(&dir.join(path), text, options.force)?;
                format!("wrote {path} ({what})")
            }
        };
        done.push(line);
    }
    if !unignored.is_empty() {
        let list = unignored.join(", ");
        match options.dry_run {
            true => done.push(format!("would add {list} to .gitignore")),
            false => {
                add_to_gitignore(dir, &unignored)?;
                done.push(format!("added {list} to .gitignore"));
            }
        }
    }
    report(out, &done, &usage)?;
    Ok(0)
}

/// `.env` and `.env.SUFFIX` here, `.env` first, parsed; examples and encrypted
/// copies left out. A malformed file is an error naming its line, never its text.
fn dotenv_files(dir: &Path) -> Result<Vec<Found>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .context("reading the current directory")?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_dotenv_name(n))
        .collect();
    names.sort_by_key(|n| (n != ".env", n.clone()));
    let mut left = MAX_TEXT;
    let mut found = Vec::new();
    for name in names {
        let bytes = read_bounded(&dir.join(&name), &mut left)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            Failure::new(
                Kind::Invalid,
                format!("malformed dotenv file `{}`: not UTF-8", os(name.as_ref())),
            )
        })?;
        // Values only shape formats here: a `${NAME}` stands for any text.
        let entries = dotenv::parse(text, &|_| Some(("x", false))).map_err(|e| {
            Failure::new(
                e.kind,
                format!("malformed dotenv file `{}`: {e}", os(name.as_ref())),
            )
        })?;
        let profile = profile_of(&name);
        found.push(Found {
            name,
            profile,
            entries,
        });
    }
    Ok(found)
}

fn is_dotenv_name(name: &str) -> bool {
    let Some(suffix) = name.strip_prefix(".env") else {
        return false;
    };
    if suffix.is_empty() {
        return true;
    }
    let Some(suffix) = suffix.strip_prefix('.') else {
        return false;
    };
    let last = suffix.rsplit('.').next().unwrap_or("");
    !suffix.is_empty()
        && suffix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !NOT_VALUES.contains(&last)
}

/// The profile an environment's file names: `.env.production` → `prod`.
fn profile_of(name: &str) -> Option<&'static str> {
    match name.strip_prefix(".env.")? {
        "production" | "prod" => Some("prod"),
        "staging" | "stage" => Some("staging"),
        "development" | "dev" => Some("dev"),
        "test" | "testing" => Some("test"),
        _ => None,
    }
}

/// Reads a dotenv file found here (a regular file only, so that a FIFO cannot hold
/// init up), into memory that is zeroed when dropped, spending the budget all files
/// share.
fn read_bounded(path: &Path, left: &mut u64) -> Result<Zeroizing<Vec<u8>>> {
    let bytes = crate::encrypted::read_regular_file_at_most(path, *left).map_err(|e| {
        let what = match e.kind() {
            std::io::ErrorKind::InvalidData => format!(
                "the dotenv files here hold more than {} MiB; init stops there",
                MAX_TEXT >> 20
            ),
            _ => format!(
                "reading `{}`: {}",
                os(path.as_os_str()),
                crate::encrypted::read_failure(&e)
            ),
        };
        Failure::new(Kind::Invalid, what)
    })?;
    *left -= bytes.len() as u64;
    Ok(bytes)
}

/// Each name in the order first seen, and its format across every file's values.
fn learn(found: &[Found], order: &mut Vec<String>, learnt: &mut BTreeMap<String, Learnt>) {
    let mut values: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut fetched: BTreeMap<&str, bool> = BTreeMap::new();
    for file in found {
        for entry in &file.entries {
            if !learnt.contains_key(&entry.name) {
                order.push(entry.name.clone());
                learnt.insert(entry.name.clone(), Learnt::default());
            }
            let is_ref = entry.is_fetched() || entry.value.expose().starts_with("encrypted:");
            let all_refs = fetched.entry(&entry.name).or_insert(true);
            *all_refs &= is_ref;
            if !is_ref {
                values
                    .entry(&entry.name)
                    .or_default()
                    .push(entry.value.expose());
            }
        }
    }
    for (name, l) in learnt.iter_mut() {
        l.fetched = fetched.get(name.as_str()).copied().unwrap_or(false);
        l.format = values
            .get(name.as_str())
            .and_then(|v| infer::format_of_all(name, v));
    }
}

/// The live/test expectation one environment's file shows: every provider key in
/// it of one mode.
fn expectation(file: &Found) -> Option<Mode> {
    let mut modes = file
        .entries
        .iter()
        .filter_map(|e| crate::detectors::detect(e.value.expose())?.mode);
    let first = modes.next()?;
    modes.all(|m| m == first).then_some(first)
}

/// The dotenv files here that no ignore file covers (a walk of this directory
/// yields exactly what is not ignored).
fn not_ignored(dir: &Path, found: &[Found]) -> Vec<String> {
    let walk = ignore::WalkBuilder::new(dir)
        .max_depth(Some(1))
        .hidden(false)
        .require_git(false)
        .build();
    let seen: BTreeSet<PathBuf> = walk
        .flatten()
        .filter_map(|e| e.path().file_name().map(PathBuf::from))
        .collect();
    found
        .iter()
        .map(|f| f.name.clone())
        .filter(|name| seen.contains(Path::new(name)))
        .collect()
}

/// Adds the names to `.gitignore`: its text and theirs, written as a new file over
/// the old (never through a link the repository planted).
fn add_to_gitignore(dir: &Path, names: &[String]) -> Result<()> {
    let path = dir.join(".gitignore");
    // Not a link: run() refused one before anything was written.
    let mut text = match there(&path) {
        true => {
            let bytes = crate::encrypted::read_regular_file_at_most(&path, MAX_TEXT)
                .context("reading .gitignore")?;
            String::from_utf8(bytes.to_vec()).context(".gitignore is not UTF-8 text")?
        }
        false => String::new(),
    };
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("# Secrets: never committed (secretrun init)\n");
    for name in names {
        text.push_str(&format!("/{name}\n"));
    }
    write_file(&path, &text, true)
}

/// Whether anything is at `path`, a link (even to nothing) included.
fn there(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Whether `path` is a regular file itself, not a link to one.
fn regular(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
}

/// Writes a file: a new one (never over anything there, a link included), or, when
/// `replace`, a new one renamed over the old, so that a link planted in its place is
/// replaced, not written through.
fn write_file(path: &Path, text: &str, replace: bool) -> Result<()> {
    let shown = || format!("writing `{}`", os(path.as_os_str()));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let new = match replace {
        true => path.with_file_name(format!(".{name}.secretrun-init-{}", std::process::id())),
        false => path.to_path_buf(),
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&new)
        .with_context(shown)?;
    file.write_all(text.as_bytes()).with_context(shown)?;
    if replace {
        std::fs::rename(&new, path).with_context(shown)?;
    }
    Ok(())
}

fn report(out: &mut impl Write, done: &[String], usage: &usage::Usage) -> Result<()> {
    for line in done {
        writeln!(out, "{line}")?;
    }
    let cut = if usage.cut {
        " (stopped at the bound: more code was not read)"
    } else {
        ""
    };
    writeln!(
        out,
        "searched {} source files for the names: `required` marks those the code reads{cut}",
        usage.files
    )?;
    writeln!(
        out,
        "\nnext: `secretrun check` validates against it. To refuse a secret before each \
         commit, add this line to .git/hooks/pre-commit (a `#!/bin/sh` script, made \
         executable):\n    secretrun scan --staged"
    )?;
    Ok(())
}
