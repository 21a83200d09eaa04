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
        "ok": report.exit_status() == 0,
        "unprobed": report.unprobed,
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
    let rows: Vec<([String; 4], Verdict)> = env
        .vars
        .iter()
        .map(|var| {
            let kind = match detected(report, &var.name) {
                Some((kind, Some(mode))) => format!("{kind} ({mode})"),
                Some((kind, None)) => kind,
                None => "-".to_owned(),
            };
            let cells = [
                crate::escape::Escaped(&var.name).to_string(),
                var.origin.to_string(),
                kind,
                var.value.masked(),
            ];
            (cells, report.verdict(&var.name))
        })
        .collect();
    let header = ["NAME", "ORIGIN", "KIND", "VALUE"].map(str::to_owned);
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            rows.iter()
                .map(|(cells, _)| cells)
                .chain([&header])
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |out: &mut dyn Write, cells: &[String; 4]| -> io::Result<()> {
        for (cell, width) in cells.iter().zip(&widths) {
            write!(out, "{cell:width$}  ")?;
        }
        Ok(())
    };
    line(out, &header)?;
    writeln!(out, "VERDICT")?;
    for (cells, verdict) in &rows {
        line(out, cells)?;
        writeln!(out, "{}", paint(*verdict, verdict.as_str()))?;
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
    let (e, w, u) = (report.errors.len(), report.warnings.len(), report.unprobed);
    let summary = match (e, w, u) {
        (0, 0, 0) => paint(Verdict::Ok, "ok"),
        (0, w, 0) => paint(Verdict::Warning, &format!("ok, {w} warning{}", plural(w))),
        (0, w, u) => paint(
            Verdict::Warning,
            &format!(
                "not verified: {u} key{} could not be probed, {w} warning{}",
                plural(u),
                plural(w)
            ),
        ),
        (e, w, _) => paint(
            Verdict::Error,
            &format!("{e} error{}, {w} warning{}", plural(e), plural(w)),
        ),
    };
    writeln!(out, "\n{summary}")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
