//! `secretrun check`: the whole pipeline without exec, as a report for people (text,
//! colour on a terminal unless NO_COLOR) or for CI (JSON, shape in the README).

use std::io::{self, Write};

use serde_json::json;

use crate::env::ChildEnv;
use crate::output::OutputFormat;
use crate::validate::{Finding, Report, Verdict};

pub fn print(
    env: &ChildEnv,
    report: &Report,
    format: OutputFormat,
    colour: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    match format {
        OutputFormat::Json => print_json(env, report, out),
        OutputFormat::Text => print_text(env, report, colour, out),
    }
}

/// What the detectors made of a variable: `Stripe secret key (live)`, or `-`.
fn kind_cell(report: &Report, name: &str) -> String {
    match report.detected.get(name) {
        Some(d) => match d.mode {
            Some(mode) => format!("{} {} ({mode})", d.provider, d.kind),
            None => format!("{} {}", d.provider, d.kind),
        },
        None => "-".to_owned(),
    }
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
                "provider": d.map(|d| d.provider.name()),
                "kind": d.map(|d| d.kind.name()),
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

/// Paints text in its verdict's colour, when the output is a terminal that wants
/// colour.
struct Paint(bool);

impl Paint {
    fn paint(&self, verdict: Verdict, text: &str) -> String {
        let code = match verdict {
            Verdict::Ok => "32",
            Verdict::Warning => "33",
            Verdict::Error => "31",
        };
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

fn print_text(
    env: &ChildEnv,
    report: &Report,
    colour: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    let paint = Paint(colour);
    print_table(env, report, &paint, out)?;
    for (title, list, verdict) in [
        ("errors", &report.errors, Verdict::Error),
        ("warnings", &report.warnings, Verdict::Warning),
    ] {
        if list.is_empty() {
            continue;
        }
        writeln!(out, "\n{}:", paint.paint(verdict, title))?;
        for finding in list {
            writeln!(out, "  {}", finding.message)?;
        }
    }
    writeln!(out, "\n{}", summary(report, &paint))
}

/// One row a variable, in aligned columns, its verdict last.
fn print_table(
    env: &ChildEnv,
    report: &Report,
    paint: &Paint,
    out: &mut impl Write,
) -> io::Result<()> {
    let rows: Vec<([String; 4], Verdict)> = env
        .vars
        .iter()
        .map(|var| {
            let cells = [
                crate::escape::Escaped(&var.name).to_string(),
                var.origin.to_string(),
                kind_cell(report, &var.name),
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
        writeln!(out, "{}", paint.paint(*verdict, verdict.as_str()))?;
    }
    Ok(())
}

/// The last line: ok, not verified, or how many errors and warnings.
fn summary(report: &Report, paint: &Paint) -> String {
    let (e, w, u) = (report.errors.len(), report.warnings.len(), report.unprobed);
    match (e, w, u) {
        (0, 0, 0) => paint.paint(Verdict::Ok, "ok"),
        (0, w, 0) => paint.paint(Verdict::Warning, &format!("ok, {w} warning{}", plural(w))),
        (0, w, u) => paint.paint(
            Verdict::Warning,
            &format!(
                "not verified: {u} key{} could not be probed, {w} warning{}",
                plural(u),
                plural(w)
            ),
        ),
        (e, w, _) => paint.paint(
            Verdict::Error,
            &format!("{e} error{}, {w} warning{}", plural(e), plural(w)),
        ),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
