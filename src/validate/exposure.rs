//! The founding rule, never commit live keys: a plain dotenv file that holds a live
//! key and that no `.gitignore` (nor `.git/info/exclude`, nor the global excludes
//! file) keeps out of the repository it sits in. `check` warns of it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::{Finding, Report};
use crate::env::ChildEnv;
use crate::escape::os;
use crate::mode::Mode;
use crate::secret::AtRest;
use crate::secret::Origin;

/// A warning for each plain dotenv file with live keys that git would commit.
pub fn exposed(env: &ChildEnv, report: &Report) -> Vec<Finding> {
    let mut by_file: BTreeMap<&Path, Vec<String>> = BTreeMap::new();
    for var in &env.vars {
        let Origin::Dotenv {
            path,
            at_rest: AtRest::Plain,
            ..
        } = &var.origin
        else {
            continue;
        };
        let live = report
            .detected
            .get(&var.name)
            .is_some_and(|d| d.mode == Some(Mode::Live));
        if live {
            by_file.entry(path).or_default().push(var.name.clone());
        }
    }
    by_file
        .into_iter()
        .filter(|(path, _)| committable(path))
        .map(|(path, names)| {
            let shown = os(path.as_os_str());
            Finding {
                message: format!(
                    "`{shown}` holds live keys ({}) in plain text, and no .gitignore keeps it \
                     out of the repository: encrypt it (`secretrun encrypt {shown}`) or ignore it",
                    names.join(", ")
                ),
                names,
            }
        })
        .collect()
}

/// Whether `path` is inside a git work tree and no ignore rule excludes it.
fn committable(path: &Path) -> bool {
    let Ok(path) = std::fs::canonicalize(path) else {
        return false;
    };
    let Some(root) = path.ancestors().skip(1).find(|d| d.join(".git").exists()) else {
        return false;
    };
    // The deepest `.gitignore` with a rule for the path decides, as in git; then the
    // repository's exclude file, then the user's global one.
    let dirs: Vec<PathBuf> = path
        .ancestors()
        .skip(1)
        .take_while(|d| d.starts_with(root))
        .map(Path::to_path_buf)
        .collect();
    let mut matchers: Vec<Gitignore> = dirs
        .iter()
        .filter_map(|dir| one_file(dir, &dir.join(".gitignore")))
        .collect();
    matchers.extend(one_file(
        root,
        &root.join(".git").join("info").join("exclude"),
    ));
    matchers.push(Gitignore::global().0);
    for matcher in &matchers {
        let found = matcher.matched_path_or_any_parents(&path, false);
        if found.is_ignore() {
            return false;
        }
        if found.is_whitelist() {
            return true;
        }
    }
    true
}

fn one_file(dir: &Path, file: &Path) -> Option<Gitignore> {
    if !file.is_file() {
        return None;
    }
    let mut builder = GitignoreBuilder::new(dir);
    builder.add(file);
    builder.build().ok()
}
