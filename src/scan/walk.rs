//! The working tree, walked as ripgrep walks it (the `ignore` crate): `.gitignore`,
//! `.ignore` and git's exclude files respected, hidden and binary files skipped
//! unless asked, `.git` itself never entered, files read in parallel.

use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Result;
use ignore::{WalkBuilder, WalkState};

use super::{BINARY_PROBE, Finding, Options, findings_in, is_binary};
use crate::encrypted::read_failure;
use crate::error::{Kind, fail};
use crate::escape::{Escaped, os};
use crate::scan::matchers::Matchers;
use crate::secret::{Wiped, read_to_end_zeroizing};

/// Scans the working tree. A path that does not exist, and a file or directory that
/// could not be read, are errors: a scan that did not look must not pass.
pub fn scan_tree(
    options: &Options,
    matchers: &Matchers,
    exclude: &globset::GlobSet,
    progress: &super::progress::Progress,
) -> Result<Vec<Finding>> {
    let dot = [PathBuf::from(".")];
    let paths = if options.paths.is_empty() {
        &dot[..]
    } else {
        &options.paths[..]
    };
    for path in paths {
        if let Err(e) = std::fs::symlink_metadata(path) {
            return fail(
                Kind::Config,
                format!("scanning `{}`: {}", os(path.as_os_str()), read_failure(&e)),
            );
        }
    }
    let mut builder = WalkBuilder::new(&paths[0]);
    for path in &paths[1..] {
        builder.add(path);
    }
    builder
        .hidden(!options.hidden)
        .require_git(false)
        .filter_entry(|entry| entry.file_name() != ".git");
    let found = Mutex::new(Vec::new());
    let unread = Mutex::new(Vec::new());
    builder.build_parallel().run(|| {
        Box::new(|entry| {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    lock(&unread).push(e.to_string());
                    return WalkState::Continue;
                }
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                return WalkState::Continue;
            }
            let path = entry.path();
            let shown = path.strip_prefix("./").unwrap_or(path);
            if exclude.is_match(shown) {
                return WalkState::Continue;
            }
            let bytes = match read_text(path, options.binary) {
                Ok(Some(bytes)) => bytes,
                Ok(None) => return WalkState::Continue,
                Err(e) => {
                    let e = format!("`{}`: {}", os(path.as_os_str()), read_failure(&e));
                    lock(&unread).push(e);
                    return WalkState::Continue;
                }
            };
            progress.file(bytes.len());
            let here = findings_in(shown.as_os_str().as_bytes(), &bytes, matchers, None, 1);
            if !here.is_empty() {
                lock(&found).extend(here);
            }
            WalkState::Continue
        })
    });
    let unread = unread.into_inner().expect("no panic held the lock");
    if let Some(first) = unread.first() {
        return fail(
            Kind::Config,
            format!(
                "{} path{} could not be read, so the scan is incomplete: {}",
                unread.len(),
                if unread.len() == 1 { "" } else { "s" },
                Escaped(first)
            ),
        );
    }
    Ok(found.into_inner().expect("no panic held the lock"))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().expect("no panic holds the lock")
}

/// A file's bytes, in memory that is wiped when dropped; `None` for a binary file
/// when binary files are skipped, decided from its first 8 KiB before the rest is read.
fn read_text(path: &Path, binary: bool) -> std::io::Result<Option<Wiped>> {
    let mut file = std::fs::File::open(path)?;
    let mut probe = Wiped(Vec::with_capacity(BINARY_PROBE));
    (&mut file)
        .take(BINARY_PROBE as u64)
        .read_to_end(&mut probe.0)?;
    if !binary && is_binary(&probe) {
        return Ok(None);
    }
    if probe.len() < BINARY_PROBE {
        return Ok(Some(probe));
    }
    // A text file: the room for all of it, the probe copied in (and wiped as it is
    // dropped), the rest read straight into it; on past it (the file grew since)
    // through reads that wipe what they outgrow.
    let size = file.metadata().map_or(0, |m| m.len() as usize);
    let mut bytes = Wiped(Vec::with_capacity(size.max(BINARY_PROBE) + 1));
    bytes.0.extend_from_slice(&probe);
    drop(probe);
    let room = bytes.0.capacity() - bytes.0.len();
    (&mut file).take(room as u64).read_to_end(&mut bytes.0)?;
    if bytes.0.len() == bytes.0.capacity() {
        read_to_end_zeroizing(&mut file, &mut bytes.0)?;
    }
    Ok(Some(bytes))
}
