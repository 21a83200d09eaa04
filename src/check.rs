//! `secretrun check`: the whole pipeline without exec, as a report for people (text,
//! colour on a terminal unless NO_COLOR) or for CI (JSON, shape in the README).

use std::io::{self, Write};

use serde_json::json;

use crate::cli::Format;
use crate::env::ChildEnv;
use crate::validate::{Finding, Report, Verdict};

pub fn print(
    env: &ChildEnv,
    report: &Report,
    format: Format,
    colour: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    match format {
        Format::Json => print_json(env, report, out),
        Format::Text => print_text(env, report, colour, out),
    }
}

fn detected(report: &Report, name: &str) -> Option<(String, Option<String>)> {
    report.detected.get(name).map(|d| {
        (
            format!("{} {}", d.provider, d.kind),
            d.mode.map(|m| m.to_string()),
        )
    })
}

fn print_json(env: &ChildEnv, report: &Report, out: &mut impl Write) -> io::Result<()> {
    let variables: Vec<_> = env
        .vars
        .iter()
        .map(|var| {
            let d = report.detected.get(&var.name);
            json!({
                "name": var.name,
                "origin": var.origin.to_string(),
                "masked": var.value.masked(),
                "provider": d.map(|d| d.provider),
                "kind": d.map(|d| d.kind),
                "mode": d.and_then(|d| d.mode).map(|m| m.to_string()),
                "verdict": report.verdict(&var.name).as_str(),
            })
        })
        .collect();
    let findings = |list: &[Finding]| -> Vec<serde_json::Value> {
        list.iter()
            .map(|f| json!({ "names": f.names, "message": f.message }))
            .collect()
    };
    let doc = json!({
        "ok": report.errors.is_empty(),
        "variables": variables,
        "errors": findings(&report.errors),
        "warnings": findings(&report.warnings),
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

fn print_text(
    env: &ChildEnv,
    report: &Report,
    colour: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    let paint = |verdict: Verdict, text: &str| -> String {
        let code = match verdict {
            Verdict::Ok => "32",
            Verdict::Warning => "33",
            Verdict::Error => "31",
        };
        if colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    };
    let rows: Vec<[String; 5]> = env
        .vars
        .iter()
        .map(|var| {
            let kind = match detected(report, &var.name) {
                Some((kind, Some(mode))) => format!("{kind} ({mode})"),
                Some((kind, None)) => kind,
                None => "-".to_owned(),
            };
            let verdict = report.verdict(&var.name);
            [
                crate::escape::Escaped(&var.name).to_string(),
                var.origin.to_string(),
                kind,
                var.value.masked(),
                verdict.as_str().to_owned(),
            ]
        })
        .collect();
    let header = ["NAME", "ORIGIN", "KIND", "VALUE", "VERDICT"].map(str::to_owned);
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            rows.iter()
                .chain([&header])
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for (i, row) in [&header].into_iter().chain(&rows).enumerate() {
        for (cell, width) in row.iter().zip(&widths) {
            write!(out, "{cell:width$}  ")?;
        }
        let verdict = &row[4];
        if i == 0 {
            writeln!(out, "{verdict}")?;
        } else {
            let v = match verdict.as_str() {
                "error" => Verdict::Error,
                "warning" => Verdict::Warning,
                _ => Verdict::Ok,
            };
            writeln!(out, "{}", paint(v, verdict))?;
        }
    }
    for (title, list, verdict) in [
        ("errors", &report.errors, Verdict::Error),
        ("warnings", &report.warnings, Verdict::Warning),
    ] {
        if list.is_empty() {
            continue;
        }
        writeln!(out, "\n{}:", paint(verdict, title))?;
        for finding in list {
            writeln!(out, "  {}", finding.message)?;
        }
    }
    let summary = match (report.errors.len(), report.warnings.len()) {
        (0, 0) => paint(Verdict::Ok, "ok"),
        (0, w) => paint(Verdict::Warning, &format!("ok, {w} warning{}", plural(w))),
        (e, w) => paint(
            Verdict::Error,
            &format!("{e} error{}, {w} warning{}", plural(e), plural(w)),
        ),
    };
    writeln!(out, "\n{summary}")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
