//! The dotenv format through the binary: what the child receives.

use crate::util::{CANARY, Test};

#[test]
fn the_formats_users_write() {
    let text = concat!(
        "\u{feff}# comment\r\n",
        "export PLAIN=value\r\n",
        "SPACED = spaced out   # trailing comment\r\n",
        "HASH=abc#def\r\n",
        "SINGLE='pa$$word ${PLAIN}'\r\n",
        "DOUBLE=\"line1\\nline2 \\\"q\\\" \\\\ ${PLAIN}\"\r\n",
        "EMPTY=\r\n",
        "EMPTY_QUOTED=''\r\n",
        "PEM=\"-----BEGIN PRIVATE KEY-----\r\nMIIB\r\n-----END PRIVATE KEY-----\"\r\n",
        "REF=${PLAIN}-$PLAIN-${MISSING:-fallback}\r\n",
    );
    let run = Test::new()
        .file(".env", text)
        .args(["--pure", "--", "env", "-0"])
        .run();
    run.success();
    let env = run.env0();
    let get = |name: &str| env.get(name).map(String::as_str);
    assert_eq!(get("PLAIN"), Some("value"));
    assert_eq!(get("SPACED"), Some("spaced out"));
    assert_eq!(get("HASH"), Some("abc#def"));
    assert_eq!(get("SINGLE"), Some("pa$$word ${PLAIN}"));
    assert_eq!(get("DOUBLE"), Some("line1\nline2 \"q\" \\ value"));
    assert_eq!(get("EMPTY"), Some(""));
    assert_eq!(get("EMPTY_QUOTED"), Some(""));
    assert_eq!(
        get("PEM"),
        Some("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----")
    );
    assert_eq!(get("REF"), Some("value-value-fallback"));
    assert_eq!(env.len(), 9);
}

#[test]
fn later_files_win_and_expand_from_earlier_files() {
    let run = Test::new()
        .file(".env", "A=base\nB=base\n")
        .file(".env.local", "B=local-$A\n")
        .args([
            "--pure",
            "--from",
            ".env",
            "-f",
            ".env.local",
            "--",
            "env",
            "-0",
        ])
        .run();
    run.success();
    assert_eq!(run.env0()["A"], "base");
    assert_eq!(run.env0()["B"], "local-base");
}

#[test]
fn expansion_never_reads_secretruns_environment() {
    let run = Test::new()
        .file(".env", "STOLEN=${AWS_SECRET_ACCESS_KEY}\n")
        .env("AWS_SECRET_ACCESS_KEY", CANARY)
        .args(["--", "env", "-0"])
        .run();
    run.status(65).no_canary().stderr_is(concat!(
        "error: malformed dotenv file `.env`\n",
        "caused by: line 1: the value of `STOLEN` uses `$` with a name that no earlier line or ",
        "source defines (secretrun never expands from its own environment); for a literal `$`, ",
        "put the value in single quotes\n",
    ));
}

#[test]
fn default_source_is_dot_env_and_its_absence_is_a_config_error() {
    Test::new()
        .file(".env", "A=1\n")
        .args(["--", "true"])
        .run()
        .success();
    let run = Test::new().args(["--", "true"]).run();
    run.status(78)
        .stderr_has("/.env`: not found (the default source: no config names another)\n")
        .stderr_has("hint: config: none found in /")
        .stderr_has(
            ". Create `.env`, or name the secrets' source: `--from FILE`, \
             `--from vault://PATH`, `--from aws-sm://NAME`, or write a secretrun.toml \
             (`secretrun init`)\n",
        );
    assert!(
        run.stderr.starts_with("error: reading dotenv file `/"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_program_in_this_directory_but_not_on_path_gets_a_hint() {
    Test::new()
        .file(".env", "A=1\n")
        .file("app", "#!/bin/sh\n")
        .args(["--", "app"])
        .run()
        .status(127)
        .stderr_is(
            "error: `app` was not found on PATH\nhint: `./app` runs the file in this directory\n",
        );
    Test::new()
        .file(".env", "A=1\n")
        .args(["--", "no-such-app"])
        .run()
        .status(127)
        .stderr_is("error: `no-such-app` was not found on PATH\n");
}

#[test]
fn malformed_lines_name_file_and_line() {
    for (text, line, why) in [
        ("A=1\nBAD KEY=value\n", 2, "expected `NAME=value`"),
        (
            "A=1\n\n1A=value\n",
            3,
            "the name before `=` is not a valid variable name (letters, digits and `_`, not starting with a digit)",
        ),
        ("A=\"open\nB=2\n", 1, "unterminated double quote in `A`"),
        ("A='open\n", 1, "unterminated single quote in `A`"),
    ] {
        Test::new()
            .file("app.env", text)
            .args(["--from", "app.env", "--", "true"])
            .run()
            .status(65)
            .stderr_is(&format!(
                "error: malformed dotenv file `app.env`\ncaused by: line {line}: {why}\n"
            ));
    }
}

#[test]
fn not_utf8_names_the_line() {
    Test::new()
        .file(".env", b"A=1\nB=\xff\xfe\n".as_slice())
        .args(["--", "true"])
        .run()
        .status(65)
        .stderr_is("error: malformed dotenv file `.env`: line 2 is not UTF-8\n");
}

#[test]
fn a_directory_is_not_a_dotenv_file() {
    let run = Test::new()
        .file("d/x", "")
        .args(["--from", "d", "--", "true"])
        .run();
    run.status(78).stderr_has("reading dotenv file `d`");
}

#[test]
fn an_expansion_bomb_fails_with_65_at_once() {
    let mut text = format!("A={}\n", "x".repeat(1000));
    for (prev, name) in ["A", "B", "C", "D", "E", "F"]
        .iter()
        .zip(["B", "C", "D", "E", "F", "G"])
    {
        text.push_str(&format!(
            "{name}=\"{}\"\n",
            format!("${{{prev}}}").repeat(100)
        ));
    }
    assert!(text.len() < 4000);
    let started = std::time::Instant::now();
    let run = Test::new().file(".env", text).args(["--", "true"]).run();
    run.status(65).stderr_has("`C` grows past 128 KiB");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn a_single_quoted_reference_is_a_literal_and_never_fetched() {
    // A Vault address nobody listens on: a fetch would fail with 69.
    let run = Test::new()
        .env("VAULT_ADDR", "http://127.0.0.1:9")
        .env("VAULT_TOKEN", "t")
        .file(".env", "DOC='vault://secret/app#key'\n")
        .args(["--pure", "--", "env", "-0"])
        .run();
    run.success();
    assert_eq!(
        run.env0().get("DOC").map(String::as_str),
        Some("vault://secret/app#key")
    );
}

#[test]
fn carriage_return_line_ends_are_line_ends() {
    let run = Test::new()
        .file(".env", "A=1\rB=2\r")
        .args(["--pure", "--", "env", "-0"])
        .run();
    run.success();
    let env = run.env0();
    assert_eq!(
        (
            env.get("A").map(String::as_str),
            env.get("B").map(String::as_str)
        ),
        (Some("1"), Some("2"))
    );
}

/// Command substitution is never run: a dotenv file is untrusted input. `$(…)` and
/// backquotes stay the text they are, quoted or not, and nothing they name happens.
#[test]
fn command_substitution_is_text_and_never_runs() {
    let run = Test::new()
        .file(
            ".env",
            "A=$(touch ran-a)\nB=\"$(touch ran-b)\"\nC=`touch ran-c`\nD=\"x${E:-$(touch ran-d)}\"\n",
        )
        .args([
            "--pure",
            "--",
            "sh",
            "-c",
            "for f in ran-*; do [ -e \"$f\" ] && echo \"RAN:$f\"; done; env -0",
        ]);
    let out = run.run();
    out.success();
    assert!(
        !out.stdout.contains("RAN:"),
        "a substitution ran: {}",
        out.stdout
    );
    let env = out.env0();
    assert_eq!(env["A"], "$(touch ran-a)");
    assert_eq!(env["B"], "$(touch ran-b)");
    assert_eq!(env["C"], "`touch ran-c`");
    assert_eq!(env["D"], "x$(touch ran-d)");
}
