//! The parent's environment as secretrun reads it: one snapshot, taken at start,
//! never the process's own environment afterwards. A leaf: the stores, the files'
//! readers and the child's environment all read the parent through it.

use std::ffi::OsString;

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
