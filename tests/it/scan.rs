//! `secretrun scan` on temporary git repositories: values and shapes, the tree, the
//! index and the history, encodings, what is skipped, the allow-list, the formats.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::bao::{self, ROOT_TOKEN};
use crate::util::{CANARY, Run, Test};

/// A value that is no provider key: found only because it is configured.
const DB_PASSWORD: &str = "pw-CANARY-7Hq2xLm9";

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn repo() -> Test {
    let test = Test::new()
        .file(".env", format!("DB_PASSWORD={DB_PASSWORD}\n"))
        .file(".gitignore", ".env\n");
    git(test.dir(), &["init", "-q", "-b", "main"]);
    test
}

fn commit(test: &Test, message: &str) {
    git(test.dir(), &["add", "-A"]);
    git(test.dir(), &["commit", "-q", "-m", message]);
}

fn write(test: &Test, name: &str, text: &str) {
    let path = test.dir().join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Runs secretrun in the test's directory with these arguments.
fn secretrun(test: &Test, args: &[&str]) -> Run {
    let mut command = test.command();
    command.args(args);
    Run::from(command.output().unwrap())
}

fn scan(test: &Test, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["scan"];
    if !args.contains(&"--format") {
        all.extend(["--format", "json"]);
    }
    all.extend(args);
    let run = secretrun(test, &all);
    run.no_canary();
    let doc: Value = serde_json::from_str(&run.stdout).unwrap_or(Value::Null);
    (run.status.unwrap_or(-1), doc)
}

fn places(doc: &Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}:{} {}",
                f["path"].as_str().unwrap(),
                f["line"],
                f["what"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn a_live_key_committed_two_commits_ago_is_in_the_history() {
    let test = repo();
    write(
        &test,
        "app/settings.py",
        &format!("DEBUG = True\nSTRIPE = \"{CANARY}\"\n"),
    );
    commit(&test, "add the key");
    write(
        &test,
        "app/settings.py",
        "DEBUG = True\nSTRIPE = os.environ[\"STRIPE\"]\n",
    );
    commit(&test, "remove the key");
    write(&test, "README", "nothing\n");
    commit(&test, "docs");
    // The tree is clean now...
    let (code, doc) = scan(&test, &[]);
    assert_eq!((code, doc["findings"].clone()), (0, json!([])));
    // ...the history is not.
    let (code, doc) = scan(&test, &["--history"]);
    assert_eq!(code, 1);
    assert_eq!(places(&doc), ["app/settings.py:2 Stripe secret key (live)"]);
    let sha = String::from_utf8(
        Command::new("git")
            .args(["rev-list", "--max-count=1", "--skip=2", "HEAD"])
            .current_dir(test.dir())
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(
        doc["findings"][0]["commit"].as_str().unwrap(),
        &sha.trim()[..12]
    );
    // The text form names the commit too.
    let run = secretrun(&test, &["scan", "--history"]);
    run.status(1)
        .no_canary()
        .stdout_has(&format!("commit {}", &sha.trim()[..12]));
}

#[test]
fn a_staged_key_is_found_by_staged_only() {
    let test = repo();
    write(&test, "config.py", "X = 1\n");
    commit(&test, "start");
    write(&test, "config.py", &format!("X = 1\nKEY = \"{CANARY}\"\n"));
    git(test.dir(), &["add", "config.py"]);
    // The working copy no longer holds it; the index does.
    write(&test, "config.py", "X = 1\n");
    let (code, _) = scan(&test, &[]);
    assert_eq!(code, 0, "a plain scan of the clean tree");
    let (code, doc) = scan(&test, &["--staged"]);
    assert_eq!(code, 1);
    assert_eq!(places(&doc), ["config.py:2 Stripe secret key (live)"]);
}

#[test]
fn configured_values_in_their_encodings() {
    let test = repo();
    let b64 = "cGFzc3dvcmQ6IHB3LUNBTkFSWS03SHEyeExtOQ=="; // base64 of "password: pw-CANARY-7Hq2xLm9"
    write(&test, "plain.txt", &format!("password = {DB_PASSWORD}\n"));
    write(&test, "k8s.yaml", &format!("data:\n  auth: {b64}\n"));
    write(
        &test,
        "url.txt",
        "postgres://app:pw-CANARY-7Hq2xLm9%21@db/app\n"
            .replace("%21", "")
            .as_str(),
    );
    write(&test, "q.txt", "next=%2Flogin%3Fpw%3Dpw-CANARY-7Hq2xLm9\n");
    let (code, doc) = scan(&test, &[]);
    assert_eq!(code, 1);
    let mut found = places(&doc);
    found.sort();
    assert_eq!(
        found,
        [
            "k8s.yaml:2 DB_PASSWORD (base64)",
            "plain.txt:1 DB_PASSWORD",
            "q.txt:1 DB_PASSWORD",
            "url.txt:1 DB_PASSWORD",
        ]
    );
    // A value with characters that encode differently, found encoded.
    let test = Test::new()
        .file(".env", "API_TOKEN=\"tok CANARY/+&x\"\n")
        .file("a.txt", "t=tok%20CANARY%2F%2B%26x\n")
        .file("b.json", "{\"t\": \"tok CANARY/+&x\"}\n");
    let (_, doc) = scan(&test, &[]);
    let mut found = places(&doc);
    found.sort();
    assert_eq!(
        found,
        ["a.txt:1 API_TOKEN (url-encoded)", "b.json:1 API_TOKEN"]
    );
}

#[test]
fn a_vault_held_value_pasted_into_a_file_is_found() {
    let server = bao::server();
    server.put("scanned", json!({ "db_password": "vault-CANARY-Zq81kPw" }));
    let test = repo().file(
        "settings.py",
        "DATABASES = {'PASSWORD': 'vault-CANARY-Zq81kPw'}\n",
    );
    write(
        &test,
        ".env",
        "DB_PASSWORD=vault://secret/scanned#db_password\n",
    );
    let test = test
        .env("VAULT_ADDR", &server.addr)
        .env("VAULT_TOKEN", ROOT_TOKEN);
    let run = secretrun(&test, &["scan"]);
    run.status(1).no_canary();
    assert!(
        run.stdout
            .starts_with("settings.py:1:27  DB_PASSWORD  …1kPw\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn ignored_hidden_and_binary_files_are_skipped_unless_asked() {
    let test = repo();
    let line = format!("k = \"{CANARY}\"\n");
    write(&test, "build/out.js", &line);
    write(&test, ".gitignore", ".env\nbuild/\n");
    write(&test, ".hidden/conf", &line);
    write(&test, "blob.bin", &format!("\0\0{line}"));
    let (code, doc) = scan(&test, &[]);
    assert_eq!((code, doc["findings"].clone()), (0, json!([])));
    let (_, doc) = scan(&test, &["--hidden", "--binary"]);
    let mut found = places(&doc);
    found.sort();
    assert_eq!(
        found,
        [
            ".hidden/conf:1 Stripe secret key (live)",
            "blob.bin:1 Stripe secret key (live)"
        ]
    );
}

#[test]
fn the_allow_list_and_excluded_paths() {
    let test = repo();
    let line = format!("k = \"{CANARY}\"\n");
    write(&test, "tests/fixtures/keys.py", &line);
    write(&test, "docs/example.md", &line);
    write(&test, "app.py", &line);
    let config = "[scan]\nexclude = [\"tests/fixtures/**\"]\nallow = [\"docs/example.md:1:key:stripe-secret-key\"]\n";
    write(&test, "secretrun.toml", config);
    let (code, doc) = scan(&test, &[]);
    assert_eq!(code, 1);
    assert_eq!(places(&doc), ["app.py:1 Stripe secret key (live)"]);
    assert_eq!(
        doc["findings"][0]["fingerprint"],
        "app.py:1:key:stripe-secret-key"
    );
    write(
        &test,
        "secretrun.toml",
        &format!("{config}allow = []\n").replace("allow = [\"docs", "# [\"docs"),
    );
    let (_, doc) = scan(&test, &[]);
    assert_eq!(
        doc["findings"].as_array().unwrap().len(),
        2,
        "without the allow-list"
    );
}

#[test]
fn shapes_live_before_test_and_no_examples() {
    let test = repo();
    write(
        &test,
        "keys.txt",
        "a = sk_test_4eC39HqLyjWDarjtT1zdp7dcQq\nb = AKIAIOSFODNN7EXAMPLE\nc = sk_live_YOUR_NEW_KEY_HERE\n",
    );
    write(&test, "live.txt", &format!("x = {CANARY}\n"));
    let (code, doc) = scan(&test, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        places(&doc),
        [
            "live.txt:1 Stripe secret key (live)",
            "keys.txt:1 Stripe secret key (test)"
        ]
    );
}

#[test]
fn a_committed_age_identity_is_found() {
    let test = repo();
    crate::age::age_keygen(test.dir(), "keys/ci.txt");
    let (code, doc) = scan(&test, &[]);
    assert_eq!(code, 1);
    assert_eq!(places(&doc), ["keys/ci.txt:3 age identity"]);
}

#[test]
fn sarif_for_code_scanning() {
    let test = repo();
    write(&test, "app.py", &format!("k = \"{CANARY}\"\n"));
    let (code, doc) = scan(&test, &["--format", "sarif"]);
    assert_eq!(code, 1);
    assert_eq!(doc["version"], "2.1.0");
    let result = &doc["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "key:stripe-secret-key");
    assert_eq!(result["level"], "error");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "app.py"
    );
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        1
    );
    assert_eq!(
        doc["runs"][0]["tool"]["driver"]["rules"][0]["id"],
        "key:stripe-secret-key"
    );
}

#[test]
fn exit_codes() {
    let clean = repo();
    write(&clean, "a.txt", "nothing\n");
    secretrun(&clean, &["scan"]).status(0).stdout_is("");
    // No dotenv file and no config: shapes only, not an error.
    let bare = Test::new().file("a.txt", format!("{CANARY}\n"));
    secretrun(&bare, &["scan"]).status(1).no_canary();
    // History outside a repository, a bad glob: configuration errors.
    secretrun(&bare, &["scan", "--history"]).status(78);
    let bad = Test::new().file("secretrun.toml", "[scan]\nexclude = [\"a/**[\"]\n");
    secretrun(&bad, &["scan"]).status(78);
    Test::new()
        .args(["scan", "--staged", "--history"])
        .run()
        .status(2);
}

/// examples/git-hooks/pre-commit, installed as a plain git hook, refuses a commit
/// holding a key and lets a clean one through. The pre-commit framework's hook
/// (.pre-commit-hooks.yaml) runs the same command.
#[test]
fn the_git_hook_refuses_a_commit_with_a_key() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let hooks = std::fs::read_to_string(root.join(".pre-commit-hooks.yaml")).unwrap();
    assert!(hooks.contains("entry: secretrun scan --staged"), "{hooks}");
    let script = std::fs::read_to_string(root.join("examples/git-hooks/pre-commit")).unwrap();
    assert!(script.trim_end().ends_with("exec secretrun scan --staged"));

    let test = repo();
    let hook = test.dir().join(".git/hooks/pre-commit");
    std::fs::copy(root.join("examples/git-hooks/pre-commit"), &hook).unwrap();
    let bin_dir = Path::new(crate::util::BIN).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), crate::util::PATH);
    let commit = |test: &Test| {
        Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-q",
                "-m",
                "x",
            ])
            .current_dir(test.dir())
            .env("PATH", &path)
            .env("HOME", test.dir())
            .output()
            .unwrap()
    };
    write(&test, "app.py", &format!("k = \"{CANARY}\"\n"));
    git(test.dir(), &["add", "app.py"]);
    let refused = commit(&test);
    assert!(!refused.status.success(), "the commit went through");
    let said = String::from_utf8_lossy(&refused.stdout) + String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("app.py:1:6  Stripe secret key (live)"),
        "{said}"
    );
    assert!(!said.contains("CANARY"), "the key was shown");
    write(&test, "app.py", "k = os.environ['K']\n");
    git(test.dir(), &["add", "app.py"]);
    let clean = commit(&test);
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );
}
