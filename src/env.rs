//! The child's environment: the secrets, a small baseline of non-secret plumbing from
//! the parent, and what `--keep` names. Nothing else of the parent passes, and the
//! credentials secretrun itself uses to fetch never pass unless kept by exact name.

use std::ffi::{OsStr, OsString};

use crate::names::{glob_match, is_protected};
use crate::secret::{Dates, Origin, SecretSet, SecretValue};

/// Parent variables every child gets unless `--pure`: plumbing, not secrets.
pub const BASELINE: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "LC_*", "TZ", "TMPDIR",
];

/// A value in the child's environment.
pub enum VarValue<'a> {
    Secret(&'a SecretValue),
    /// Kept from the parent by `--keep`: may be anything.
    Parent(OsString),
    /// The parent's plumbing ([`BASELINE`]): not a secret.
    Baseline(OsString),
    /// The path of a file holding a secret (`--file`): not a secret itself.
    File(OsString),
}

impl VarValue<'_> {
    pub fn as_os_str(&self) -> &OsStr {
        match self {
            VarValue::Secret(secret) => OsStr::new(secret.expose()),
            VarValue::Parent(value) | VarValue::Baseline(value) | VarValue::File(value) => value,
        }
    }

    /// The masked form; parent values are masked too, since `--keep` may name a secret.
    pub fn masked(&self) -> String {
        match self {
            VarValue::Secret(secret) => secret.masked(),
            VarValue::Parent(value) | VarValue::Baseline(value) => {
                crate::secret::mask(&value.to_string_lossy())
            }
            VarValue::File(path) => path.to_string_lossy().into_owned(),
        }
    }
}

/// One variable of the child's environment.
pub struct Var<'a> {
    pub name: String,
    pub value: VarValue<'a>,
    pub origin: Origin,
    /// What the store recorded of the value's life (nothing for a parent variable).
    pub dates: Dates,
    /// The schema marks it `secret = false`.
    pub not_secret: bool,
}

impl Var<'_> {
    /// The value as `list`, `check` and `explain` show it: in clear when it is
    /// provably not a secret ([`crate::secrecy::shown_in_clear`]), else masked.
    pub fn shown(&self) -> String {
        match &self.value {
            VarValue::File(path) => path.to_string_lossy().into_owned(),
            value if self.in_clear() => {
                crate::escape::Escaped(&value.as_os_str().to_string_lossy()).to_string()
            }
            value => value.masked(),
        }
    }

    /// Whether [`Var::shown`] shows it in clear: a value provably not a secret (a
    /// file's path is shown as it is, but is no value).
    pub fn in_clear(&self) -> bool {
        if let VarValue::File(_) = self.value {
            return false;
        }
        let plumbing = matches!(self.value, VarValue::Baseline(_));
        let text = self.value.as_os_str().to_string_lossy();
        crate::secrecy::shown_in_clear(&self.name, &text, plumbing, self.not_secret)
    }
}

/// The whole environment the child will get, sorted by name.
pub struct ChildEnv<'a> {
    pub vars: Vec<Var<'a>>,
}

impl<'a> ChildEnv<'a> {
    /// Builds the environment. Precedence, lowest first: the baseline, the secrets,
    /// then variables named by `--keep` that the parent has (so `--keep PORT` takes
    /// the platform's PORT over a development `.env`).
    pub fn build(
        secrets: &'a SecretSet,
        parent: &[(OsString, OsString)],
        keep: &[String],
        pure: bool,
    ) -> ChildEnv<'a> {
        let mut baseline = Vec::new();
        let mut kept = Vec::new();
        for (name, value) in parent {
            // A name that is not UTF-8 cannot match any pattern we accept.
            let Some(name) = name.to_str() else {
                continue;
            };
            // Only what the child gets is copied: most of the parent's is not.
            let var = |name: &str, value: VarValue<'a>| Var {
                name: name.to_owned(),
                value,
                origin: Origin::Parent,
                dates: Dates::default(),
                not_secret: false,
            };
            if keep.iter().any(|pattern| keeps(pattern, name)) {
                kept.push(var(name, VarValue::Parent(value.clone())));
            } else if !pure && BASELINE.iter().any(|pattern| glob_match(pattern, name)) {
                baseline.push(var(name, VarValue::Baseline(value.clone())));
            }
        }

        let mut vars: Vec<Var<'a>> = baseline
            .into_iter()
            .filter(|var| secrets.get(&var.name).is_none())
            .collect();
        for (name, secret) in secrets.iter() {
            if kept.iter().all(|var| var.name != name) {
                vars.push(Var {
                    name: name.to_owned(),
                    value: VarValue::Secret(&secret.value),
                    origin: secret.origin.clone(),
                    dates: secret.dates,
                    not_secret: false,
                });
            }
        }
        vars.extend(kept);
        vars.sort_by(|a, b| a.name.cmp(&b.name));
        ChildEnv { vars }
    }

    pub fn get(&self, name: &str) -> Option<&Var<'a>> {
        self.vars.iter().find(|var| var.name == name)
    }
}

/// Whether `--keep pattern` passes the parent's `name`.
fn keeps(pattern: &str, name: &str) -> bool {
    if is_protected(name) {
        return pattern == name;
    }
    glob_match(pattern, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parent(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs.iter().map(|(n, v)| (n.into(), v.into())).collect()
    }

    fn names(env: &ChildEnv) -> Vec<String> {
        env.vars.iter().map(|v| v.name.clone()).collect()
    }

    #[test]
    fn baseline_keep_and_protected() {
        let secrets = SecretSet::new();
        let parent = parent(&[
            ("PATH", "/bin"),
            ("LC_ALL", "C"),
            ("UNRELATED", "x"),
            ("PORT", "1"),
            ("VAULT_TOKEN", "t"),
            ("AWS_SECRET_ACCESS_KEY", "k"),
            ("AWS_REGION", "r"),
        ]);
        let keep = [
            "PORT".to_owned(),
            "AWS_*".to_owned(),
            "*TOKEN".to_owned(),
            "AWS_REGION".to_owned(),
        ];
        let env = ChildEnv::build(&secrets, &parent, &keep, false);
        assert_eq!(names(&env), ["AWS_REGION", "LC_ALL", "PATH", "PORT"]);
        let env = ChildEnv::build(&secrets, &parent, &[], true);
        assert!(env.vars.is_empty());
    }

    #[test]
    fn precedence() {
        let mut secrets = SecretSet::new();
        for name in ["PATH", "PORT", "API"] {
            secrets.insert(
                name.into(),
                SecretValue::new(format!("secret-{name}")),
                Origin::Parent,
            );
        }
        let parent = parent(&[("PATH", "/bin"), ("PORT", "1")]);
        let env = ChildEnv::build(&secrets, &parent, &["PORT".into(), "API".into()], false);
        let value = |n: &str| env.get(n).unwrap().value.as_os_str().to_owned();
        assert_eq!(value("PATH"), "secret-PATH");
        assert_eq!(value("PORT"), "1");
        // Kept but absent from the parent: the secret stays.
        assert_eq!(value("API"), "secret-API");
    }
}
