//! Supervise mode: `--redact`, `--init`, PID 1, signals and exit statuses.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use crate::util::{CANARY, Test};

const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCCANARY\n-----END PRIVATE KEY-----";

fn secrets() -> Test {
    Test::new().file(
        ".env",
        format!("STRIPE_SECRET_KEY={CANARY}\nPEM=\"{PEM}\"\nSHORT=abc\n"),
    )
}

#[test]
fn redact_masks_values_split_across_writes_multi_line_and_binary() {
    let script = r#"
        echo "key=$STRIPE_SECRET_KEY short=$SHORT"
        printf '%s' "$STRIPE_SECRET_KEY" | head -c 11; sleep 0.2
        printf '%s' "$STRIPE_SECRET_KEY" | tail -c +12; echo " (split)"
        printf '%s\n' "$PEM"
        printf '\377\376binary\000 %s \200\n' "$STRIPE_SECRET_KEY"
        echo "err $STRIPE_SECRET_KEY" >&2
        exit 7
    "#;
    let run = secrets()
        .args(["--redact", "--", "bash", "-c", script])
        .run();
    run.status(7).no_canary();
    assert_eq!(
        run.stdout,
        "key=[STRIPE_SECRET_KEY] short=abc\n[STRIPE_SECRET_KEY] (split)\n[PEM]\n\u{fffd}\u{fffd}binary\0 [STRIPE_SECRET_KEY] \u{fffd}\n"
    );
    assert!(
        run.stderr.ends_with("err [STRIPE_SECRET_KEY]\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn redact_passes_binary_bytes_unharmed() {
    let output = secrets()
        .args(["--redact", "--", "bash", "-c", r#"printf '\377\000\200\n'"#])
        .command()
        .output()
        .unwrap();
    assert_eq!(output.stdout, b"\xff\x00\x80\n");
}

#[test]
fn redact_large_output() {
    // 20 MB with the value every 1000 bytes: every one replaced, nothing else changed.
    let script = r#"line=$(printf 'x%.0s' $(seq 1 960)); for i in $(seq 1 20000); do printf '%s %s\n' "$line" "$STRIPE_SECRET_KEY"; done"#;
    let output = secrets()
        .args(["--redact", "--", "bash", "-c", script])
        .command()
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(text.lines().count(), 20000);
    assert!(
        text.lines()
            .all(|l| l.ends_with(" [STRIPE_SECRET_KEY]") && l.len() == 960 + 20)
    );
    assert!(!text.contains("CANARY"));
}

#[test]
fn lines_appear_as_the_command_writes_them() {
    // The temp dir lives as long as `test`: the command reads `.env` from it.
    let test = secrets().args([
        "--redact",
        "--",
        "bash",
        "-c",
        "echo first; sleep 3; echo second",
    ]);
    let mut child = test.command().spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = Instant::now();
    assert_eq!(lines.next().unwrap().unwrap(), "first");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the first line waited for the second"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn exit_statuses_and_deaths_by_signal() {
    for (script, status) in [
        ("exit 0", 0),
        ("exit 42", 42),
        ("kill -USR1 $$", 128 + 10),
        ("kill -KILL $$", 128 + 9),
    ] {
        Test::new()
            .file(".env", "A=1\n")
            .args(["--init", "--", "bash", "-c", script])
            .run()
            .status(status);
    }
}

#[test]
fn each_forwarded_signal_reaches_the_command_exactly_once() {
    let script = r#"
        for s in HUP INT QUIT USR1 USR2 WINCH; do trap "echo $s" $s; done
        trap 'echo TERM; exit 0' TERM
        echo ready
        while :; do sleep 0.05; done
    "#;
    let test = Test::new()
        .file(".env", "A=1\n")
        .args(["--init", "--", "bash", "-c", script]);
    let mut child = test.command().spawn().unwrap();
    let pid = child.id() as i32;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    let signals = [
        (libc::SIGHUP, "HUP"),
        (libc::SIGINT, "INT"),
        (libc::SIGQUIT, "QUIT"),
        (libc::SIGUSR1, "USR1"),
        (libc::SIGUSR2, "USR2"),
        (libc::SIGWINCH, "WINCH"),
        (libc::SIGTERM, "TERM"),
    ];
    for (sig, name) in signals {
        // SAFETY: a plain syscall to our own child.
        assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
        assert_eq!(lines.next().unwrap().unwrap(), name);
    }
    assert!(lines.next().is_none(), "more output after TERM");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn term_then_kill_after_the_grace_period() {
    // A command that exits on TERM: at once, with its status.
    let test = Test::new()
        .file(".env", "A=1\n")
        .args(["--init", "--", "sleep", "30"]);
    let child = test.command().spawn().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    // SAFETY: a plain syscall to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(128 + 15));
    assert!(started.elapsed() < Duration::from_secs(2));
    // A command that ignores TERM: KILL after --kill-timeout.
    let test = Test::new().file(".env", "A=1\n").args([
        "--init",
        "--kill-timeout",
        "1s",
        "--",
        "bash",
        "-c",
        "trap '' TERM; echo ready; sleep 30",
    ]);
    let mut child = test.command().spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    let started = Instant::now();
    // SAFETY: as above.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    let took = started.elapsed();
    assert_eq!(status.code(), Some(128 + 9));
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "took {took:?}"
    );
}

#[test]
fn as_pid_1_orphans_are_reaped() {
    // In a new PID namespace secretrun is PID 1 and orphans are reparented to it. The
    // command (Python, which waits only for its own child) runs a script that leaves
    // three orphans, waits for them to die, then counts zombies. The control, with
    // `--no-init`, shows that without secretrun's reaping they stay zombies.
    let script = r#"
        for i in 1 2 3; do (sleep 0.2 &) ; done
        sleep 1
        zombies=0
        for f in /proc/[0-9]*/stat; do
            state=$(sed 's/.*) //' "$f" 2>/dev/null | cut -d' ' -f1)
            [ "$state" = Z ] && zombies=$((zombies + 1))
        done
        echo "pid1=$(cat /proc/1/comm) zombies=$zombies"
    "#;
    let unshare = ["/usr/bin/unshare", "/bin/unshare"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file());
    let unshare = unshare.expect("unshare (util-linux) is needed for the PID 1 test");
    let test = Test::new().file(".env", "A=1\n").file("orphans.sh", script);
    let python =
        "import subprocess, sys; sys.exit(subprocess.run(['bash', 'orphans.sh']).returncode)";
    let run = |extra: &[&str]| {
        let output = std::process::Command::new(unshare)
            .args(["--pid", "--fork", "--mount-proc", crate::util::BIN])
            .args(extra)
            .args(["--", "python3", "-c", python])
            .env_clear()
            .env("PATH", crate::util::PATH)
            .current_dir(test.dir())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert_eq!(run(&[]), "pid1=secretrun zombies=0\n");
    assert_eq!(run(&["--no-init"]), "pid1=python3 zombies=3\n");
}
