//! `secretrun explain NAME`: one variable, told whole: every source that defines
//! it (the last wins), the version its store answered with, whether the parent's
//! value is kept over it, what the detectors make of it against the expected mode,
//! the rules that apply, how the command gets it, how old it is, and what
//! validation says. Never the value: it is masked as `list` masks it. Text, or
//! JSON with the same fields.

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::deliver::AsFile;
use crate::duration::show_coarse;
use crate::env::ChildEnv;
use crate::escape::Escaped;
use crate::secret::{Origin, SecretSet};
use crate::validate::{Report, Rules, VarSpec};

/// What explaining one variable needs: the loaded set (with the origins each
/// value won over), the command's environment, validation's report, the rules and
/// the files.
pub struct Explained<'a> {
    pub name: &'a str,
    pub secrets: &'a SecretSet,
    pub env: &'a ChildEnv<'a>,
    pub report: &'a Report,
    pub rules: &'a Rules,
    pub files: &'a [AsFile],
}

/// The explanation, worked out once and then written as text or JSON.
struct Explanation {
    origin: String,
    /// The store's version of the winning value.
    version: Option<String>,
    /// The origins the winner overrides, the nearest first.
    overrides: Vec<String>,
    /// The parent's value wins over the sources' (`--keep`).
    kept_over: bool,
    masked: Option<String>,
    kind: String,
    rules: Vec<String>,
    delivered: String,
    age: Option<String>,
    errors: Vec<String>,
    warnings: Vec<String>,
    ok: bool,
}

impl Explained<'_> {
    /// Writes the explanation; whether the variable is there and passes.
    pub fn print(&self, json: bool, out: &mut impl Write) -> io::Result<bool> {
        let e = self.explain();
        match json {
            true => {
                serde_json::to_writer_pretty(&mut *out, &self.to_json(&e))?;
                writeln!(out)?;
            }
            false => self.write_text(&e, out)?,
        }
        Ok(e.ok)
    }

    fn explain(&self) -> Explanation {
        let name = self.name;
        let var = self.env.get(name);
        let secret = self.secrets.get(name);
        let origin = match (secret, var) {
            (Some(secret), _) => secret.origin.to_string(),
            (None, Some(_)) => "kept from the parent".to_owned(),
            (None, None) => "no source defines it, and the parent's is not kept".to_owned(),
        };
        let mine = |f: &&crate::validate::Finding| f.names.iter().any(|n| n == name);
        let message = |f: &crate::validate::Finding| f.message.clone();
        let errors: Vec<String> = self
            .report
            .errors
            .iter()
            .filter(mine)
            .map(message)
            .collect();
        let present = var.is_some() || self.files.iter().any(|f| f.name == name);
        let spec = self.rules.vars.get(name);
        Explanation {
            origin,
            version: secret.and_then(|s| s.dates.version).map(|v| v.to_string()),
            overrides: secret.map_or(Vec::new(), |s| {
                s.shadowed.iter().rev().map(Origin::to_string).collect()
            }),
            kept_over: secret.is_some() && var.is_some_and(|v| v.origin == Origin::Parent),
            masked: var.map(|v| v.shown()),
            kind: self.kind(),
            rules: rules(spec, self.rules.require.iter().any(|r| r == name)),
            delivered: self.delivery(),
            age: self.report.rotation.get(name).map(|age| {
                age.age.map_or(
                    "unknown (its source records no date)".to_owned(),
                    show_coarse,
                )
            }),
            ok: errors.is_empty() && present,
            errors,
            warnings: self
                .report
                .warnings
                .iter()
                .filter(mine)
                .map(message)
                .collect(),
        }
    }

    fn write_text(&self, e: &Explanation, out: &mut impl Write) -> io::Result<()> {
        writeln!(out, "{}", Escaped(self.name))?;
        let mut row = |label: &str, text: &str| writeln!(out, "  {label:<10} {text}");
        match &e.version {
            Some(v) => row(
                "origin",
                &format!(
                    "{}, version {v} (the last source that defines it wins)",
                    e.origin
                ),
            )?,
            None if self.secrets.get(self.name).is_some() => row(
                "origin",
                &format!("{} (the last source that defines it wins)", e.origin),
            )?,
            None => row("origin", &e.origin)?,
        }
        for earlier in &e.overrides {
            row("overrides", earlier)?;
        }
        if e.kept_over {
            row("kept", "the parent's value wins over the sources' (--keep)")?;
        }
        if let Some(masked) = &e.masked {
            row("value", masked)?;
        }
        row("kind", &e.kind)?;
        match e.rules.is_empty() {
            true => row("rules", "none")?,
            false => row("rules", &e.rules.join("; "))?,
        }
        row("delivered", &e.delivered)?;
        if let Some(age) = &e.age {
            row("age", age)?;
        }
        for error in &e.errors {
            row("error", error)?;
        }
        for warning in &e.warnings {
            row("warning", warning)?;
        }
        if e.ok {
            row("verdict", "ok")?;
        }
        Ok(())
    }

    fn to_json(&self, e: &Explanation) -> Value {
        let detected = self.report.detected.get(self.name).map(|d| {
            json!({
                "provider": d.provider.to_string(),
                "kind": d.kind.to_string(),
                "mode": d.mode.map(|m| m.to_string()),
            })
        });
        json!({
            "name": self.name,
            "origin": e.origin,
            "version": e.version,
            "overrides": e.overrides,
            "kept_from_parent": e.kept_over,
            "masked": e.masked,
            "detected": detected,
            "expect": self.rules.expect.map(|m| m.to_string()),
            "rules": e.rules,
            "delivered": e.delivered,
            "age": e.age,
            "errors": e.errors,
            "warnings": e.warnings,
            "ok": e.ok,
        })
    }

    /// What the detectors make of it, and the mode expected.
    fn kind(&self) -> String {
        let expected = self
            .rules
            .expect
            .map(|m| format!("; {m} keys expected"))
            .unwrap_or_default();
        match self.report.detected.get(self.name) {
            Some(d) => match d.mode {
                Some(mode) => format!("{} {} ({mode}){expected}", d.provider, d.kind),
                None => format!("{} {}{expected}", d.provider, d.kind),
            },
            None => format!("no known key shape{expected}"),
        }
    }

    /// In the environment, or as a file (and which variable holds its path).
    fn delivery(&self) -> String {
        let as_file = self
            .files
            .iter()
            .find(|f| f.name == self.name && f.template.is_none());
        let mut text = match as_file {
            Some(f) if f.var == f.name => {
                "as a file in memory; the variable holds its path".to_owned()
            }
            Some(f) => format!(
                "as a file in memory; `{}` holds its path, and it is not in the environment",
                f.var
            ),
            None => "in the environment".to_owned(),
        };
        for template in self
            .files
            .iter()
            .filter(|f| f.template.as_ref().is_some_and(|t| t.uses(&[self.name])))
        {
            text.push_str(&format!("; and in the file [files.{}]", template.var));
        }
        text
    }
}

/// The rules of `[vars.NAME]` (and `--require`), as words.
fn rules(spec: Option<&VarSpec>, required: bool) -> Vec<String> {
    let mut rules = Vec::new();
    if required || spec.is_some_and(|s| s.required) {
        rules.push("required".to_owned());
    }
    let Some(spec) = spec else {
        return rules;
    };
    if let Some(format) = &spec.format {
        rules.push(format!("format {}", format.name()));
    }
    if spec.pattern.is_some() {
        rules.push("a pattern".to_owned());
    }
    if let Some(values) = &spec.one_of {
        rules.push(format!("one of {} values", values.len()));
    }
    for (what, bound) in [("at least", spec.min), ("at most", spec.max)] {
        if let Some(bound) = bound {
            rules.push(format!("{what} {bound}"));
        }
    }
    if let Some(length) = spec.min_length {
        rules.push(format!("at least {length} characters"));
    }
    if spec.allow_empty {
        rules.push("may be empty".to_owned());
    }
    if let Some(age) = spec.max_age {
        rules.push(format!("at most {} old", show_coarse(age.as_secs())));
    }
    rules
}
