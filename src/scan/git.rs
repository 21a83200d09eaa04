//! What git holds: the index (`--staged`, what `git commit` would record) and every
//! commit reachable from HEAD (`--history`, the lines each commit added). git is
//! asked for names and contents; nothing secret is ever in its argv.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::Result;
use zeroize::Zeroizing;

use crate::secret::Wiped;

use super::{Finding, Options, findings_in, is_binary};
use crate::error::{Failure, Kind};
use crate::escape::os;
use crate::scan::matchers::Matchers;

/// git in `dir`, with the settings that shape its output fixed whatever the user's
/// configuration says: names quoted only where they must be, the `a/` and `b/`
/// prefixes, no colour, no external diff.
fn command(dir: &Path, args: &[&OsStr]) -> Command {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(dir)
        .args(["-c", "core.quotePath=false", "-c", "diff.noprefix=false"])
        .args(["-c", "diff.mnemonicPrefix=false", "-c", "color.ui=false"])
        .args(args)
        .stdin(Stdio::null());
    command
}

fn failed(dir: &Path, args: &[&OsStr], stderr: &[u8]) -> anyhow::Error {
    let said = String::from_utf8_lossy(stderr);
    let first = said.lines().next().unwrap_or("").trim();
    Failure::new(
        Kind::Config,
        format!(
            "git {} in `{}` failed: {}",
            args.first().map_or(String::new(), |a| os(a)),
            os(dir.as_os_str()),
            crate::escape::Escaped(first)
        ),
    )
    .into()
}

/// Runs git in `dir` and returns its standard output (zeroed when dropped: it holds
/// file contents).
fn git(dir: &Path, args: &[&OsStr]) -> Result<Zeroizing<Vec<u8>>> {
    let output = command(dir, args)
        .output()
        .map_err(|e| Failure::new(Kind::Config, format!("running git: {e}")))?;
    if !output.status.success() {
        return Err(failed(dir, args, &output.stderr));
    }
    Ok(Zeroizing::new(output.stdout))
}

/// Runs git in `dir` and hands each line of its output to `line` as it arrives, so
/// that a long history costs the memory of its longest line, not of the whole log.
fn git_lines(dir: &Path, args: &[&OsStr], mut line: impl FnMut(&[u8])) -> Result<()> {
    let mut child = command(dir, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Failure::new(Kind::Config, format!("running git: {e}")))?;
    let mut stderr = child.stderr.take().expect("piped");
    let said = std::thread::spawn(move || {
        let mut said = Vec::new();
        let _ = (&mut stderr).take(64 * 1024).read_to_end(&mut said);
        let _ = std::io::copy(&mut stderr, &mut std::io::sink());
        said
    });
    let mut out = std::io::BufReader::new(child.stdout.take().expect("piped"));
    let mut buf = Wiped::default();
    loop {
        crate::secret::wipe(&mut buf.0);
        buf.0.clear();
        match out.read_until(b'\n', &mut buf.0) {
            Ok(0) => break,
            Ok(_) => line(buf.strip_suffix(b"\n").unwrap_or(&buf)),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(
                    Failure::new(Kind::Config, format!("reading git's output: {e}")).into(),
                );
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| Failure::new(Kind::Config, format!("waiting for git: {e}")))?;
    let said = said.join().unwrap_or_default();
    if !status.success() {
        return Err(failed(dir, args, &said));
    }
    Ok(())
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
    progress: &super::progress::Progress,
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
        ]
        .map(OsStr::new),
    )?;
    let mut found = Vec::new();
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        if exclude.is_match(Path::new(OsStr::from_bytes(name))) {
            continue;
        }
        let mut spec = OsString::from(":");
        spec.push(OsStr::from_bytes(name));
        let blob = git(dir, &[OsStr::new("show"), &spec])?;
        if !options.binary && is_binary(&blob) {
            continue;
        }
        progress.file(blob.len());
        found.extend(findings_in(name, &blob, matchers, None, 1));
    }
    Ok(found)
}

/// The lines every commit reachable from HEAD added, each finding with its commit.
pub fn scan_history(
    options: &Options,
    matchers: &Matchers,
    exclude: &globset::GlobSet,
    progress: &super::progress::Progress,
) -> Result<Vec<Finding>> {
    let args = [
        "log",
        "-p",
        "-U0",
        "--no-color",
        "--no-ext-diff",
        "--no-renames",
        "--no-textconv",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        "--format=commit %H",
        "HEAD",
    ]
    .map(OsStr::new);
    let mut found = Vec::new();
    let mut state = Diff::default();
    git_lines(repository(options), &args, |raw| {
        progress.bytes(raw.len());
        if raw.starts_with(b"commit ") {
            progress.commit();
        }
        state.read(raw, |path, line, text, commit| {
            if !exclude.is_match(Path::new(OsStr::from_bytes(path))) {
                found.extend(findings_in(path, text, matchers, Some(commit), line));
            }
        });
    })?;
    Ok(found)
}

/// Where `git log -p` output is: the commit, the file, the next added line's number.
#[derive(Default)]
struct Diff {
    commit: String,
    path: Option<Vec<u8>>,
    /// Between `diff --git` and the first hunk: `+++ ` names the file there, and is
    /// an added line's text after.
    in_header: bool,
    line: usize,
}

impl Diff {
    /// Reads one line of the log; an added line goes to `added` with its place.
    fn read(&mut self, raw: &[u8], mut added: impl FnMut(&[u8], usize, &[u8], &str)) {
        if let Some(commit) = raw.strip_prefix(b"commit ") {
            self.commit = String::from_utf8_lossy(commit).into_owned();
            self.path = None;
        } else if raw.starts_with(b"diff --git ") {
            self.path = None;
            self.in_header = true;
        } else if self.in_header {
            if let Some(path) = raw.strip_prefix(b"+++ ") {
                self.path = diff_path(path).and_then(|p| p.strip_prefix(b"b/").map(<[u8]>::to_vec));
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

/// The name on a `+++ ` line as git writes it: in double quotes with C escapes when
/// it holds a `"`, a `\\` or a control character; else as it is, with a tab after it
/// when it holds a space (git's hint for patch tools, not part of the name).
fn diff_path(text: &[u8]) -> Option<Vec<u8>> {
    let Some(quoted) = text.strip_prefix(b"\"") else {
        let text = match text.strip_suffix(b"\t") {
            Some(name) if name.contains(&b' ') => name,
            _ => text,
        };
        return Some(text.to_vec());
    };
    let mut out = Vec::with_capacity(quoted.len());
    let mut bytes = quoted.iter().copied();
    while let Some(b) = bytes.next() {
        match b {
            b'"' => return Some(out),
            b'\\' => {
                let escaped = bytes.next()?;
                out.push(match escaped {
                    b'a' => 0x07,
                    b'b' => 0x08,
                    b't' => b'\t',
                    b'n' => b'\n',
                    b'v' => 0x0b,
                    b'f' => 0x0c,
                    b'r' => b'\r',
                    b'0'..=b'3' => {
                        let (hi, lo) = (bytes.next()?, bytes.next()?);
                        let digit = |d: u8| (b'0'..=b'7').contains(&d).then(|| d - b'0');
                        ((escaped - b'0') << 6) | (digit(hi)? << 3) | digit(lo)?
                    }
                    other => other,
                });
            }
            b => out.push(b),
        }
    }
    None
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
                    "{commit} {}:{line} {}",
                    String::from_utf8_lossy(path),
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

    #[test]
    fn names_as_git_quotes_them() {
        assert_eq!(diff_path(b"b/plain.env").unwrap(), b"b/plain.env");
        assert_eq!(
            diff_path(b"b/with space.env\t").unwrap(),
            b"b/with space.env"
        );
        assert_eq!(
            diff_path(b"\"b/q\\\"b\\\\s\\tt\\nn\\001\\377.env\"").unwrap(),
            b"b/q\"b\\s\tt\nn\x01\xff.env"
        );
        assert_eq!(diff_path(b"\"b/cut"), None);
        assert_eq!(diff_path(b"\"b/bad\\9\""), Some(b"b/bad9".to_vec()));
    }

    #[test]
    fn any_log_line_and_name_is_read_without_a_panic() {
        let alphabet = [
            "\"",
            "\\",
            "b/",
            "0",
            "7",
            "3",
            "n",
            "t",
            "\t",
            " ",
            "+++ ",
            "@@ ",
            "+",
            "-",
            "diff --git ",
            "commit ",
            ",",
        ];
        let samples = [
            "+++ \"b/a\\tb\\303\\251\"",
            "+++ b/x y\t",
            "@@ -3,0 +4,2 @@",
            "diff --git a/x b/x",
        ];
        crate::props::run("git log", &alphabet, &samples, |line| {
            let _ = diff_path(line);
            let mut state = Diff::default();
            for piece in line.split(|&b| b == b'\n').chain([&b"+x"[..]]) {
                state.read(piece, |_, _, _, _| {});
            }
        });
    }
}
