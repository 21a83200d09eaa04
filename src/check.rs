//! `secretrun check`: the whole pipeline without exec, as a report for people (text,
//! colour on a terminal unless NO_COLOR) or for CI (JSON, shape in docs/guide.md).

use std::io::{self, Write};

use crate::config::Project;

use serde_json::json;

use crate::duration::show_coarse;
use crate::env::ChildEnv;
use crate::output::OutputFormat;
use crate::secret::AtRest;
use crate::timestamp;
use crate::validate::rotation::{Age, State};
use crate::validate::{Finding, Report, Verdict};

pub fn print(
    env: &ChildEnv,
    report: &Report,
    format: OutputFormat,
    colour: bool,
    project: &Project,
    out: &mut impl Write,
) -> io::Result<()> {
    match format {
        OutputFormat::Json => print_json(env, report, project, out),
        OutputFormat::Text => {
            writeln!(out, "config: {}\n", project.describe())?;
            print_text(env, report, colour, out)
        }
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

/// How old a variable's value is: `412d`, `unknown` when its store recorded nothing
/// (a dotenv value), `-` for a variable kept from the parent.
fn age_cell(report: &Report, name: &str) -> String {
    match report.rotation.get(name) {
        Some(Age { age: Some(age), .. }) => show_coarse(*age),
        Some(_) => "unknown".to_owned(),
        None => "-".to_owned(),
    }
}

/// How a variable was kept on disk: `age`, `dotenvx`, `plain`, or `-` (a store's, the
/// parent's).
fn at_rest_cell(origin: &crate::secret::Origin) -> &'static str {
    origin.at_rest().map_or("-", AtRest::as_str)
}

/// Whether the report shows how values were kept: some dotenv line was encrypted.
fn shows_at_rest(env: &ChildEnv) -> bool {
    env.vars
        .iter()
        .any(|v| v.origin.at_rest().is_some_and(|a| a != AtRest::Plain))
}

/// Whether the report shows ages: a `max_age` rule applies, or a store recorded one.
fn shows_ages(report: &Report) -> bool {
    report.ages_asked || report.rotation.values().any(|a| a.age.is_some())
}

/// A variable's rotation in the JSON report: null for one kept from the parent.
fn rotation_json(report: &Report, name: &str) -> serde_json::Value {
    let Some(age) = report.rotation.get(name) else {
        return serde_json::Value::Null;
    };
    json!({
        "created": age.dates.created.map(timestamp::show),
        "age_days": age.age.map(|secs| secs / 86_400),
        "max_age_days": age.max_age.map(|max| max.as_secs() / 86_400),
        "expires": age.dates.expires.map(timestamp::show),
        "state": age.state.as_str(),
    })
}

/// The names in each rotation state but `ok`, for a CI gate.
fn rotation_summary(report: &Report) -> serde_json::Value {
    let names = |state: State| -> Vec<&str> {
        report
            .rotation
            .iter()
            .filter(|(_, age)| age.state == state)
            .map(|(name, _)| name.as_str())
            .collect()
    };
    json!({
        "overdue": names(State::Overdue),
        "expired": names(State::Expired),
        "expiring": names(State::Expiring),
        "unknown": names(State::Unknown),
    })
}

fn print_json(
    env: &ChildEnv,
    report: &Report,
    project: &Project,
    out: &mut impl Write,
) -> io::Result<()> {
    let variables: Vec<_> = env
        .vars
        .iter()
        .map(|var| {
            let d = report.detected.get(&var.name);
            json!({
                "name": var.name,
                "origin": var.origin.to_string(),
                "masked": var.shown(),
                "clear": var.in_clear(),
                "provider": d.map(|d| d.provider.name()),
                "kind": d.map(|d| d.kind.name()),
                "mode": d.and_then(|d| d.mode).map(|m| m.to_string()),
                "at_rest": var.origin.at_rest().map(AtRest::as_str),
                "verdict": report.verdict(&var.name).as_str(),
                "rotation": rotation_json(report, &var.name),
                "lease": crate::list::lease_json(var.dates.leased),
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
        "rotation": rotation_summary(report),
        "config": project.config_path().map(|c| c.to_string_lossy().into_owned()),
        "config_looked_in": project.looked.iter().map(|d| d.to_string_lossy()).collect::<Vec<_>>(),
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

/// One row a variable, in aligned columns, its verdict last; an AGE column when
/// ages matter.
fn print_table(
    env: &ChildEnv,
    report: &Report,
    paint: &Paint,
    out: &mut impl Write,
) -> io::Result<()> {
    let ages = shows_ages(report);
    let at_rest = shows_at_rest(env);
    let leases = crate::list::shows_leases(env);
    let rows: Vec<(Vec<String>, Verdict)> = env
        .vars
        .iter()
        .map(|var| {
            let mut cells = vec![
                crate::escape::Escaped(&var.name).to_string(),
                var.origin.to_string(),
                kind_cell(report, &var.name),
            ];
            if at_rest {
                cells.push(at_rest_cell(&var.origin).to_owned());
            }
            if ages {
                cells.push(age_cell(report, &var.name));
            }
            if leases {
                cells.push(crate::list::lease_cell(var.dates.leased));
            }
            cells.push(crate::list::value_cell(var));
            (cells, report.verdict(&var.name))
        })
        .collect();
    let mut header = vec!["NAME", "ORIGIN", "KIND"];
    if at_rest {
        header.push("AT REST");
    }
    if ages {
        header.push("AGE");
    }
    if leases {
        header.push("LEASE");
    }
    header.push("VALUE");
    let header: Vec<String> = header.into_iter().map(str::to_owned).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|(cells, _)| cells)
                .chain([&header])
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |out: &mut dyn Write, cells: &[String]| -> io::Result<()> {
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
