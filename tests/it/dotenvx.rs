//! dotenvx's encrypted files, made by the real `dotenvx encrypt` (npm
//! `@dotenvx/dotenvx`, installed by scripts/test): secretrun gives the command what
//! `dotenvx run` gives, for every variable, and fails closed where dotenvx would.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::{PATH, Test};

/// The dotenvx CLI of ./.node, where scripts/test installs it. Missing is a failure.
fn dotenvx() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".node/node_modules/.bin/dotenvx");
    assert!(
        path.is_file(),
        "dotenvx is missing: run scripts/test, which installs it into .node"
    );
    path
}

/// `dotenvx ARGS` in `dir`, with a clean environment plus `env`; its stdout.
fn run_dotenvx(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Vec<u8> {
    let out = Command::new(dotenvx())
        .args(args)
        .env_clear()
        .env("PATH", PATH)
        .env("HOME", dir)
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dotenvx {args:?} failed: {}",
        crate::util::redact(&String::from_utf8_lossy(&out.stderr))
    );
    out.stdout
}

fn env0(bytes: &[u8]) -> BTreeMap<String, String> {
    String::from_utf8_lossy(bytes)
        .split('\0')
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.split_once('=').map(|(n, v)| (n.to_owned(), v.to_owned())))
        .collect()
}

const DEVELOPMENT: &str = "# the app\nSTRIPE_SECRET_KEY=sk_test_CANARY4d5e6f7a8b9c0d1e2f3a4b5c\nNAME=\"two words\"\nGREETING=hello-${NAME}\nQUOTED='single $NAME'\nEMPTY=\nDATABASE_URL=\"postgres://app:p%40ss@db:5432/app?sslmode=require\"\n";
const PRODUCTION: &str =
    "STRIPE_SECRET_KEY=sk_live_CANARY9f8e7d6c5b4a3f2e1d0c9b8a\nREGION=eu-west-1\n";

/// What both tools give the command: every variable dotenvx sets but the PATH and
/// HOME it was given, compared without printing a value.
#[track_caller]
fn assert_same(
    dotenvx: &BTreeMap<String, String>,
    ours: &BTreeMap<String, String>,
    expect: &[&str],
) {
    let names: Vec<&String> = dotenvx
        .keys()
        .filter(|n| *n != "PATH" && *n != "HOME")
        .collect();
    assert_eq!(names, expect, "dotenvx set other names");
    for name in names {
        assert!(
            ours.get(name) == dotenvx.get(name),
            "`{name}` differs from what dotenvx run gives"
        );
    }
}

#[test]
fn secretrun_gives_what_dotenvx_run_gives() {
    let test = Test::new()
        .file(".env", DEVELOPMENT)
        .file(".env.production", PRODUCTION);
    let dir = test.dir().to_path_buf();
    run_dotenvx(&dir, &["encrypt"], &[]);
    run_dotenvx(&dir, &["encrypt", "-f", ".env.production"], &[]);
    let sealed = std::fs::read_to_string(dir.join(".env")).unwrap();
    assert!(
        !sealed.contains("CANARY") && sealed.contains("encrypted:"),
        "dotenvx did not encrypt"
    );
    let development = env0(&run_dotenvx(&dir, &["run", "--", "env", "-0"], &[]));
    let run = Test::new()
        .file(".env", &sealed)
        .file(".env.keys", std::fs::read(dir.join(".env.keys")).unwrap())
        .args(["--", "env", "-0"])
        .run();
    run.success();
    let names = [
        "DATABASE_URL",
        "DOTENV_PUBLIC_KEY",
        "EMPTY",
        "GREETING",
        "NAME",
        "QUOTED",
        "STRIPE_SECRET_KEY",
    ];
    assert_same(&development, &run.env0(), &names);
    // .env.production, its key from the environment as on a server (no .env.keys).
    let keys = std::fs::read_to_string(dir.join(".env.keys")).unwrap();
    let key = keys
        .lines()
        .find_map(|l| l.strip_prefix("DOTENV_PRIVATE_KEY_PRODUCTION="))
        .unwrap()
        .trim_matches('"')
        .to_owned();
    let production = env0(&run_dotenvx(
        &dir,
        &["run", "-f", ".env.production", "--", "env", "-0"],
        &[],
    ));
    let run = Test::new()
        .file(
            ".env.production",
            std::fs::read(dir.join(".env.production")).unwrap(),
        )
        .env("DOTENV_PRIVATE_KEY_PRODUCTION", &key)
        .args([
            "--keep",
            "*",
            "--from",
            ".env.production",
            "--",
            "env",
            "-0",
        ])
        .run();
    run.success();
    let ours = run.env0();
    assert_same(
        &production,
        &ours,
        &[
            "DOTENV_PUBLIC_KEY_PRODUCTION",
            "REGION",
            "STRIPE_SECRET_KEY",
        ],
    );
    assert!(
        !ours.contains_key("DOTENV_PRIVATE_KEY_PRODUCTION"),
        "the private key reached the command"
    );
    // `check` says which values were encrypted at rest.
    let check = Test::new()
        .file(".env", &sealed)
        .file(".env.keys", keys.as_bytes())
        .args(["check", "--format", "json"])
        .run();
    check.success().no_canary();
    let doc: serde_json::Value = serde_json::from_str(&check.stdout).unwrap();
    let at_rest = |name: &str| {
        doc["variables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .map(|v| v["at_rest"].clone())
    };
    assert_eq!(at_rest("NAME"), Some("dotenvx".into()));
    assert_eq!(at_rest("DOTENV_PUBLIC_KEY"), Some("plain".into()));
    assert_eq!(at_rest("PATH"), Some(serde_json::Value::Null));
}

#[test]
fn a_missing_wrong_or_altered_key_fails_closed_naming_the_variable() {
    let test = Test::new().file(".env", DEVELOPMENT);
    let dir = test.dir().to_path_buf();
    run_dotenvx(&dir, &["encrypt"], &[]);
    let sealed = std::fs::read_to_string(dir.join(".env")).unwrap();
    let keys = std::fs::read(dir.join(".env.keys")).unwrap();
    let other = "cacb2a349fcacb7a9c277b25b485141216867f1c23b02f5d8ad7f313168c83ec";
    // One character of NAME's cipher text changed.
    let line = sealed.lines().find(|l| l.starts_with("NAME=")).unwrap();
    let at = line.len() - 8;
    let swapped = if &line[at..=at] == "A" { "B" } else { "A" };
    let altered_line = format!("{}{swapped}{}", &line[..at], &line[at + 1..]);
    let altered = sealed.replace(line, &altered_line);
    struct Case<'a> {
        what: &'a str,
        file: String,
        keys_file: Option<&'a [u8]>,
        key: Option<&'a str>,
        code: i32,
        says: &'a str,
    }
    let cases = [
        Case {
            what: "no key",
            file: sealed.clone(),
            keys_file: None,
            key: None,
            code: 78,
            says: "`STRIPE_SECRET_KEY` is dotenvx-encrypted and no private key was found",
        },
        Case {
            what: "another file's key",
            file: sealed.clone(),
            keys_file: None,
            key: Some(other),
            code: 78,
            says: "for its DOTENV_PUBLIC_KEY",
        },
        Case {
            what: "altered",
            file: altered,
            keys_file: Some(&keys),
            key: None,
            code: 65,
            says: "`NAME` does not decrypt",
        },
    ];
    for Case {
        what,
        file,
        keys_file,
        key,
        code,
        says,
    } in cases
    {
        let mut test = Test::new().file(".env", &file);
        if let Some(k) = keys_file {
            test = test.file(".env.keys", k);
        }
        if let Some(k) = key {
            test = test.env("DOTENV_PRIVATE_KEY", k);
        }
        let run = test.args(["--", "sh", "-c", "echo ran"]).run();
        assert_eq!(
            run.status,
            Some(code),
            "{what}: {}",
            crate::util::redact(&run.stderr)
        );
        run.no_canary().stderr_has(says).stderr_has("`.env`");
        assert!(!run.stdout.contains("ran"), "{what}: the command ran");
    }
}

#[test]
fn a_fifo_for_env_keys_is_refused_not_waited_on() {
    let test = Test::new().file(".env", "A=encrypted:AAAA\n");
    let fifo = std::ffi::CString::new(test.dir().join(".env.keys").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let run = test.args(["--", "true"]).run();
    run.status(78).stderr_has("no private key was found");
}
