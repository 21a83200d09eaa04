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
}

/// Runs every case against a backend. `tag` keeps the secret names of one backend's
/// run apart from another's.
pub fn run_all(backend: &dyn Backend, tag: &str) {
    plain_value(backend, tag);
    json_object(backend, tag);
    missing_key(backend, tag);
    missing_secret(backend, tag);
    denied(backend, tag);
    unreachable(backend, tag);
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
    // Well under what a client without the deadline would wait, loose enough for
    // a loaded machine.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(13),
        "took {:?}",
        started.elapsed()
    );
}
