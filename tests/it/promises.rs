//! README promises about the launch, the config and `check` that had no test: each
//! is shown here from outside, with a control where the result alone could pass by
//! accident.

use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use crate::supervise::LIMIT;
use crate::util::{BIN, CANARY, Lines, PATH, Test};

const TEST_KEY: &str = "sk_test_4eC39HqLyjWDarjtT1zdp7dc";

#[test]
fn expect_from_flag_beats_environment_beats_file() {
    let run = |env: Option<&str>, flag: Option<&str>| {
        let mut test = Test::new()
            .file(".env", format!("STRIPE_SECRET_KEY={TEST_KEY}\n"))
            .file("secretrun.toml", "expect = \"live\"\n");
        if let Some(value) = env {
            test = test.env("SECRETRUN_EXPECT", value);
        }
        if let Some(value) = flag {
            test = test.args(["--expect", value]);
        }
        test.args(["--", "true"]).run().status
    };
    assert_eq!(run(None, None), Some(65), "the file's `live` applies");
    assert_eq!(
        run(Some("test"), None),
        Some(0),
        "the environment beats the file"
    );
    assert_eq!(
        run(Some("test"), Some("live")),
        Some(65),
        "the flag beats the environment"
    );
}

#[test]
fn timeout_from_flag_beats_environment_beats_file() {
    // A listener that never answers: the launch ends at whichever deadline applies.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let took = |file: &str, env: Option<&str>, flag: Option<&str>| {
        let mut test = Test::new()
            .file("secretrun.toml", format!("timeout = \"{file}\"\n"))
            .env("VAULT_ADDR", &addr)
            .env("VAULT_TOKEN", "t");
        if let Some(value) = env {
            test = test.env("SECRETRUN_TIMEOUT", value);
        }
        if let Some(value) = flag {
            test = test.args(["--timeout", value]);
        }
        let started = Instant::now();
        test.args(["--from", "vault://secret/app", "--", "true"])
            .run()
            .status(69);
        started.elapsed()
    };
    // Each 1 s deadline ends the wait long before the 90 s one it beats, and before
    // the default of 10 s that would apply if the setting were ignored.
    let short = Duration::from_secs(8);
    assert!(took("1s", None, None) < short, "the file's timeout applies");
    assert!(
        took("90s", Some("1s"), None) < short,
        "the environment beats the file"
    );
    assert!(
        took("90s", Some("90s"), Some("1s")) < short,
        "the flag beats the environment"
    );
}

#[test]
fn keep_and_require_from_flags_add_to_the_config() {
    let run = Test::new()
        .file(".env", "A=1\n")
        .file(
            "secretrun.toml",
            "keep = [\"FROM_FILE\"]\nrequire = [\"R1\"]\n",
        )
        .env("FROM_FILE", "f")
        .env("FROM_FLAG", "g")
        .args(["--keep", "FROM_FLAG", "--require", "R2", "--", "true"])
        .run();
    run.status(65)
        .stderr_has("`R1` is required but missing")
        .stderr_has("`R2` is required but missing");
    let run = Test::new()
        .file(".env", "A=1\n")
        .file("secretrun.toml", "keep = [\"FROM_FILE\"]\n")
        .env("FROM_FILE", "f")
        .env("FROM_FLAG", "g")
        .args(["--pure", "--keep", "FROM_FLAG", "--", "env", "-0"])
        .run();
    run.success();
    let env = run.env0();
    assert_eq!(
        (env["FROM_FILE"].as_str(), env["FROM_FLAG"].as_str()),
        ("f", "g")
    );
}

#[test]
fn the_schemas_min() {
    Test::new()
        .file(".env", "N=5\nM=10\n")
        .file("secretrun.toml", "[vars.N]\nmin = 10\n[vars.M]\nmin = 10\n")
        .args(["--", "true"])
        .run()
        .status(65)
        .stderr_is(
            "error: validation failed, nothing was run:\n  `N` is below the minimum of 10\n",
        );
}

#[test]
fn json_has_null_for_what_no_detector_knows() {
    let run = Test::new()
        .file(".env", "PLAIN=hello\n")
        .args(["check", "--pure", "--format", "json"])
        .run();
    run.success();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let var = &doc["variables"][0];
    assert_eq!(var["name"], "PLAIN");
    for field in ["provider", "kind", "mode"] {
        assert!(var[field].is_null(), "{field}: {var}");
    }
}

#[test]
fn a_restricted_key_is_probed_and_a_403_is_a_warning() {
    let key = "rk_test_4eC39HqLyjWDarjtT1zdp7dc";
    // Stripe's answers: the balance, read with a restricted key that may not read
    // it, is 403; any other method or path is 404, as Stripe says of an unknown URL.
    let stripe = crate::stub::serve(|request| {
        if request.method == "GET" && request.path == "/v1/balance" {
            (403, r#"{"error":{"type":"invalid_request_error"}}"#.into())
        } else {
            (404, r#"{"error":{"type":"invalid_request_error","message":"Unrecognized request URL"}}"#.into())
        }
    });
    let run = Test::new()
        .file(".env", format!("STRIPE_SECRET_KEY={key}\n"))
        .env("SECRETRUN_STRIPE_API_BASE", stripe.url())
        .args(["check", "--pure", "--probe"])
        .run();
    run.success();
    assert!(
        run.stdout.contains(
            "`STRIPE_SECRET_KEY`: Stripe accepted the key but it may not read the balance (403)"
        ),
        "{}",
        run.stdout
    );
    let requests = stripe.requests.lock().unwrap();
    assert_eq!(
        requests[0].header("authorization"),
        Some(&*format!("Bearer {key}"))
    );
}

#[test]
fn the_marketplace_example_checks_clean() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = std::process::Command::new(BIN)
        .args(["check", "--config", "examples/secretrun.toml", "--pure"])
        .env_clear()
        .env("PATH", PATH)
        .current_dir(repo)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(text.ends_with("\nok\n"), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.ends_with("  ok")).count(),
        12,
        "{text}"
    );
    // And the schema bites: a live key where the example expects test keys.
    let output = std::process::Command::new(BIN)
        .args([
            "check",
            "--config",
            "examples/secretrun.toml",
            "--pure",
            "--expect",
            "live",
        ])
        .env_clear()
        .env("PATH", PATH)
        .current_dir(repo)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(65));
}

/// A test dir that the unprivileged user `nobody` can enter, with `.env` readable by
/// root alone (mode `env_mode`).
fn for_nobody(env_mode: u32) -> Test {
    let test = Test::new().file(".env", format!("KEY={CANARY}\n"));
    std::fs::set_permissions(test.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        test.dir().join(".env"),
        std::fs::Permissions::from_mode(env_mode),
    )
    .unwrap();
    test
}

/// The binary, where `nobody` can run it: where it is, when every directory above it
/// lets others pass (a checkout under `/root` does not), else a copy in the test's
/// own directory, which goes with the test.
fn binary_for_nobody(test: &Test) -> std::path::PathBuf {
    let bin = std::path::Path::new(BIN);
    let passable = bin
        .ancestors()
        .skip(1)
        .all(|dir| std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o001 != 0));
    if passable {
        return bin.to_path_buf();
    }
    let copy = test.dir().join("secretrun");
    std::fs::copy(bin, &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    copy
}

/// `secretrun ARGS` as the user `nobody` (the tests run as root, whom no file mode
/// and no non-dumpable process stops).
fn as_nobody(test: &Test, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new("setpriv");
    crate::util::default_signals(&mut command);
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(binary_for_nobody(test))
        .args(args)
        .env_clear()
        .env("PATH", PATH)
        .current_dir(test.dir())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    command
}

#[test]
fn an_unreadable_dotenv_file_is_77() {
    let test = for_nobody(0o600);
    let output = as_nobody(&test, &["--", "true"])
        .output()
        .expect("setpriv (util-linux)");
    assert_eq!(output.status.code(), Some(77));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("reading dotenv file `.env`"), "{stderr}");
    assert!(!stderr.contains("CANARY"));
}

#[test]
fn the_supervising_parent_is_not_dumpable_and_the_command_is() {
    // A process that is not dumpable has its /proc files owned by root; ours runs as
    // nobody. The command, after its own exec, is dumpable again: the control.
    let test = for_nobody(0o644);
    let mut child = as_nobody(
        &test,
        &["--init", "--", "sh", "-c", "echo $$; exec sleep 30"],
    )
    .spawn()
    .expect("setpriv (util-linux)");
    let lines = Lines::new(child.stdout.take().unwrap());
    let command: u32 = lines.next_within(LIMIT).unwrap().parse().unwrap();
    let owner = |pid: u32| {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(format!("/proc/{pid}/environ"))
            .unwrap()
            .uid()
    };
    let (parent, command) = (owner(child.id()), owner(command));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!((parent, command), (0, 65534));
}

#[test]
fn a_pty_stands_in_for_stderr_alone_when_only_stderr_is_a_terminal() {
    let (master, slave) = crate::util::open_pty((24, 80));
    let test = Test::new().file(".env", format!("KEY={CANARY}\n")).args([
        "--redact",
        "--",
        "sh",
        "-c",
        "[ -t 1 ] && echo out:tty || echo out:pipe; \
         { [ -t 2 ] && echo err:tty || echo err:pipe; echo \"$KEY\"; } >&2",
    ]);
    let mut command = test.command();
    command.stderr(std::process::Stdio::from(slave));
    let child = command.spawn().unwrap();
    drop(command);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), "out:pipe\n");
    let err = crate::util::read_pty(master);
    assert!(err.contains("err:tty") && err.contains("[KEY]"), "{err:?}");
    assert!(!err.contains("CANARY"));
}

#[test]
fn init_adopts_and_reaps_orphans_when_not_pid_1() {
    let script = r#"
        state() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }
        parent() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f2; }
        pid=$(sh -c 'sleep 60 >/dev/null 2>&1 & echo $!')
        [ "$(parent $pid)" = "$PPID" ] && echo adopted=yes || echo adopted=no
        # The orphan ends when told, not after a time that a busy machine may pass.
        kill $pid
        until s=$(state $pid); [ -z "$s" ] || [ "$s" = Z ]; do sleep 0.02; done
        for i in $(seq 150); do [ -z "$(state $pid)" ] && break; sleep 0.02; done
        [ -z "$(state $pid)" ] && echo reaped=yes || echo reaped=no
    "#;
    let run = |args: &[&str]| {
        Test::new()
            .file(".env", "A=1\n")
            .args(args)
            .args(["--", "sh", "-c", script])
            .run()
    };
    run(&["--init"])
        .success()
        .stdout_is("adopted=yes\nreaped=yes\n");
    // The control: exec mode adopts nothing (the orphan goes to the system's init).
    let control = run(&[]);
    assert!(
        control.stdout.starts_with("adopted=no\n"),
        "{}",
        control.stdout
    );
}

#[test]
fn nohup_keeps_working_in_exec_mode() {
    let test = Test::new().file(".env", "A=1\n");
    let mut command = std::process::Command::new("sh");
    crate::util::default_signals(&mut command);
    let output = command
        .args([
            "-c",
            &format!("trap '' HUP; exec {BIN} -- sh -c 'kill -HUP $$; echo survived'"),
        ])
        .env_clear()
        .env("PATH", PATH)
        .current_dir(test.dir())
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(output.stdout.lines().next().unwrap().unwrap(), "survived");
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = Test::new().args(["completions", shell]).run();
        run.success();
        assert!(
            run.stdout.contains("secretrun") && run.stdout.contains("keep"),
            "{shell}"
        );
    }
}
