//! One conformance suite for every secret store (STYLE.md §9): the same cases run
//! against each backend, each a real server on loopback. A backend says how to store
//! a secret, how to name it as a source, and how to point secretrun at the server
//! with good, denied or unreachable credentials.

use serde_json::{Value, json};

use crate::util::{CANARY, Test};

pub trait Backend {
    /// Stores a JSON object secret under a name unique to the calling test.
    fn put(&self, name: &str, data: Value);
    /// The source string for that secret (`vault://…`, `aws-sm://…`).
    fn source(&self, name: &str) -> String;
    /// Points secretrun at the server with credentials that may read.
    fn allowed(&self, test: Test) -> Test;
    /// Credentials the server refuses.
    fn denied(&self, test: Test) -> Test;
    /// An address where nothing answers.
    fn unreachable(&self, test: Test) -> Test;
    /// The credential names and values secretrun gets, which must not reach the child.
    fn credentials(&self) -> Vec<(String, String)>;
    /// Whether a read tells when the value was written (Google's access answer
    /// does not: its age is unknown, and must be shown so, never guessed).
    fn records_creation(&self) -> bool {
        true
    }
}

/// Runs every case against a backend. `tag` keeps the secret names of one backend's
/// run apart from another's.
pub fn run_all(backend: &dyn Backend, tag: &str) {
    plain_value(backend, tag);
    json_object(backend, tag);
    missing_key(backend, tag);
    implied_key(backend, tag);
    missing_secret(backend, tag);
    denied(backend, tag);
    unreachable(backend, tag);
    if backend.records_creation() {
        rotation(backend, tag);
    } else {
        no_recorded_age(backend, tag);
    }
}

/// A store that records no creation time: the age is `unknown`, a `max_age` rule
/// neither warns nor fails, even `--strict`.
fn no_recorded_age(b: &dyn Backend, tag: &str) {
    let name = format!("{tag}-ageless");
    b.put(&name, json!({ "password": CANARY }));
    let dotenv = format!("ROT_PW={}#password\n", b.source(&name));
    let run = b
        .allowed(
            Test::new()
                .file(".env", &dotenv)
                .file("secretrun.toml", "[vars.ROT_PW]\nmax_age = \"1s\"\n"),
        )
        .args(["check", "--pure", "--strict", "--format", "json"])
        .run();
    run.success().no_canary();
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["rotation"]["unknown"], json!(["ROT_PW"]));
    assert_eq!(doc["variables"][0]["rotation"]["created"], Value::Null);
}

/// Seconds since the epoch of an RFC 3339 time in UTC, by `date` (coreutils).
fn epoch(rfc3339: &str) -> i64 {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", rfc3339, "+%s"])
        .output()
        .unwrap();
    assert!(out.status.success(), "date -d {rfc3339}");
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// The store's record of when a value was written reaches `check` and `list`, and
/// a `max_age` below the value's age warns at launch, refuses with `--strict`.
fn rotation(b: &dyn Backend, tag: &str) {
    let name = format!("{tag}-rotation");
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    b.put(&name, json!({ "password": CANARY }));
    let source = b.source(&name);
    let dotenv = format!("ROT_PW={source}#password\nLOCAL=x\n");
    let config = |rules: &str| format!("[vars.ROT_PW]\nmax_age = \"1h\"\n{rules}");
    let run = b
        .allowed(
            Test::new()
                .file(".env", &dotenv)
                .file("secretrun.toml", config("")),
        )
        .args(["check", "--pure", "--format", "json"])
        .run();
    run.success().no_canary();
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let var = |n: &str| {
        doc["variables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == n)
            .unwrap()
            .clone()
    };
    let rot = var("ROT_PW")["rotation"].clone();
    let created = epoch(rot["created"].as_str().unwrap());
    assert!(
        (before - 120..=before + 120).contains(&created),
        "created {created}, written about {before}"
    );
    assert_eq!(rot["age_days"], 0);
    assert_eq!(rot["max_age_days"], 0, "1h is 0 whole days");
    assert_eq!(rot["state"], "ok");
    assert_eq!(
        var("LOCAL")["rotation"]["state"],
        "unknown",
        "a dotenv value"
    );
    assert_eq!(doc["rotation"]["unknown"], json!(["LOCAL"]));
    assert_eq!(doc["rotation"]["overdue"], json!([]));
    let list = b
        .allowed(Test::new().file(".env", &dotenv))
        .args(["list", "--pure", "--format", "json"])
        .run();
    list.success().no_canary();
    assert!(
        list.stdout.contains(rot["created"].as_str().unwrap()),
        "list shows the timestamp"
    );

    // Older than its max_age: a warning at launch, an error with --strict. The
    // clock must pass the second: launches are tried until the warning comes (the
    // store's timestamp may be of the whole second), within a limit.
    let overdue = config("").replace("1h", "1s");
    let limit = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let run = loop {
        let run = b
            .allowed(
                Test::new()
                    .file(".env", &dotenv)
                    .file("secretrun.toml", &overdue),
            )
            .args(["--pure", "--", "echo", "RAN"])
            .run();
        if run.stderr.contains("over its max_age") || std::time::Instant::now() > limit {
            break run;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    run.success()
        .no_canary()
        .stderr_has("warning: `ROT_PW` was written ");
    assert_eq!(run.stdout, "RAN\n");
    assert!(
        run.stderr.contains("over its max_age of 1s: rotate it"),
        "{}",
        run.stderr
    );
    b.allowed(
        Test::new()
            .file(".env", &dotenv)
            .file("secretrun.toml", &overdue),
    )
    .args(["check", "--pure", "--strict"])
    .run()
    .status(65)
    .no_canary()
    .stderr_is("");
    let strict = format!("[rotation]\nstrict = true\n{overdue}");
    let run = b
        .allowed(
            Test::new()
                .file(".env", &dotenv)
                .file("secretrun.toml", &strict),
        )
        .args(["--pure", "--", "echo", "RAN"])
        .run();
    run.status(65)
        .no_canary()
        .stderr_has("over its max_age of 1s");
    assert_eq!(run.stdout, "", "the command did not run");
    // A default for every variable, in the text report.
    let run = b
        .allowed(
            Test::new()
                .file(".env", &dotenv)
                .file("secretrun.toml", "[rotation]\nmax_age = \"1s\"\n"),
        )
        .args(["check", "--pure"])
        .run();
    run.success().no_canary();
    // The table's header, after the `config:` line and a blank one.
    let header = run.stdout.lines().nth(2).unwrap();
    assert!(header.contains(" AGE "), "{header}");
    let local = run
        .stdout
        .lines()
        .find(|l| l.starts_with("LOCAL "))
        .unwrap();
    assert!(local.contains(" unknown "), "{local}");
    let rotated = run
        .stdout
        .lines()
        .find(|l| l.starts_with("ROT_PW "))
        .unwrap();
    let seconds = |t: &str| {
        t.strip_suffix('s')
            .is_some_and(|n| n.parse::<u64>().is_ok_and(|n| n >= 2))
    };
    assert!(
        rotated.split_whitespace().any(seconds),
        "an age in seconds: {rotated}"
    );
    assert!(rotated.ends_with("warning"), "{rotated}");
}

fn plain_value(b: &dyn Backend, tag: &str) {
    let name = format!("{tag}-plain");
    b.put(&name, json!({ "password": CANARY }));
    let source = b.source(&name);
    let run = b
        .allowed(Test::new().file(".env", format!("DB_PASSWORD={source}#password\n")))
        .args(["--pure", "--", "env", "-0"])
        .run();
    run.success();
    assert_eq!(
        run.env0()["DB_PASSWORD"],
        CANARY,
        "reference in a dotenv file"
    );
    let run = b
        .allowed(Test::new())
        .args([
            "--pure",
            "--from",
            &format!("{source}#password?as=PW"),
            "--",
            "env",
            "-0",
        ])
        .run();
    run.success();
    let env = run.env0();
    assert_eq!(env.len(), 1, "the child gets the secret and nothing else");
    assert_eq!(env["PW"], CANARY);
}

fn json_object(b: &dyn Backend, tag: &str) {
    let name = format!("{tag}-object");
    b.put(
        &name,
        json!({ "API_KEY": "abc", "RETRIES": 3, "ENABLED": true }),
    );
    let test = b.allowed(Test::new());
    let mut test = test.args(["--from", &format!("{}?prefix=APP_", b.source(&name))]);
    for (cred, _) in b.credentials() {
        // Kept by glob, credentials still must not pass.
        test = test.args(["--keep", &format!("{}*", &cred[..4])]);
    }
    let run = test.args(["--", "env", "-0"]).run();
    run.success();
    let env = run.env0();
    assert_eq!(env["APP_API_KEY"], "abc");
    assert_eq!(env["APP_RETRIES"], "3");
    assert_eq!(env["APP_ENABLED"], "true");
    for (cred, value) in b.credentials() {
        assert!(!env.contains_key(&cred), "{cred} reached the child");
        assert!(
            !run.stdout.contains(&value),
            "a credential value reached the child"
        );
    }
}

fn missing_key(b: &dyn Backend, tag: &str) {
    let name = format!("{tag}-nokey");
    b.put(&name, json!({ "present": CANARY }));
    let source = b.source(&name);
    b.allowed(Test::new())
        .args(["--from", &format!("{source}#absent"), "--", "echo", "RAN"])
        .run()
        .status(78)
        .no_canary()
        .stdout_is("")
        .stderr_is(&format!("error: `{source}#absent` has no key `absent`\n"));
}

/// `API_TOKEN=REF` in a dotenv file, without `#KEY`: the key named as the variable,
/// else the only key there is; a secret of several keys, none of that name, is an
/// error that says to pick one.
fn implied_key(b: &dyn Backend, tag: &str) {
    let (named, only, several) = (
        format!("{tag}-named"),
        format!("{tag}-only"),
        format!("{tag}-several"),
    );
    b.put(&named, json!({ "API_TOKEN": "by-name", "OTHER": "x" }));
    b.put(&only, json!({ "value": "the-only-one" }));
    b.put(&several, json!({ "a": CANARY, "b": CANARY }));
    let dotenv = format!("API_TOKEN={}\nSOLE={}\n", b.source(&named), b.source(&only));
    let run = b
        .allowed(Test::new().file(".env", dotenv))
        .args(["--pure", "--", "env", "-0"])
        .run();
    run.success();
    let env = run.env0();
    assert_eq!(
        (&env["API_TOKEN"][..], &env["SOLE"][..]),
        ("by-name", "the-only-one")
    );
    b.allowed(Test::new().file(".env", format!("PICK={}\n", b.source(&several))))
        .args(["--", "echo", "RAN"])
        .run()
        .status(78)
        .no_canary()
        .stdout_is("")
        .stderr_has("holds 2 keys and none is `PICK`: pick one with `#KEY`");
}

fn missing_secret(b: &dyn Backend, tag: &str) {
    let source = b.source(&format!("{tag}-never-written"));
    let run = b
        .allowed(Test::new())
        .args(["--from", &source, "--", "echo", "RAN"])
        .run();
    run.status(78)
        .no_canary()
        .stdout_is("")
        .stderr_has(&format!("`{source}`"))
        .stderr_has("not found");
}

fn denied(b: &dyn Backend, tag: &str) {
    let name = format!("{tag}-denied");
    b.put(&name, json!({ "K": CANARY }));
    let source = b.source(&name);
    let run = b
        .denied(Test::new())
        .args(["--from", &source, "--", "echo", "RAN"])
        .run();
    run.status(77)
        .no_canary()
        .stdout_is("")
        .stderr_has(&format!("`{source}`"))
        .stderr_has("refused access");
}

fn unreachable(b: &dyn Backend, tag: &str) {
    let source = b.source(&format!("{tag}-anything"));
    let started = std::time::Instant::now();
    let run = b
        .unreachable(Test::new())
        .args(["--timeout", "3s", "--from", &source, "--", "echo", "RAN"])
        .run();
    run.status(69).no_canary().stdout_is("");
    // The message names what was read and where: the reference and the address
    // (every unreachable endpoint here is a closed loopback port).
    run.stderr_has(&source).stderr_has("127.0.0.1:");
    // Well under what a client without the deadline would wait, loose enough for
    // a loaded machine.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(13),
        "took {:?}",
        started.elapsed()
    );
}
