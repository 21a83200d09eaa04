//! `secretrun diff A B`: what differs between two profiles (or two sources read
//! under one profile's rules), without a value: names in one only; a detector's
//! kind that differs; live in one and test in the other (a finding only when a
//! profile's `expect` refuses it); the same secret value in both (staging and
//! production sharing a `SECRET_KEY`; a provider's test key shared is a note),
//! compared by a keyed hash that is never shown; rotation ages a day or more apart,
//! a finding where one side is overdue or expired. Text, JSON or SARIF; exit 1 on
//! findings.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::{Value, json};
use sha2::Digest;

use crate::detectors::Detector;
use crate::duration::show_coarse;
use crate::env::ChildEnv;
use crate::escape::Escaped;
use crate::mode::Mode;
use crate::output::FindingsFormat;
use crate::prepare::Pipeline;
use crate::secret::{Origin, SecretSet};
use crate::validate::Report;
use crate::validate::rotation::{Age, State};

/// One side of the comparison: what it is called, what it loaded and what
/// validation made of it.
pub struct Side<'a> {
    pub label: &'a str,
    pub secrets: &'a SecretSet,
    pub env: &'a ChildEnv<'a>,
    pub report: &'a Report,
    pub expect: Option<Mode>,
}

/// What kind of difference, as SARIF's rule ids name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    OnlyInOne,
    Kind,
    Mode,
    SameValue,
    Age,
}

impl Rule {
    fn id(self) -> &'static str {
        match self {
            Rule::OnlyInOne => "diff/only-in-one",
            Rule::Kind => "diff/kind",
            Rule::Mode => "diff/live-and-test",
            Rule::SameValue => "diff/same-value",
            Rule::Age => "diff/rotation-age",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Rule::OnlyInOne => "A variable defined on one side only",
            Rule::Kind => "A variable holding a different kind of key on each side",
            Rule::Mode => "A live key on one side, a test key on the other",
            Rule::SameValue => "The same secret value on both sides",
            Rule::Age => "Values of very different ages, or one overdue for rotation",
        }
    }
}

/// One thing that differs. `finding` says whether it fails the diff; `at` is
/// where the second side (else the first) defines the variable, when a file line.
pub struct Difference {
    pub name: String,
    pub rule: Rule,
    pub what: String,
    pub finding: bool,
    pub at: Option<(PathBuf, usize)>,
}

/// Loads both sides, compares them, writes the differences; 1 on findings.
pub fn run(
    (ours, theirs): (&Pipeline, &Pipeline),
    (a, b): (&str, &str),
    (format, config): (FindingsFormat, Option<&Path>),
    out: &mut impl Write,
) -> Result<u8> {
    let (ours_set, theirs_set) = (ours.load()?, theirs.load()?);
    let (ours_env, theirs_env) = (ours.env(&ours_set), theirs.env(&theirs_set));
    let (ours_report, theirs_report) = (ours.validate(&ours_env), theirs.validate(&theirs_env));
    let found = compare(
        &Side {
            label: a,
            secrets: &ours_set,
            env: &ours_env,
            report: &ours_report,
            expect: ours.rules().expect,
        },
        &Side {
            label: b,
            secrets: &theirs_set,
            env: &theirs_env,
            report: &theirs_report,
            expect: theirs.rules().expect,
        },
    );
    print(&found, (format, config), out)?;
    Ok(u8::from(found.iter().any(|d| d.finding)))
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
        let at = [b, a]
            .iter()
            .find_map(|side| side.secrets.get(name).and_then(|s| line_of(&s.origin)));
        let mut say = |rule: Rule, what: String, finding: bool| {
            found.push(Difference {
                name: name.to_owned(),
                rule,
                what,
                finding,
                at: at.clone(),
            })
        };
        let (Some(va), Some(vb)) = (a.env.get(name), b.env.get(name)) else {
            let (has, lacks) = match a.env.get(name) {
                Some(_) => (a, b),
                None => (b, a),
            };
            let what = format!("only in `{}`, not in `{}`", has.label(), lacks.label());
            say(Rule::OnlyInOne, what, true);
            continue;
        };
        let (da, db) = (
            a.report.detected.get(name).copied(),
            b.report.detected.get(name).copied(),
        );
        if let Some(what) = kinds(a, b, da, db) {
            say(Rule::Kind, what, true);
        }
        let (ma, mb) = (da.and_then(|d| d.mode), db.and_then(|d| d.mode));
        if let (Some(ma), Some(mb)) = (ma, mb)
            && ma != mb
        {
            let (what, finding) = modes(a, b, ma, mb);
            say(Rule::Mode, what, finding);
        }
        let (value_a, value_b) = (
            va.value.as_os_str().to_string_lossy(),
            vb.value.as_os_str().to_string_lossy(),
        );
        let secret = da.is_some() || crate::scan::matchers::is_worth_finding(name, &value_a);
        if secret && digest(&key, &value_a) == digest(&key, &value_b) {
            let what = format!("the same value in `{}` and `{}`", a.label(), b.label());
            // A provider's test key shared by two environments leaks nothing.
            match ma == Some(Mode::Test) {
                true => say(Rule::SameValue, format!("{what} (a test key)"), false),
                false => say(Rule::SameValue, what, true),
            }
        }
        let ages = (a.report.rotation.get(name), b.report.rotation.get(name));
        if let (Some(age_a), Some(age_b)) = ages
            && let Some((what, finding)) = ages_apart((a.label, age_a), (b.label, age_b))
        {
            say(Rule::Age, what, finding);
        }
    }
    found
}

impl Side<'_> {
    fn label(&self) -> Escaped<'_> {
        Escaped(self.label)
    }
}

/// A dotenv line, the place a finding points at.
fn line_of(origin: &Origin) -> Option<(PathBuf, usize)> {
    match origin {
        Origin::Dotenv { path, line, .. } | Origin::Reference { path, line, .. } => {
            Some((path.clone(), *line))
        }
        _ => None,
    }
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
            a.label(),
            show(ka),
            b.label(),
            show(kb)
        )
    })
}

/// Live in one, test in the other: a note when both sides expect what they hold,
/// else a finding naming the expectations it breaks.
fn modes(a: &Side, b: &Side, ma: Mode, mb: Mode) -> (String, bool) {
    let refused: Vec<String> = [(a, ma), (b, mb)]
        .into_iter()
        .filter_map(|(side, mode)| {
            let expected = side.expect.filter(|e| *e != mode)?;
            Some(format!(
                "`{}` expects {expected} keys, not {mode}",
                side.label()
            ))
        })
        .collect();
    let what = format!("{ma} in `{}`, {mb} in `{}`", a.label(), b.label());
    match refused.is_empty() {
        true => (format!("{what}, as their expectations allow"), false),
        false => (format!("{what}: {}", refused.join("; ")), true),
    }
}

/// Ages a day or more apart (a note), or one side overdue or expired (a finding,
/// as `check` has it). Values whose stores record no date are not compared.
fn ages_apart((a, age_a): (&str, &Age), (b, age_b): (&str, &Age)) -> Option<(String, bool)> {
    let late = |side: &str, age: &Age| match age.state {
        State::Overdue | State::Expired => {
            Some(format!("{} in `{}`", age.state.as_str(), Escaped(side)))
        }
        _ => None,
    };
    let late: Vec<String> = [late(a, age_a), late(b, age_b)]
        .into_iter()
        .flatten()
        .collect();
    let apart = match (age_a.age, age_b.age) {
        (Some(x), Some(y)) => x.abs_diff(y) >= 86_400,
        _ => false,
    };
    if !apart && late.is_empty() {
        return None;
    }
    let old = |age: &Age| {
        age.age.map_or("of unknown age".to_owned(), |s| {
            format!("{} old", show_coarse(s))
        })
    };
    let what = format!(
        "{} in `{}`, {} in `{}`",
        old(age_a),
        Escaped(a),
        old(age_b),
        Escaped(b)
    );
    match late.is_empty() {
        true => Some((what, false)),
        false => Some((format!("{what}: {}", late.join("; ")), true)),
    }
}

/// Writes the differences: a line each, JSON, or SARIF (where a variable no file
/// line defines is placed at the config's first line: code scanning wants a place
/// for every result).
pub fn print(
    found: &[Difference],
    (format, config): (FindingsFormat, Option<&Path>),
    out: &mut impl Write,
) -> io::Result<()> {
    let doc = match format {
        FindingsFormat::Text => return text(found, out),
        FindingsFormat::Json => {
            let rows: Vec<_> = found
                .iter()
                .map(|d| {
                    json!({
                        "name": d.name,
                        "rule": d.rule.id(),
                        "difference": d.what,
                        "finding": d.finding,
                        "path": d.at.as_ref().map(|(p, _)| p.to_string_lossy()),
                        "line": d.at.as_ref().map(|(_, l)| l),
                    })
                })
                .collect();
            json!({ "differences": rows })
        }
        FindingsFormat::Sarif => sarif(found, config),
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

fn text(found: &[Difference], out: &mut impl Write) -> io::Result<()> {
    for d in found {
        let mark = if d.finding { "finding" } else { "note" };
        writeln!(out, "{mark:<8} {}: {}", Escaped(&d.name), d.what)?;
    }
    let findings = found.iter().filter(|d| d.finding).count();
    writeln!(
        out,
        "{findings} finding{}",
        if findings == 1 { "" } else { "s" }
    )
}

/// SARIF 2.1.0: one rule per kind of difference, findings as errors and notes as
/// notes, each at the line that defines the variable when a file does.
fn sarif(found: &[Difference], config: Option<&Path>) -> Value {
    let mut rules: Vec<Rule> = found.iter().map(|d| d.rule).collect();
    rules.sort_by_key(|r| r.id());
    rules.dedup();
    let results: Vec<Value> = found
        .iter()
        .map(|d| {
            let at = d.at.clone().or(config.map(|c| (c.to_path_buf(), 1)));
            let locations: Vec<Value> = at
                .iter()
                .map(|(path, line)| {
                    json!({ "physicalLocation": {
                        "artifactLocation": { "uri": crate::escape::uri(path.as_os_str().as_encoded_bytes()) },
                        "region": { "startLine": line },
                    }})
                })
                .collect();
            json!({
                "ruleId": d.rule.id(),
                "level": if d.finding { "error" } else { "note" },
                "message": { "text": format!("{}: {}", Escaped(&d.name), d.what) },
                "locations": locations,
            })
        })
        .collect();
    let rules: Vec<(&str, &str)> = rules.iter().map(|r| (r.id(), r.description())).collect();
    crate::output::sarif_log(&rules, results)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(days: Option<u64>, state: State) -> Age {
        Age {
            dates: Default::default(),
            age: days.map(|d| d * 86_400 + 5),
            max_age: None,
            state,
        }
    }

    #[test]
    fn ages_a_day_apart_are_a_note_and_an_overdue_side_a_finding() {
        let same = ages_apart(
            ("staging", &age(Some(3), State::Ok)),
            ("prod", &age(Some(3), State::Ok)),
        );
        assert_eq!(same, None);
        let apart = ages_apart(
            ("staging", &age(Some(3), State::Ok)),
            ("prod", &age(Some(400), State::Ok)),
        );
        assert_eq!(
            apart,
            Some(("3d old in `staging`, 400d old in `prod`".to_owned(), false))
        );
        let overdue = ages_apart(
            ("staging", &age(Some(3), State::Ok)),
            ("prod", &age(Some(3), State::Overdue)),
        );
        assert_eq!(
            overdue,
            Some((
                "3d old in `staging`, 3d old in `prod`: overdue in `prod`".to_owned(),
                true
            ))
        );
        // A dotenv value has no age: nothing to compare, unless one side is late.
        let unknown = ages_apart(
            ("dev", &age(None, State::Unknown)),
            ("prod", &age(Some(900), State::Expired)),
        );
        assert_eq!(
            unknown,
            Some((
                "of unknown age in `dev`, 900d old in `prod`: expired in `prod`".to_owned(),
                true
            ))
        );
        assert_eq!(
            ages_apart(
                ("dev", &age(None, State::Unknown)),
                ("prod", &age(Some(900), State::Ok))
            ),
            None
        );
    }
}
