//! `secretrun list`: what the child would get, as names, origins and masked values.

use std::io::{self, Write};

use serde_json::json;

use crate::env::ChildEnv;
use crate::escape::Escaped;
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
                        "masked": var.value.masked(),
                        "created": var.dates.created.map(timestamp::show),
                        "expires": var.dates.expires.map(timestamp::show),
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &json!({ "variables": vars }))?;
            writeln!(out)
        }
        OutputFormat::Text => {
            let rows: Vec<(String, String, String)> = env
                .vars
                .iter()
                .map(|var| {
                    (
                        Escaped(&var.name).to_string(),
                        var.origin.to_string(),
                        var.value.masked(),
                    )
                })
                .collect();
            let name_width = rows
                .iter()
                .map(|r| r.0.chars().count())
                .max()
                .unwrap_or(0)
                .max(4);
            let origin_width = rows
                .iter()
                .map(|r| r.1.chars().count())
                .max()
                .unwrap_or(0)
                .max(6);
            writeln!(
                out,
                "{:name_width$}  {:origin_width$}  VALUE",
                "NAME", "ORIGIN"
            )?;
            for (name, origin, masked) in rows {
                writeln!(out, "{name:name_width$}  {origin:origin_width$}  {masked}")?;
            }
            Ok(())
        }
    }
}
