//! What git holds: the index (`--staged`, what `git commit` would record) and every
//! commit reachable from HEAD (`--history`, the lines each commit added). git is
//! asked for names and contents; nothing secret is ever in its argv.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::Result;
use zeroize::Zeroizing;

use super::{Finding, Options, findings_in, is_binary};
use crate::error::{Failure, Kind};
use crate::escape::os;
use crate::scan::matchers::Matchers;

/// Runs git in `dir` and returns its standard output (zeroed when dropped: it holds
/// file contents).
fn git(dir: &Path, args: &[&str]) -> Result<Zeroizing<Vec<u8>>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "core.quotePath=false"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Failure::new(Kind::Config, format!("running git: {e}")))?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        let first = said.lines().next().unwrap_or("").trim();
        return Err(Failure::new(
            Kind::Config,
            format!(
                "git {} in `{}` failed: {}",
                args.first().unwrap_or(&""),
                os(dir.as_os_str()),
                crate::escape::Escaped(first)
            ),
        )
        .into());
    }
    Ok(Zeroizing::new(output.stdout))
}

fn repository(options: &Options) -> &Path {
    options
        .paths
        .first()
        .map_or(Path::new("."), |p| p.as_path())
}

/// The staged version of every added, copied, modified or renamed file.
pub fn scan_staged(
    options: &Options,
    matchers: &Matchers,
    exclude: &globset::GlobSet,
) -> Result<Vec<Finding>> {
    let dir = repository(options);
    let names = git(
        dir,
        &[
            "diff",
            "--cached",
            "--name-only",
            "-z",
            "--diff-filter=ACMR",
        ],
    )?;
    let mut found = Vec::new();
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = String::from_utf8_lossy(name);
        if exclude.is_match(name.as_ref()) {
            continue;
        }
        let blob = git(dir, &["show", &format!(":{name}")])?;
        if !options.binary && is_binary(&blob) {
            continue;
        }
        found.extend(findings_in(&name, &blob, matchers, None, 1));
    }
    Ok(found)
}

/// The lines every commit reachable from HEAD added, each finding with its commit.
pub fn scan_history(
    options: &Options,
    matchers: &Matchers,
    exclude: &globset::GlobSet,
) -> Result<Vec<Finding>> {
    let log = git(
        repository(options),
        &[
            "log",
            "-p",
            "-U0",
            "--no-color",
            "--no-ext-diff",
            "--no-renames",
            "--format=commit %H",
            "HEAD",
        ],
    )?;
    let mut found = Vec::new();
    let mut state = Diff::default();
    for raw in log.split(|&b| b == b'\n') {
        state.read(raw, |path, line, text, commit| {
            if !exclude.is_match(path) {
                found.extend(findings_in(path, text, matchers, Some(commit), line));
            }
        });
    }
    Ok(found)
}

/// Where `git log -p` output is: the commit, the file, the next added line's number.
#[derive(Default)]
struct Diff {
    commit: String,
    path: Option<String>,
    /// Between `diff --git` and the first hunk: `+++ ` names the file there, and is
    /// an added line's text after.
    in_header: bool,
    line: usize,
}

impl Diff {
    /// Reads one line of the log; an added line goes to `added` with its place.
    fn read(&mut self, raw: &[u8], mut added: impl FnMut(&str, usize, &[u8], &str)) {
        if let Some(commit) = raw.strip_prefix(b"commit ") {
            self.commit = String::from_utf8_lossy(commit).into_owned();
            self.path = None;
        } else if raw.starts_with(b"diff --git ") {
            self.path = None;
            self.in_header = true;
        } else if self.in_header {
            if let Some(path) = raw.strip_prefix(b"+++ ") {
                let path = String::from_utf8_lossy(path);
                self.path = path.strip_prefix("b/").map(str::to_owned);
            } else if let Some(hunk) = raw.strip_prefix(b"@@ ") {
                self.line = hunk_start(hunk).unwrap_or(1);
                self.in_header = false;
            }
        } else if let Some(hunk) = raw.strip_prefix(b"@@ ") {
            self.line = hunk_start(hunk).unwrap_or(1);
        } else if let Some(text) = raw.strip_prefix(b"+")
            && let Some(path) = &self.path
        {
            let commit = self.commit.get(..12).unwrap_or(&self.commit);
            added(path, self.line, text, commit);
            self.line += 1;
        }
    }
}

/// The first new line of a hunk header (`-a,b +c,d @@`).
fn hunk_start(hunk: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(hunk).ok()?;
    let new = text.split(' ').find_map(|part| part.strip_prefix('+'))?;
    new.split(',').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_lines_with_their_places() {
        let log = "commit 0123456789abcdef0123\n\ndiff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -3,0 +4,2 @@ def f():\n+one\n+++ two\n@@ -10 +12 @@\n-old\n+new\ndiff --git a/gone b/gone\n--- a/gone\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n";
        let mut state = Diff::default();
        let mut seen = Vec::new();
        for raw in log.as_bytes().split(|&b| b == b'\n') {
            state.read(raw, |path, line, text, commit| {
                seen.push(format!(
                    "{commit} {path}:{line} {}",
                    String::from_utf8_lossy(text)
                ));
            });
        }
        assert_eq!(
            seen,
            [
                "0123456789ab x.py:4 one",
                "0123456789ab x.py:5 ++ two",
                "0123456789ab x.py:12 new"
            ]
        );
    }
}
