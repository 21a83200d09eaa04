//! The parent's environment as secretrun reads it: one snapshot, taken at start,
//! never the process's own environment afterwards. A leaf: the stores, the files'
//! readers and the child's environment all read the parent through it.

use std::ffi::{OsStr, OsString};

/// The snapshot: every variable of the parent's environment, taken once, before the
/// configuration is read. secretrun never changes its own environment afterwards.
pub struct Parent(Vec<(OsString, OsString)>);

impl Parent {
    pub fn snapshot() -> Parent {
        Parent(std::env::vars_os().collect())
    }

    /// A parent of these variables (tests; a launch takes the snapshot).
    pub fn of(vars: Vec<(OsString, OsString)>) -> Parent {
        Parent(vars)
    }

    /// A variable as the parent set it, set and not empty.
    pub fn var_os(&self, name: &str) -> Option<&OsStr> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_os_str())
            .filter(|v| !v.is_empty())
    }

    /// A variable as UTF-8 text (see [`var`]).
    pub fn var(&self, name: &str) -> Option<String> {
        var(&self.0, name)
    }

    pub fn into_vars(self) -> Vec<(OsString, OsString)> {
        self.0
    }
}

/// The parent's environment, by name, as UTF-8 text (a value that is not UTF-8 reads
/// as unset).
pub type ParentEnv<'a> = &'a dyn Fn(&str) -> Option<String>;

/// A variable of the snapshot, as UTF-8 text.
pub fn var(parent: &[(OsString, OsString)], name: &str) -> Option<String> {
    parent
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.to_str())
        .map(str::to_owned)
}
