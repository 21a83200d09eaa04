//! `[files.NAME] template = "…${A}…${B}…"`: one file assembled from several values
//! (a `.pgpass` line, a JSON credential from fields). `${NAME}` is the value of NAME
//! in the command's environment; every other `$` is itself.

use anyhow::Result;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::env::ChildEnv;
use crate::error::{Failure, Kind, fail};
use crate::escape::Escaped;
use crate::names::is_valid_name;

/// `[files.NAME]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    pub template: String,
}

/// A template, its names checked when the config is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// Literal text and names, in order.
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Name(String),
}

impl Template {
    /// Parses `[files.file] template`; an unclosed `${` or a name that is not a
    /// variable's is an error naming the file.
    pub fn parse(file: &str, text: &str) -> Result<Template> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find("${") {
            let after = &rest[at + 2..];
            let Some(end) = after.find('}') else {
                return fail(
                    Kind::Config,
                    format!("`[files.{file}] template`: a `${{` has no `}}`"),
                );
            };
            let name = &after[..end];
            if !is_valid_name(name) {
                return fail(
                    Kind::Config,
                    format!(
                        "`[files.{file}] template`: `${{{}}}` does not name a variable",
                        Escaped(name)
                    ),
                );
            }
            parts.push(Part::Text(rest[..at].to_owned()));
            parts.push(Part::Name(name.to_owned()));
            rest = &after[end + 1..];
        }
        parts.push(Part::Text(rest.to_owned()));
        Ok(Template { parts })
    }

    /// Whether one of these names is in the template.
    pub fn uses(&self, names: &[&str]) -> bool {
        self.names().any(|n| names.contains(&n))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Name(n) => Some(n.as_str()),
            Part::Text(_) => None,
        })
    }

    /// The file's content from the command's environment. A name it does not hold
    /// is an error (65): the file would be wrong.
    pub fn render(&self, file: &str, env: &ChildEnv) -> Result<Zeroizing<Vec<u8>>, Failure> {
        let mut out = Zeroizing::new(Vec::new());
        for part in &self.parts {
            match part {
                Part::Text(text) => out.extend_from_slice(text.as_bytes()),
                Part::Name(name) => {
                    let Some(var) = env.get(name) else {
                        return Err(Failure::new(
                            Kind::Invalid,
                            format!("`[files.{file}] template` uses `{name}`, which has no value"),
                        ));
                    };
                    out.extend_from_slice(var.value.as_os_str().as_encoded_bytes());
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{Origin, SecretSet, SecretValue};

    #[test]
    fn a_template_puts_values_in_their_places() {
        let t = Template::parse(
            "PGPASSFILE",
            "db:5432:app:${USER_NAME}:${PASSWORD}\n$HOME $",
        )
        .unwrap();
        assert_eq!(t.names().collect::<Vec<_>>(), ["USER_NAME", "PASSWORD"]);
        let mut secrets = SecretSet::new();
        for (n, v) in [("USER_NAME", "app"), ("PASSWORD", "p:w")] {
            secrets.insert(n.into(), SecretValue::new(v.into()), Origin::Parent);
        }
        let env = ChildEnv::build(&secrets, &[], &[], true);
        let rendered = t.render("PGPASSFILE", &env).unwrap();
        assert_eq!(&rendered[..], b"db:5432:app:app:p:w\n$HOME $");
        let missing = Template::parse("F", "${OTHER}").unwrap().render("F", &env);
        assert!(missing.is_err());
        assert!(Template::parse("F", "${OPEN").is_err());
        assert!(Template::parse("F", "${1X}").is_err());
    }
}
