//! The working tree, walked as ripgrep walks it (the `ignore` crate): `.gitignore`,
//! `.ignore` and git's exclude files respected, hidden and binary files skipped
//! unless asked, `.git` itself never entered, files read in parallel.

use std::sync::Mutex;

use anyhow::Result;
use ignore::{WalkBuilder, WalkState};
use zeroize::Zeroizing;

use super::{Finding, Options, findings_in, is_binary};
use crate::scan::matchers::Matchers;

pub fn scan_tree(
    options: &Options,
    matchers: &Matchers,
    exclude: &globset::GlobSet,
) -> Result<Vec<Finding>> {
    let mut paths = options.paths.iter();
    let first = paths.next().cloned().unwrap_or_else(|| ".".into());
    let mut builder = WalkBuilder::new(&first);
    for path in paths {
        builder.add(path);
    }
    builder
        .hidden(!options.hidden)
        .require_git(false)
        .filter_entry(|entry| entry.file_name() != ".git");
    let found = Mutex::new(Vec::new());
    builder.build_parallel().run(|| {
        Box::new(|entry| {
            let Ok(entry) = entry else {
                return WalkState::Continue;
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                return WalkState::Continue;
            }
            let path = entry.path();
            let shown = path.strip_prefix("./").unwrap_or(path);
            if exclude.is_match(shown) {
                return WalkState::Continue;
            }
            let Ok(bytes) = std::fs::read(path).map(Zeroizing::new) else {
                return WalkState::Continue;
            };
            if !options.binary && is_binary(&bytes) {
                return WalkState::Continue;
            }
            let shown = shown.to_string_lossy();
            let here = findings_in(&shown, &bytes, matchers, None, 1);
            if !here.is_empty() {
                found.lock().expect("no panic holds the lock").extend(here);
            }
            WalkState::Continue
        })
    });
    Ok(found.into_inner().expect("no panic held the lock"))
}
