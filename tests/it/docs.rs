//! The documentation holds: the environment reference is the table in
//! `src/envvars.rs` and names every variable the code reads; every relative link and
//! anchor resolves; every shell block marked ```` ```sh example ```` runs as written
//! on a copy of `examples/` (a line starting `! ` must fail, any other succeed).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::util::{BIN, PATH, Test, wheel_tool};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Markdown files of the project.
fn documents() -> Vec<PathBuf> {
    let mut all = vec![
        repo().join("README.md"),
        repo().join("CHANGELOG.md"),
        repo().join("bench/README.md"),
        repo().join("python/README.md"),
    ];
    for dir in ["docs", "examples"] {
        for entry in std::fs::read_dir(repo().join(dir)).unwrap().flatten() {
            if entry.path().extension().is_some_and(|e| e == "md") {
                all.push(entry.path());
            }
        }
    }
    all.sort();
    all
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_environment_reference_is_the_tables() {
    let output = std::process::Command::new(BIN)
        .arg("environment")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        read(&repo().join("docs/environment.md")),
        "docs/environment.md is stale: `secretrun environment > docs/environment.md`"
    );
}

/// Every `"NAME"` literal of the code that is a variable of the families secretrun
/// reads (a prefix ending in `_` excepted) is in the reference.
#[test]
fn the_reference_names_every_variable_the_code_reads() {
    let reference = read(&repo().join("docs/environment.md"));
    let documented: BTreeSet<&str> = reference
        .lines()
        .filter_map(|l| l.strip_prefix("| `")?.split('`').next())
        .collect();
    let families = [
        "SECRETRUN_",
        "VAULT_",
        "BAO_",
        "AWS_",
        "AZURE_",
        "IDENTITY_",
        "MSI_",
        "GOOGLE_",
        "GCE_",
        "CLOUDSDK_",
        "DOTENV_",
        "XDG_",
    ];
    // Literals of those families that are not variables: parts of names, filters.
    let not_variables = [
        "AWS_SHARED_CREDENTIALS",
        "AWS_WEB_IDENTITY_TOKEN",
        "DOTENV_PRIVATE_KEY_",
    ];
    let mut missing = BTreeSet::new();
    for file in rust_files(&repo().join("src")) {
        let text = read(&file);
        for literal in text.split('"').skip(1).step_by(2) {
            let is_name = literal.len() > 3
                && literal
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if is_name
                && !literal.ends_with('_')
                && families.iter().any(|f| literal.starts_with(f))
                && !not_variables.contains(&literal)
                && !documented.contains(literal)
            {
                missing.insert(format!("{literal} ({})", file.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "read by the code, not in src/envvars.rs: {missing:#?}"
    );
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut all = crate::util::tree(dir);
    all.retain(|path| path.extension().is_some_and(|e| e == "rs"));
    all
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, and only letters,
/// digits, `-` and `_` kept.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    let mut fenced = false;
    let mut all = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            all.insert(slug(line.trim_start_matches('#')));
        }
    }
    all
}

#[test]
fn every_link_and_anchor_resolves() {
    let mut broken = Vec::new();
    let mut links = 0;
    for doc in documents() {
        let text = read(&doc);
        for part in text.split("](").skip(1) {
            let target = &part[..part.find(')').unwrap_or(part.len())];
            if target.starts_with("http://")
                || target.starts_with("https://")
                || target.starts_with("mailto:")
            {
                continue;
            }
            links += 1;
            let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
            let path = match file.is_empty() {
                true => doc.clone(),
                false => doc.parent().unwrap().join(file),
            };
            if !path.exists() {
                broken.push(format!("{}: {target} (no such file)", doc.display()));
            } else if !anchor.is_empty() && !anchors(&read(&path)).contains(anchor) {
                broken.push(format!("{}: {target} (no such heading)", doc.display()));
            }
        }
    }
    assert!(links > 20, "only {links} links found: is the parser right?");
    assert!(broken.is_empty(), "{broken:#?}");
}

/// The ```` ```sh example ```` blocks of a document.
fn examples(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh example") => current = Some(String::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(block), line) => {
                block.push_str(line);
                block.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

/// A block as a script: each line a command that must succeed, or, after `! `, fail.
/// A trailing comment (two spaces, then `#`) is dropped.
fn script(block: &str) -> String {
    let mut out = String::from("set -u\n");
    for line in block.lines() {
        let line = match line.find("  #") {
            Some(at) => line[..at].trim_end(),
            None => line.trim_end(),
        };
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (expect_failure, command) = match line.strip_prefix("! ") {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let quoted = command.replace('\'', r"'\''");
        match expect_failure {
            true => out.push_str(&format!(
                "if {command}; then echo 'succeeded, and should have failed: {quoted}' >&2; exit 1; fi\n"
            )),
            false => out.push_str(&format!(
                "{command} || {{ echo 'failed: {quoted}' >&2; exit 1; }}\n"
            )),
        }
    }
    out
}

#[test]
fn every_example_runs_as_written() {
    // `secretrun` is this build; `python` the venv with Django and the wheel.
    let bin = Test::new();
    std::os::unix::fs::symlink(BIN, bin.dir().join("secretrun")).unwrap();
    let venv = wheel_tool("python").parent().unwrap().to_owned();
    let path = format!("{}:{}:{PATH}", bin.dir().display(), venv.display());
    let mut ran = 0;
    for doc in documents() {
        for block in examples(&read(&doc)) {
            // A fresh copy of examples/ for each block, as a reader's checkout has it.
            let copy = Test::new();
            let status = std::process::Command::new("cp")
                .arg("-r")
                .arg(repo().join("examples"))
                .arg(copy.dir())
                .status()
                .unwrap();
            assert!(status.success());
            let output = std::process::Command::new("bash")
                .args(["-c", &script(&block)])
                .env_clear()
                .env("PATH", &path)
                .env("HOME", copy.dir())
                .current_dir(copy.dir())
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{}: the example\n{block}\nfailed: {}{}",
                doc.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            ran += 1;
        }
    }
    assert!(ran >= 2, "only {ran} examples found");
}

/// The architecture's module map names every module of `src/`.
#[test]
fn the_module_map_names_every_module() {
    let map = read(&repo().join("docs/architecture.md"));
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(repo().join("src")).unwrap().flatten() {
        let name = entry.file_name().into_string().unwrap();
        let shown = match entry.path().is_dir() {
            true => format!("{name}/"),
            false => name.clone(),
        };
        if !map.contains(&shown) {
            missing.push(shown);
        }
    }
    assert!(
        missing.is_empty(),
        "not in docs/architecture.md: {missing:?}"
    );
}
