//! `secretrun scan`: the places in a repository where a configured secret's value
//! appears (as it is, base64, URL-encoded or JSON-escaped) and where a provider key
//! of a known shape does. Pattern scanners know only shapes; secretrun also knows
//! the real values, from every configured source.
//!
//! Three ways to look: the working tree (walked as ripgrep does: `.gitignore`,
//! `.ignore`, hidden and binary files skipped unless asked, in parallel), what
//! `git commit` would record (`--staged`), and every commit reachable from HEAD
//! (`--history`). Git is asked for paths and contents only: no value ever goes to
//! another program's argv. No output holds a plain value.

mod git;
pub mod matchers;
mod progress;
mod report;
mod walk;

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::error::{Kind, fail};
use crate::escape::Escaped;
use crate::output::FindingsFormat;
use crate::secret::SecretSet;
use matchers::{Hit, Matchers, Rule, rank};

/// Where to look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Tree,
    Staged,
    History,
}

/// What `scan` was asked, with `[scan]` of the config.
#[derive(Debug)]
pub struct Options {
    pub paths: Vec<PathBuf>,
    pub mode: Mode,
    pub format: FindingsFormat,
    /// Show progress on standard error (a terminal, and the text report).
    pub progress: bool,
    pub hidden: bool,
    pub binary: bool,
    /// Path globs never reported (`[scan] exclude`).
    pub exclude: Vec<String>,
    /// Fingerprints of known false positives (`[scan] allow`).
    pub allow: Vec<String>,
}

/// One place where a secret was found.
#[derive(Debug)]
pub struct Finding {
    /// The path's bytes, as walked or as git names it (unquoted): each report shows
    /// it in its own way ([`Finding::shown_path`], JSON's string, SARIF's URI).
    pub path: Vec<u8>,
    pub line: usize,
    /// 1-based, in bytes.
    pub column: usize,
    pub rule: Rule,
    pub masked: String,
    /// The commit that added it (`--history`).
    pub commit: Option<String>,
    rank: u8,
}

impl Finding {
    /// What was found, for people: `STRIPE_SECRET_KEY`, `DB_PASSWORD (base64)`,
    /// `Stripe secret key (live)`.
    pub fn label(&self) -> String {
        match &self.rule {
            Rule::Value { name, encoding } => match encoding.name() {
                Some(how) => format!("{name} ({how})"),
                None => name.clone(),
            },
            Rule::Key(d) => match d.mode {
                Some(mode) => format!("{} {} ({mode})", d.provider, d.kind),
                None => format!("{} {}", d.provider, d.kind),
            },
        }
    }

    /// What the rule finds, whatever the encoding: for SARIF's rule list.
    pub fn description(&self) -> String {
        match &self.rule {
            Rule::Value { name, .. } => format!("The value of the configured secret {name}"),
            Rule::Key(d) => format!("A {} {}", d.provider, d.kind),
        }
    }

    /// The rule, for machines: `value:NAME` or `key:stripe-secret-key`.
    pub fn rule_id(&self) -> String {
        match &self.rule {
            Rule::Value { name, .. } => format!("value:{name}"),
            Rule::Key(d) => format!("key:{}-{}", d.provider, d.kind)
                .to_ascii_lowercase()
                .replace(' ', "-"),
        }
    }

    /// The path for a person's terminal: control characters, `\\` and bytes that are
    /// not UTF-8 escaped (`\\n`, `\\\\`, `\\xff`), so that two files never show alike.
    pub fn shown_path(&self) -> String {
        crate::escape::path_bytes(&self.path)
    }

    /// Names the finding without revealing the value, as gitleaks does:
    /// `[COMMIT:]PATH:LINE:RULE`, the path as [`Finding::shown_path`] shows it.
    /// `[scan] allow` takes it.
    pub fn fingerprint(&self) -> String {
        let at = format!("{}:{}:{}", self.shown_path(), self.line, self.rule_id());
        match &self.commit {
            Some(commit) => format!("{commit}:{at}"),
            None => at,
        }
    }
}

/// Scans as `options` asks for the values of `secrets` and for provider keys,
/// writes the report, and returns the exit status: 1 when anything was found.
pub fn run(options: &Options, secrets: &SecretSet, out: &mut impl Write) -> Result<u8> {
    let matchers = Matchers::new(secrets);
    let exclude = exclusions(&options.exclude)?;
    let shown = progress::Progress::new(options.progress);
    let found = match options.mode {
        Mode::Tree => walk::scan_tree(options, &matchers, &exclude, &shown),
        Mode::Staged => git::scan_staged(options, &matchers, &exclude, &shown),
        Mode::History => git::scan_history(options, &matchers, &exclude, &shown),
    };
    shown.done();
    let mut findings = found?;
    findings.retain(|f| !options.allow.contains(&f.fingerprint()));
    findings.sort_by(|a, b| {
        (a.rank, &a.path, a.line, a.column).cmp(&(b.rank, &b.path, b.line, b.column))
    });
    report::write(&findings, options, out)?;
    Ok(u8::from(!findings.is_empty()))
}

fn exclusions(globs: &[String]) -> Result<globset::GlobSet> {
    let mut set = globset::GlobSetBuilder::new();
    for glob in globs {
        match globset::Glob::new(glob) {
            Ok(glob) => {
                set.add(glob);
            }
            Err(e) => {
                return fail(
                    Kind::Config,
                    format!("`[scan] exclude`: `{}`: {}", Escaped(glob), e.kind()),
                );
            }
        }
    }
    Ok(set.build()?)
}

/// The findings in one text: each hit with its line and column.
fn findings_in(
    path: &[u8],
    text: &[u8],
    matchers: &Matchers,
    commit: Option<&str>,
    first_line: usize,
) -> Vec<Finding> {
    let hits = matchers.find(text);
    let (mut line, mut line_start, mut scanned) = (first_line, 0, 0);
    hits.into_iter()
        .map(|hit: Hit| {
            for (i, &b) in text[scanned..hit.offset].iter().enumerate() {
                if b == b'\n' {
                    line += 1;
                    line_start = scanned + i + 1;
                }
            }
            scanned = hit.offset;
            Finding {
                path: path.to_vec(),
                line,
                column: hit.offset - line_start + 1,
                masked: hit.matched.masked(),
                commit: commit.map(str::to_owned),
                rank: rank(&hit),
                rule: hit.rule,
            }
        })
        .collect()
}

/// How much of a file decides whether it is binary.
const BINARY_PROBE: usize = 8192;

/// Whether bytes look binary: a NUL in the first 8 KiB, as git and ripgrep decide.
fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_PROBE)].contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_columns_and_fingerprints() {
        let secrets = SecretSet::of(&[("API_TOKEN", "tok-0123456789abcdef")]);
        let m = Matchers::new(&secrets);
        let text = b"a\nbb tok-0123456789abcdef\n\nx=tok-0123456789abcdef";
        let found = findings_in(b"src/a.py", text, &m, None, 1);
        let at: Vec<(usize, usize)> = found.iter().map(|f| (f.line, f.column)).collect();
        assert_eq!(at, [(2, 4), (4, 3)]);
        assert_eq!(found[0].fingerprint(), "src/a.py:2:value:API_TOKEN");
        assert_eq!(found[0].label(), "API_TOKEN");
        assert!(
            !found[0].masked.contains("0123456789"),
            "{}",
            found[0].masked
        );
    }
}
