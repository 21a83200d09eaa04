//! `secretrun list`: what the child would get, as names, origins and masked values.

use std::io::{self, Write};

use serde_json::json;

use crate::env::{ChildEnv, Var};
use crate::escape::Escaped;
use crate::lease::Leased;
use crate::output::OutputFormat;
use crate::timestamp;

pub fn print(env: &ChildEnv, format: OutputFormat, out: &mut impl Write) -> io::Result<()> {
    match format {
        OutputFormat::Json => {
            let vars: Vec<_> = env
                .vars
                .iter()
                .map(|var| {
                    json!({
                        "name": var.name,
                        "origin": var.origin.to_string(),
                        "at_rest": var.origin.at_rest().map(crate::secret::AtRest::as_str),
                        "masked": var.shown(),
                        "clear": var.in_clear(),
                        "created": var.dates.created.map(timestamp::show),
                        "expires": var.dates.expires.map(timestamp::show),
                        "lease": lease_json(var.dates.leased),
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &json!({ "variables": vars }))?;
            writeln!(out)
        }
        OutputFormat::Text => print_text(env, out),
    }
}

fn print_text(env: &ChildEnv, out: &mut impl Write) -> io::Result<()> {
    let leases = shows_leases(env);
    let rows: Vec<Vec<String>> = env
        .vars
        .iter()
        .map(|var| {
            let mut row = vec![Escaped(&var.name).to_string(), var.origin.to_string()];
            if leases {
                row.push(lease_cell(var.dates.leased));
            }
            row.push(value_cell(var));
            row
        })
        .collect();
    let mut header = vec!["NAME".to_owned(), "ORIGIN".to_owned()];
    if leases {
        header.push("LEASE".to_owned());
    }
    header.push("VALUE".to_owned());
    let widths: Vec<usize> = (0..header.len() - 1)
        .map(|i| {
            rows.iter()
                .chain([&header])
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in [&header].into_iter().chain(&rows) {
        for (cell, width) in row.iter().zip(&widths) {
            write!(out, "{cell:width$}  ")?;
        }
        writeln!(out, "{}", row[row.len() - 1])?;
    }
    Ok(())
}

/// Whether a LEASE column is shown: some value is a dynamic secret.
pub fn shows_leases(env: &ChildEnv) -> bool {
    env.vars.iter().any(|v| v.dates.leased.is_some())
}

/// `1h renewable`, `not read (dynamic)`, or `-`.
pub fn lease_cell(leased: Option<Leased>) -> String {
    leased.map_or_else(|| "-".to_owned(), Leased::describe)
}

/// The value as shown (a long one in clear cut in the middle, so that a PATH does
/// not stretch the table), or that it was not read.
pub fn value_cell(var: &Var) -> String {
    const WIDE: usize = 60;
    match var.dates.leased {
        Some(Leased::NotRead) => "(not read)".to_owned(),
        _ => {
            let shown = var.shown();
            let chars: Vec<char> = shown.chars().collect();
            match chars.len() > WIDE && var.in_clear() {
                true => {
                    let head: String = chars[..WIDE / 2].iter().collect();
                    let tail: String = chars[chars.len() - WIDE / 2 + 1..].iter().collect();
                    format!("{head}…{tail}")
                }
                false => shown,
            }
        }
    }
}

/// A lease in JSON: `{"seconds": 3600, "renewable": true}`, `{"read": false}`, or
/// null.
pub fn lease_json(leased: Option<Leased>) -> serde_json::Value {
    match leased {
        Some(Leased::Held { seconds, renewable }) => {
            json!({ "read": true, "seconds": seconds, "renewable": renewable })
        }
        Some(Leased::NotRead) => json!({ "read": false }),
        None => serde_json::Value::Null,
    }
}
