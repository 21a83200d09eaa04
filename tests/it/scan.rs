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
    // ripgrep's own ignore file is respected too.
    write(&test, "vendor/lib.js", &line);
    write(&test, ".ignore", "vendor/\n");
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

/// A path that does not exist, or a file that cannot be read, is an error in every
/// format: a typo in a CI job must not pass as clean.
#[test]
fn what_scan_could_not_look_at_is_an_error() {
    let test = repo();
    write(&test, "a.txt", "nothing\n");
    for format in ["text", "json", "sarif"] {
        secretrun(&test, &["scan", "--format", format, "no-such-dir"])
            .status(78)
            .stdout_is("")
            .stderr_has("scanning `no-such-dir`: not found");
        secretrun(&test, &["scan", "--format", format, "a.txt", "typo.txt"]).status(78);
    }
    secretrun(&test, &["scan", "a.txt"]).status(0);
    // An unreadable directory (as a user other than root would meet it: root reads
    // anything, so the test removes the search permission from a FIFO-free dir and
    // checks only where the kernel enforces it).
    let locked = test.dir().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::write(locked.join("k.txt"), format!("{CANARY}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let enforced = std::fs::read_dir(&locked).is_err();
    let run = secretrun(&test, &["scan"]);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    if enforced {
        run.status(78)
            .stderr_has("could not be read, so the scan is incomplete");
    } else {
        run.status(1).no_canary();
    }
}

/// Files whose names git quotes (a `"`, `\`, a tab, a newline, a control character, a
/// byte that is not UTF-8) and names with a space are found in the history as in the
/// tree, and every report names the real file: JSON's `path` is the name itself,
/// `uri` and SARIF's URI its bytes percent-encoded, text escapes it unambiguously.
#[test]
fn history_finds_what_the_tree_finds_under_any_name() {
    use std::os::unix::ffi::OsStrExt;
    let names: [&[u8]; 8] = [
        b"quote\"d.txt",
        b"back\\slash.txt",
        b"tab\there.txt",
        b"new\nline.txt",
        b"bell\x07.txt",
        b"with space.txt",
        b"caf\xc3\xa9.txt",
        b"latin\xff.txt",
    ];
    let test = repo();
    for name in names {
        let path = test.dir().join(std::ffi::OsStr::from_bytes(name));
        std::fs::write(path, format!("x\npw = {DB_PASSWORD}\n")).unwrap();
    }
    // A file really named with a backslash and `n` must not report like `new\nline`.
    write(&test, "new\\nline.txt", &format!("{DB_PASSWORD}\n"));
    commit(&test, "add");
    let uris = |doc: &Value| -> Vec<String> {
        let mut all: Vec<String> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["uri"].as_str().unwrap().to_owned())
            .collect();
        all.sort();
        all
    };
    let (code, tree) = scan(&test, &[]);
    assert_eq!(code, 1);
    let (code, history) = scan(&test, &["--history"]);
    assert_eq!(code, 1);
    assert_eq!(uris(&history), uris(&tree));
    let mut expected = vec![
        "back%5Cslash.txt",
        "bell%07.txt",
        "caf%C3%A9.txt",
        "latin%FF.txt",
        "new%0Aline.txt",
        "new%5Cnline.txt",
        "quote%22d.txt",
        "tab%09here.txt",
        "with%20space.txt",
    ];
    expected.sort();
    assert_eq!(uris(&tree), expected);
    // JSON's path is the name itself, a newline a newline.
    let paths: Vec<&str> = history["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"new\nline.txt"), "{paths:?}");
    assert!(paths.contains(&"with space.txt"), "{paths:?}");
    assert!(paths.contains(&"new\\nline.txt"), "{paths:?}");
    // SARIF's URIs, in the history as in the tree.
    let (_, sarif) = scan(&test, &["--history", "--format", "sarif"]);
    let mut sarif_uris: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    sarif_uris.sort();
    assert_eq!(sarif_uris, expected);
    // Text for a terminal: no two files alike, no control character printed.
    let text = secretrun(&test, &["scan"]);
    text.status(1).no_canary();
    for shown in ["new\\nline.txt:2", "new\\\\nline.txt:1", "latin\\xff.txt:2"] {
        text.stdout_has(shown);
    }
    assert!(!text.stdout.contains('\x07'));
}

/// A binary file is judged by its first 8 KiB, before the rest is read: scanning a
/// large binary file costs about what scanning a small one does.
#[test]
fn a_binary_file_is_skipped_before_it_is_read() {
    let test = repo();
    let mut big = vec![0u8; 64 << 20];
    big[100] = b'a';
    std::fs::write(test.dir().join("big.bin"), &big).unwrap();
    drop(big);
    let mut command = test.command();
    command.arg("scan");
    let (run, usage) = crate::util::measured(command, std::time::Duration::from_secs(60));
    run.status(0);
    let kib = usage.max_rss_kib;
    assert!(
        kib < 32 * 1024,
        "peak RSS {kib} KiB for a 64 MiB binary file"
    );
}

/// `scan PATH...` looks only where it is told; `--no-values` loads no source: a
/// configured value is not looked for, and a source that cannot be read (a store
/// with no credentials here) is no error, while key shapes are still found.
#[test]
fn named_paths_only_and_no_values_without_sources() {
    let test = repo();
    write(
        &test,
        "a/settings.txt",
        &format!("password = {DB_PASSWORD}\n"),
    );
    write(
        &test,
        "b/settings.txt",
        &format!("password = {DB_PASSWORD}\n"),
    );
    write(&test, "b/key.txt", &format!("STRIPE={CANARY}\n"));
    let (code, doc) = scan(&test, &["a"]);
    assert_eq!(code, 1);
    assert_eq!(places(&doc), ["a/settings.txt:1 DB_PASSWORD"]);
    let (code, doc) = scan(&test, &["b/key.txt", "a/settings.txt"]);
    assert_eq!(code, 1);
    let mut found = places(&doc);
    found.sort();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].starts_with("a/settings.txt:1 DB_PASSWORD"),
        "{found:?}"
    );
    assert!(found[1].starts_with("b/key.txt:1 "), "{found:?}");
    // No values: the password is not looked for, the key shape still is, and a
    // Vault reference that could not be read costs nothing.
    write(&test, ".env", "DB_PASSWORD=vault://secret/nowhere#p\n");
    let (code, doc) = scan(&test, &["--no-values"]);
    assert_eq!(code, 1);
    let found = places(&doc);
    assert!(
        found.iter().all(|f| f.starts_with("b/key.txt:1 ")),
        "{found:?}"
    );
    assert_eq!(found.len(), 1, "{found:?}");
    // The control: with values, the unreadable reference is an error.
    let (code, _) = scan(&test, &[]);
    assert_ne!(
        code, 1,
        "without --no-values the Vault reference must be read"
    );
}

/// scan's git calls carry paths and commits, never a value it looks for: the
/// configured password and the live key are found in the history and the index, and
/// no argument of any program secretrun starts holds either.
#[test]
fn no_value_reaches_the_argv_of_scans_git_calls() {
    let test = repo();
    write(
        &test,
        "app/settings.py",
        &format!("DB = \"{DB_PASSWORD}\"\nSTRIPE = \"{CANARY}\"\n"),
    );
    commit(&test, "add the keys");
    write(&test, "app/more.py", &format!("PW = \"{DB_PASSWORD}\"\n"));
    git(test.dir(), &["add", "app/more.py"]);
    for mode in ["--history", "--staged"] {
        let options = [&["-v"][..], crate::trace::EXECS].concat();
        let output =
            crate::trace::run_traced(&test, &options, &["scan", mode, "--format", "json"], &[]);
        assert_eq!(output.status.code(), Some(1), "{mode}: nothing found");
        let trace = String::from_utf8_lossy(&output.stderr);
        let calls = crate::trace::execs(&trace);
        // With -v the trace shows each program's whole argv and environment.
        assert!(
            calls
                .iter()
                .any(|l| l.contains("\"git\"") && l.contains("\"PATH=")),
            "{mode}: no git call traced whole"
        );
        assert!(
            !trace.contains("CANARY"),
            "{mode}: a value was in the argv or environment of a program secretrun started"
        );
    }
}

/// `scan --history` reads `git log -p` as a stream: its memory is its longest line,
/// not the history's size. 48 MB of history in 600 files of short lines: the peak
/// (secretrun's, and git's, which the measurement includes) stays far below it.
#[test]
fn the_history_is_read_as_a_stream() {
    let test = repo();
    let line = "x = 'an ordinary line of a generated source file, nothing secret'\n";
    let file = line.repeat(80_000 / line.len());
    for i in 0..600 {
        write(&test, &format!("gen/f{i}.py"), &file);
    }
    commit(&test, "generated");
    let mut command = test.command();
    command.args(["scan", "--history"]);
    let (run, usage) = crate::util::measured(command, std::time::Duration::from_secs(120));
    run.status(0);
    let kib = usage.max_rss_kib;
    assert!(kib < 32 * 1024, "peak RSS {kib} KiB for 48 MB of history");
}
