//! Which of the names the project's code reads: each source file of the tree, walked
//! as `scan` walks it (`.gitignore` respected, hidden and binary files skipped),
//! searched for the names as whole words. Bounded for the whole walk: at most
//! [`MAX_FILES`] files and [`MAX_BYTES`] bytes read, each file at most
//! [`MAX_FILE`]; what is past the bounds is not read, and the report says so.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

/// Files read at most.
pub const MAX_FILES: usize = 20_000;
/// Bytes read at most, all files together.
pub const MAX_BYTES: u64 = 64 << 20;
/// Bytes read of one file at most.
pub const MAX_FILE: u64 = 1 << 20;

/// Extensions of the files searched: code, templates and deployment files.
const CODE: &[&str] = &[
    "py", "js", "mjs", "cjs", "ts", "tsx", "jsx", "rb", "go", "rs", "java", "kt", "kts", "scala",
    "php", "ex", "exs", "cs", "swift", "sh", "bash", "yml", "yaml", "html", "jinja", "j2", "erb",
    "vue", "svelte", "tf", "ini", "cfg", "conf",
];

/// What the walk found.
#[derive(Debug, Default)]
pub struct Usage {
    /// The names some file mentions.
    pub used: BTreeSet<String>,
    /// Files searched.
    pub files: usize,
    /// Whether a bound stopped the walk early.
    pub cut: bool,
}

/// Searches the code under `root` for `names`.
pub fn find(root: &Path, names: &BTreeSet<String>) -> Usage {
    let mut usage = Usage::default();
    let mut budget = MAX_BYTES;
    let walk = ignore::WalkBuilder::new(root)
        .hidden(true)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build();
    for entry in walk.flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file()) || !is_code(entry.path()) {
            continue;
        }
        if usage.files == MAX_FILES || budget == 0 {
            usage.cut = true;
            break;
        }
        let Ok(file) = std::fs::File::open(entry.path()) else {
            continue;
        };
        let mut bytes = Vec::new();
        let limit = MAX_FILE.min(budget);
        if file.take(limit).read_to_end(&mut bytes).is_err() {
            continue;
        }
        budget -= bytes.len() as u64;
        usage.files += 1;
        for word in words(&bytes) {
            if let Some(name) = names.get(word) {
                usage.used.insert(name.clone());
            }
        }
    }
    usage
}

fn is_code(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if matches!(name, "Dockerfile" | "Procfile" | "Makefile") {
        return true;
    }
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| CODE.contains(&e))
}

/// The identifier-shaped words of a text (`[A-Za-z0-9_]+`), as UTF-8.
fn words(bytes: &[u8]) -> impl Iterator<Item = &str> {
    bytes
        .split(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .filter(|w| !w.is_empty())
        .filter_map(|w| std::str::from_utf8(w).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_found_as_whole_words_in_code_only() {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "app/settings.py",
            "SECRET_KEY = os.environ[\"SECRET_KEY\"]\nX = env('DEBUG')\n",
        );
        write("notes.md", "PORT is documented here\n");
        write("app/other.py", "MY_PORT_NUMBER = 1\n");
        write("ignored/x.py", "PORT\n");
        write(".gitignore", "ignored/\n");
        let names: BTreeSet<String> = ["SECRET_KEY", "DEBUG", "PORT"].map(String::from).into();
        let usage = find(dir.path(), &names);
        assert_eq!(
            usage.used.into_iter().collect::<Vec<_>>(),
            ["DEBUG", "SECRET_KEY"]
        );
        assert_eq!((usage.files, usage.cut), (2, false));
    }
}
