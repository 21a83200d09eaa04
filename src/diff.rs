//! `secretrun diff A B`: what differs between two profiles, without a value: names
//! in one only; a detector's kind that differs; live in one and test in the other
//! (a finding only when a profile's `expect` refuses it); the same secret value in
//! both (staging and production sharing a `SECRET_KEY`; a provider's test key shared
//! is a note), compared by a keyed hash that is never shown. Exit 1 on findings.

use std::io::{self, Write};

use serde_json::json;
use sha2::Digest;

use crate::detectors::Detector;
use crate::env::ChildEnv;
use crate::mode::Mode;
use crate::secret::SecretSet;
use crate::validate::Report;

/// One side of the comparison: a profile's name, what it loaded and what
/// validation made of it.
pub struct Side<'a> {
    pub profile: &'a str,
    pub secrets: &'a SecretSet,
    pub env: &'a ChildEnv<'a>,
    pub report: &'a Report,
    pub expect: Option<Mode>,
}

/// One thing that differs. `finding` says whether it fails the diff.
pub struct Difference {
    pub name: String,
    pub what: String,
    pub finding: bool,
}

/// Compares two sides, name by name.
pub fn compare(a: &Side, b: &Side) -> Vec<Difference> {
    let mut names: Vec<&str> = a
        .secrets
        .iter()
        .chain(b.secrets.iter())
        .map(|(n, _)| n)
        .collect();
    names.sort();
    names.dedup();
    // A key of this run only: equal values give equal digests, and a digest says
    // nothing of a value to anyone, this run included, once it is over.
    let key = format!(
        "{:016x}{:016x}",
        crate::jitter::random_u64(),
        crate::jitter::random_u64()
    );
    let mut found = Vec::new();
    for name in names {
        let mut say = |what: String, finding: bool| {
            found.push(Difference {
                name: name.to_owned(),
                what,
                finding,
            })
        };
        let (Some(va), Some(vb)) = (a.env.get(name), b.env.get(name)) else {
            let (has, lacks) = if a.env.get(name).is_some() {
                (a, b)
            } else {
                (b, a)
            };
            say(
                format!("only in `{}`, not in `{}`", has.profile, lacks.profile),
                true,
            );
            continue;
        };
        let (da, db) = (
            a.report.detected.get(name).copied(),
            b.report.detected.get(name).copied(),
        );
        if let Some(what) = kinds(a, b, da, db) {
            say(what, true);
        }
        let (ma, mb) = (da.and_then(|d| d.mode), db.and_then(|d| d.mode));
        if let (Some(ma), Some(mb)) = (ma, mb)
            && ma != mb
        {
            let (what, finding) = modes(a, b, ma, mb);
            say(what, finding);
        }
        let (value_a, value_b) = (
            va.value.as_os_str().to_string_lossy(),
            vb.value.as_os_str().to_string_lossy(),
        );
        let secret = da.is_some() || crate::scan::matchers::is_worth_finding(name, &value_a);
        if secret && digest(&key, &value_a) == digest(&key, &value_b) {
            let what = format!("the same value in `{}` and `{}`", a.profile, b.profile);
            // A provider's test key shared by two environments leaks nothing.
            match ma == Some(Mode::Test) {
                true => say(format!("{what} (a test key)"), false),
                false => say(what, true),
            }
        }
    }
    found
}

/// The value's digest under this run's key.
fn digest(key: &str, value: &str) -> impl PartialEq {
    sha2::Sha256::new()
        .chain_update(key)
        .chain_update(value)
        .finalize()
}

/// What differs in the detectors' verdicts, if anything.
fn kinds(a: &Side, b: &Side, da: Option<&Detector>, db: Option<&Detector>) -> Option<String> {
    let kind = |d: Option<&Detector>| d.map(|d| format!("{} {}", d.provider, d.kind));
    let (ka, kb) = (kind(da), kind(db));
    let show = |k: Option<String>| k.unwrap_or_else(|| "no known key shape".into());
    (ka != kb).then(|| {
        format!(
            "`{}`: {}; `{}`: {}",
            a.profile,
            show(ka),
            b.profile,
            show(kb)
        )
    })
}

/// Live in one, test in the other: a note when both profiles expect what they
/// hold, else a finding naming the expectations it breaks.
fn modes(a: &Side, b: &Side, ma: Mode, mb: Mode) -> (String, bool) {
    let refused: Vec<String> = [(a, ma), (b, mb)]
        .into_iter()
        .filter_map(|(side, mode)| {
            let expected = side.expect.filter(|e| *e != mode)?;
            Some(format!(
                "`{}` expects {expected} keys, not {mode}",
                side.profile
            ))
        })
        .collect();
    let what = format!("{ma} in `{}`, {mb} in `{}`", a.profile, b.profile);
    match refused.is_empty() {
        true => (format!("{what}, as their expectations allow"), false),
        false => (format!("{what}: {}", refused.join("; ")), true),
    }
}

/// Writes the differences: a line each, or JSON.
pub fn print(found: &[Difference], json: bool, out: &mut impl Write) -> io::Result<()> {
    if json {
        let rows: Vec<_> = found
            .iter()
            .map(|d| json!({"name": d.name, "difference": d.what, "finding": d.finding}))
            .collect();
        serde_json::to_writer_pretty(&mut *out, &json!({ "differences": rows }))?;
        return writeln!(out);
    }
    for d in found {
        let mark = if d.finding { "finding" } else { "note" };
        writeln!(
            out,
            "{mark:<8} {}: {}",
            crate::escape::Escaped(&d.name),
            d.what
        )?;
    }
    let findings = found.iter().filter(|d| d.finding).count();
    writeln!(
        out,
        "{findings} finding{}",
        if findings == 1 { "" } else { "s" }
    )
}
