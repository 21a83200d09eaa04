//! `--watch`: re-fetching on an interval, restarting or signalling the command on a
//! change, keeping it on its values when fetching or validation fails, and logging
//! each failure once.

use std::time::{Duration, Instant};

use crate::supervise::{HELPER_SCRIPT, LIMIT};
use crate::util::{Lines, Test};

/// Stops a watching secretrun with TERM (its command dies of it: 143) and returns
/// what it logged, in which no value may stand.
fn terminate(child: std::process::Child) -> String {
    // SAFETY: a plain syscall to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(128 + 15));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("CANARY"), "a value was logged");
    stderr
}

#[test]
fn watch_restarts_the_command_when_an_openbao_value_changes() {
    let server = crate::bao::server();
    server.put("watched", serde_json::json!({"W": "one-CANARY"}));
    let test = Test::new()
        .env("VAULT_ADDR", &server.addr)
        .env("VAULT_TOKEN", crate::bao::ROOT_TOKEN)
        .args([
            "--watch",
            "300ms",
            "--on-change",
            "restart",
            "--from",
            "vault://secret/watched",
        ])
        .args(["--", "bash", "-c", "echo \"W=$W\"; exec sleep 30"]);
    let mut child = test.command().spawn().unwrap();
    let lines = Lines::new(child.stdout.take().unwrap());
    lines.wait_for_child("W=one-CANARY", LIMIT, &mut child);
    server.put("watched", serde_json::json!({"W": "two-CANARY"}));
    lines.wait_for("W=two-CANARY", LIMIT);
    let stderr = terminate(child);
    assert!(
        stderr.contains("secretrun: watch: changed: `W`"),
        "{stderr}"
    );
}

#[test]
fn watch_signals_the_command_when_a_moto_value_changes() {
    let server = crate::moto::server();
    server.create("watched-aws", r#"{"W":"one-CANARY"}"#);
    let script = r#"trap 'echo HUP' HUP; echo "W=$W"; while :; do sleep 0.05; done"#;
    let test = Test::new()
        .env("AWS_ENDPOINT_URL", &server.url)
        .env("AWS_ACCESS_KEY_ID", crate::moto::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", crate::moto::SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .args([
            "--watch",
            "300ms",
            "--on-change",
            "signal",
            "--from",
            "aws-sm://watched-aws",
            "--",
            "bash",
            "-c",
            script,
        ]);
    let mut child = test.command().spawn().unwrap();
    let lines = Lines::new(child.stdout.take().unwrap());
    lines.wait_for_child("W=one-CANARY", LIMIT, &mut child);
    server.rotate("watched-aws", r#"{"W":"two-CANARY"}"#);
    // --on-change signal sends HUP (the default signal): the command keeps running.
    lines.wait_for("HUP", LIMIT);
    let stderr = terminate(child);
    assert!(
        stderr.contains("secretrun: watch: changed: `W`"),
        "{stderr}"
    );
}

#[test]
fn watch_keeps_the_command_when_fetching_fails() {
    // A Vault stub that answers once, then fails with 403 on every later read.
    let reads = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = reads.clone();
    let vault = crate::stub::serve(move |request| {
        if let Some(answer) = crate::stub::vault_checks(request, 1) {
            return answer;
        }
        if counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            (200, r#"{"data":{"W":"one-CANARY"}}"#.into())
        } else {
            (403, r#"{"errors":["permission denied"]}"#.into())
        }
    });
    let test = Test::new()
        .env("VAULT_ADDR", vault.url())
        .env("VAULT_TOKEN", "t")
        .args([
            "--watch",
            "200ms",
            "--on-change",
            "restart",
            "--from",
            "vault://secret/w",
        ])
        .args(["--", "bash", "-c", "echo \"W=$W\"; exec sleep 30"]);
    let mut child = test.command().spawn().unwrap();
    let lines = Lines::new(child.stdout.take().unwrap());
    lines.wait_for("W=one-CANARY", LIMIT);
    // Wait for four failed re-fetches (by count, not by time).
    let started = Instant::now();
    while reads.load(std::sync::atomic::Ordering::SeqCst) < 5 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no re-fetch happened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Still the first command: it was never restarted.
    let stderr = terminate(child);
    assert!(lines.next_within(LIMIT).is_none());
    assert!(
        stderr.contains("secretrun: watch: fetching failed, the command keeps its values"),
        "{stderr}"
    );
    assert!(stderr.contains("refused access (403)"), "{stderr}");
    // Four failures in a row, one line: logged again only when it changes.
    assert_eq!(stderr.matches("fetching failed").count(), 1, "{stderr}");
}

#[test]
fn watch_logs_a_validation_failure_once_and_its_clearing() {
    let test = Test::new()
        .file(".env", "W=good-1\n")
        .file("secretrun.toml", "[vars.W]\npattern = \"good-[0-9]\"\n")
        .args(["--watch", "100ms", "--on-change", "restart"])
        .args(["--", "bash", "-c", "echo \"W=$W\"; exec sleep 30"]);
    let mut child = test.command().spawn().unwrap();
    let lines = Lines::new(child.stdout.take().unwrap());
    lines.wait_for("W=good-1", LIMIT);
    let opens = crate::util::Opens::of(&test.dir().join(".env"));
    std::fs::write(test.dir().join(".env"), "W=bad\n").unwrap();
    // Many intervals pass with the bad value: the poller reads it ten more times
    // (the write above is one open of the ten).
    opens.wait_for(11, LIMIT);
    std::fs::write(test.dir().join(".env"), "W=good-2\n").unwrap();
    lines.wait_for("W=good-2", LIMIT);
    let stderr = terminate(child);
    assert_eq!(stderr.matches("fail validation").count(), 1, "{stderr}");
    assert_eq!(
        stderr.matches("the earlier failure has cleared").count(),
        1,
        "{stderr}"
    );
    assert!(!stderr.contains("bad"), "a value was logged: {stderr}");
}

#[test]
fn on_change_signal_reaches_the_command_not_its_helpers() {
    let test = Test::new().file(".env", "W=one\n").args([
        "--watch",
        "200ms",
        "--on-change",
        "signal",
        "--on-change-signal",
        "USR1",
        "--",
        "bash",
        "-c",
        HELPER_SCRIPT,
    ]);
    let mut child = test.command().spawn().unwrap();
    let lines = Lines::new(child.stdout.take().unwrap());
    lines.wait_for("W=one", LIMIT);
    std::fs::write(test.dir().join(".env"), "W=two\n").unwrap();
    lines.wait_for("USR1 helper-alive", LIMIT);
    terminate(child);
}

/// A Vault stub whose first read of `secret/w` answers and whose later reads hang
/// (a store that accepts the connection and never answers); `stalled` hears of each
/// hanging read as it starts.
fn stalling_vault() -> (crate::stub::Stub, std::sync::mpsc::Receiver<()>) {
    let (tx, stalled) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let reads = std::sync::atomic::AtomicUsize::new(0);
    let vault = crate::stub::serve(move |request| {
        if let Some(answer) = crate::stub::vault_checks(request, 1) {
            return answer;
        }
        if reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            return (200, r#"{"data":{"W":"one-CANARY"}}"#.into());
        }
        let _ = tx.lock().unwrap().send(());
        // Never answered within the test.
        std::thread::sleep(Duration::from_secs(600));
        (500, "{}".into())
    });
    (vault, stalled)
}

/// A TERM to secretrun reaches the command at once while a `--watch` refetch waits
/// on a store that does not answer: the fetch runs beside the supervisor, never in
/// its way. The fetch's own deadline (60 s) is far past the test's limit.
#[test]
fn a_signal_reaches_the_command_while_a_refetch_waits_on_a_store() {
    let (vault, stalled) = stalling_vault();
    let test = Test::new()
        .env("VAULT_ADDR", vault.url())
        .env("VAULT_TOKEN", "t")
        .args([
            "--watch",
            "100ms",
            "--timeout",
            "60s",
            "--from",
            "vault://secret/w",
        ])
        .args([
            "--",
            "bash",
            "-c",
            "trap 'echo got-TERM; exit 7' TERM; echo \"W=$W\"; while :; do sleep 0.05; done",
        ]);
    let mut child = test.command().spawn().unwrap();
    let lines = Lines::new(child.stdout.take().unwrap());
    lines.wait_for("W=one-CANARY", LIMIT);
    stalled
        .recv_timeout(LIMIT)
        .expect("no refetch reached the store");
    // SAFETY: a plain syscall to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    lines.wait_for("got-TERM", Duration::from_secs(5));
    let status = crate::util::wait_within(&mut child, Duration::from_secs(10));
    assert_eq!(
        status,
        Some(7),
        "secretrun leaves with the command's status"
    );
}
