//! `secretrun explain NAME`: one variable, told whole: every source that defines
//! it (the last wins), whether the parent's value is kept over it, what the
//! detectors make of it against the expected mode, the rules that apply, how the
//! command gets it, how old it is, and what validation says. Never the value: it
//! is masked as `list` masks it.

use std::io::{self, Write};

use crate::deliver::AsFile;
use crate::duration::show_coarse;
use crate::env::ChildEnv;
use crate::escape::Escaped;
use crate::secret::SecretSet;
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

impl Explained<'_> {
    /// Writes the explanation; whether the variable is there and passes.
    pub fn print(&self, out: &mut impl Write) -> io::Result<bool> {
        let name = self.name;
        writeln!(out, "{}", Escaped(name))?;
        let row =
            |out: &mut dyn Write, label: &str, text: &str| writeln!(out, "  {label:<10} {text}");
        let var = self.env.get(name);
        match (self.secrets.get(name), var) {
            (Some(secret), _) => {
                row(
                    out,
                    "origin",
                    &format!("{} (the last source that defines it wins)", secret.origin),
                )?;
                for earlier in secret.shadowed.iter().rev() {
                    row(out, "overrides", &earlier.to_string())?;
                }
            }
            (None, Some(_)) => row(out, "origin", "kept from the parent")?,
            (None, None) => row(
                out,
                "origin",
                "no source defines it, and the parent's is not kept",
            )?,
        }
        if let (Some(_), Some(var)) = (self.secrets.get(name), var)
            && var.origin == crate::secret::Origin::Parent
        {
            row(
                out,
                "kept",
                "the parent's value wins over the sources' (--keep)",
            )?;
        }
        if let Some(var) = var {
            row(out, "value", &var.value.masked())?;
        }
        self.kind(out)?;
        let spec = self.rules.vars.get(name);
        let rules = rules(spec, self.rules.require.iter().any(|r| r == name));
        row(
            out,
            "rules",
            &if rules.is_empty() {
                "none".to_owned()
            } else {
                rules.join("; ")
            },
        )?;
        row(out, "delivered", &self.delivery())?;
        if let Some(age) = self.report.rotation.get(name) {
            let shown = age.age.map_or(
                "unknown (its source records no date)".to_owned(),
                show_coarse,
            );
            row(out, "age", &shown)?;
        }
        let mine = |f: &&crate::validate::Finding| f.names.iter().any(|n| n == name);
        let errors: Vec<_> = self.report.errors.iter().filter(mine).collect();
        for finding in &errors {
            row(out, "error", &finding.message)?;
        }
        for finding in self.report.warnings.iter().filter(mine) {
            row(out, "warning", &finding.message)?;
        }
        let present = var.is_some() || self.files.iter().any(|f| f.name == name);
        if errors.is_empty() && present {
            row(out, "verdict", "ok")?;
        }
        Ok(errors.is_empty() && present)
    }

    /// What the detectors make of it, and the mode expected.
    fn kind(&self, out: &mut dyn Write) -> io::Result<()> {
        let expected = self
            .rules
            .expect
            .map(|m| format!("; {m} keys expected"))
            .unwrap_or_default();
        let text = match self.report.detected.get(self.name) {
            Some(d) => match d.mode {
                Some(mode) => format!("{} {} ({mode}){expected}", d.provider, d.kind),
                None => format!("{} {}{expected}", d.provider, d.kind),
            },
            None => format!("no known key shape{expected}"),
        };
        writeln!(out, "  {:<10} {text}", "kind")
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
        rules.push(format!("format {format:?}"));
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
