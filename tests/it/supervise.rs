//! Supervise mode: `--redact`, `--init`, PID 1, signals and exit statuses.

use std::io::{BufRead, BufReader};

use crate::util::Lines;

/// How long a test waits for a line it expects: a bound against hanging, never a
/// measure of speed.
pub const LIMIT: Duration = Duration::from_secs(30);
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
    // 100 MB with the value every 1000 bytes: every one replaced, nothing else changed.
    let script =
        r#"line=$(printf 'x%.0s' $(seq 1 960)); yes "$line $STRIPE_SECRET_KEY" | head -n 100000"#;
    let test = secrets().args(["--redact", "--", "bash", "-c", script]);
    let output = test.command().output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        output.stdout.len(),
        100_000 * (960 + 1 + "[STRIPE_SECRET_KEY]".len() + 1)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(text.lines().count(), 100_000);
    assert!(
        text.lines()
            .all(|l| l.ends_with(" [STRIPE_SECRET_KEY]") && l.len() == 960 + 20)
    );
    assert!(!text.contains("CANARY"));
    assert!(!String::from_utf8_lossy(&output.stderr).contains("CANARY"));
}

#[test]
fn lines_appear_as_the_command_writes_them() {
    // The command writes its second line only once the test has seen the first and
    // says so (a file `go`): a first line held back would leave both waiting, and
    // the test fails at its limit, whatever the machine's speed.
    let test = secrets().args([
        "--redact",
        "--",
        "bash",
        "-c",
        "echo first; while [ ! -e go ]; do sleep 0.02; done; echo second",
    ]);
    let mut child = test.command().spawn().unwrap();
    let lines = Lines::new(child.stdout.take().unwrap());
    assert_eq!(lines.next_within(LIMIT).unwrap(), "first");
    std::fs::write(test.dir().join("go"), "").unwrap();
    assert_eq!(lines.next_within(LIMIT).unwrap(), "second");
    assert_eq!(child.wait().unwrap().code(), Some(0));
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
    // The command waits in the `wait` builtin, which a trapped signal interrupts at
    // once. (Waiting for a foreground `sleep` instead, bash ignores an INT or QUIT
    // that arrives as the sleep exits normally: it takes the child to have handled
    // it, and the trap never runs.)
    let script = r#"
        for s in HUP INT QUIT USR1 USR2 WINCH; do trap "echo $s" $s; done
        trap 'echo TERM; exit 0' TERM
        echo ready
        while :; do sleep 30 >/dev/null 2>&1 & wait $!; done
    "#;
    let test = Test::new()
        .file(".env", "A=1\n")
        .args(["--init", "--", "bash", "-c", script]);
    let mut child = test.command().spawn().unwrap();
    let pid = child.id() as i32;
    let lines = Lines::new(child.stdout.take().unwrap());
    assert_eq!(lines.next_within(LIMIT).unwrap(), "ready");
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
        assert_eq!(
            lines.next_within(LIMIT).unwrap(),
            name,
            "{name} was forwarded"
        );
    }
    assert!(lines.next_within(LIMIT).is_none(), "more output after TERM");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn term_then_kill_after_the_grace_period() {
    // A command that exits on TERM: with its status, 143, not the 137 of the KILL
    // that would follow the default 10 s grace period. TERM is sent once the command
    // says it runs (supervise mode has blocked its signals by then).
    let test = Test::new().file(".env", "A=1\n").args([
        "--init",
        "--",
        "bash",
        "-c",
        "echo ready; exec sleep 30",
    ]);
    let mut child = test.command().spawn().unwrap();
    let lines = Lines::new(child.stdout.take().unwrap());
    assert_eq!(lines.next_within(LIMIT).unwrap(), "ready");
    // SAFETY: a plain syscall to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(child.wait().unwrap().code(), Some(128 + 15));
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
    let lines = Lines::new(child.stdout.take().unwrap());
    assert_eq!(lines.next_within(LIMIT).unwrap(), "ready");
    let started = Instant::now();
    // SAFETY: as above.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    let took = started.elapsed();
    assert_eq!(status.code(), Some(128 + 9));
    // Never before the grace period (measured from before TERM was sent, so this
    // holds however slow the machine); the upper bound only guards against a hang.
    assert!(
        took >= Duration::from_secs(1) && took < LIMIT,
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
        state() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }
        pids=""
        for i in 1 2 3; do
            pids="$pids $(sh -c 'sleep 0.2 >/dev/null 2>&1 & echo $!')"
        done
        # First every orphan has exited, observably: a zombie, or already gone.
        exited() { for p in $pids; do s=$(state $p); [ -z "$s" ] || [ "$s" = Z ] || return 1; done; }
        until exited; do sleep 0.02; done
        # Then init has three seconds to reap them; without one they stay zombies.
        for i in $(seq 150); do
            zombies=0
            for p in $pids; do [ "$(state $p)" = Z ] && zombies=$((zombies + 1)); done
            [ $zombies = 0 ] && break
            sleep 0.02
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
        let mut command = std::process::Command::new(unshare);
        crate::util::default_signals(&mut command);
        let output = command
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

#[test]
fn on_a_terminal_the_command_still_sees_a_terminal() {
    let (master, slave) = crate::util::open_pty((24, 80));
    let test = secrets().args([
        "--redact",
        "--",
        "bash",
        "-c",
        "[ -t 1 ] && echo \"stdout is a tty: $STRIPE_SECRET_KEY\" || echo \"stdout is a pipe: $STRIPE_SECRET_KEY\"",
    ]);
    let mut command = test.command();
    command.stdout(std::process::Stdio::from(slave));
    let mut child = command.spawn().unwrap();
    // Drop our copy of the slave (it went into the command) and read to the end.
    drop(command);
    let stderr = Lines::new(child.stderr.take().unwrap());
    let status = child.wait().unwrap();
    assert!(status.success());
    let text = crate::util::read_pty(master);
    assert!(
        text.contains("stdout is a tty: [STRIPE_SECRET_KEY]"),
        "{text:?}"
    );
    assert!(!text.contains("CANARY"));
    while let Some(line) = stderr.next_within(LIMIT) {
        assert!(!line.contains("CANARY"), "a value leaked to stderr");
    }
}

/// The command inherits its three standard streams and what secretrun itself
/// inherited, nothing else: not the pty's other end, not the pipes' read ends, not
/// a file a store opened. On a terminal (a pty stands in) and on pipes alike.
#[test]
fn the_command_inherits_no_descriptor_of_the_supervisor() {
    let script = "ls /proc/self/fd";
    let fds = |listing: &str| -> Vec<String> {
        let mut fds: Vec<String> = listing.split_whitespace().map(str::to_owned).collect();
        fds.sort();
        fds
    };
    // What a child of this test inherits without secretrun between (`ls` opens
    // the directory it lists, the lowest free descriptor, in both).
    let direct = std::process::Command::new("sh")
        .args(["-c", script])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let expected = fds(&String::from_utf8_lossy(&direct.stdout));
    assert!(expected.len() >= 4, "{expected:?}");
    let listing = ["--redact", "--", "sh", "-c", script];
    let (master, slave) = crate::util::open_pty((24, 80));
    let test = secrets().args(listing);
    let mut command = test.command();
    command.stdout(std::process::Stdio::from(slave));
    let mut child = command.spawn().unwrap();
    drop(command);
    assert!(child.wait().unwrap().success());
    assert_eq!(
        fds(&crate::util::read_pty(master)),
        expected,
        "on a terminal"
    );
    let run = secrets().args(listing).run();
    run.success();
    assert_eq!(fds(&run.stdout), expected, "on pipes");
}

#[test]
fn the_pty_follows_the_terminal_size() {
    let (master, slave) = crate::util::open_pty((40, 100));
    use std::os::fd::AsRawFd;
    let resize_fd = master.as_raw_fd();
    let script =
        "trap 'stty size 0<&1' WINCH; stty size 0<&1; echo ready; while :; do sleep 0.05; done";
    let test = secrets().args(["--redact", "--", "bash", "-c", script]);
    let mut command = test.command();
    command.stdout(std::process::Stdio::from(slave));
    let mut child = command.spawn().unwrap();
    drop(command);
    let mut lines = BufReader::new(master).lines();
    let mut next = || {
        lines
            .next()
            .unwrap()
            .unwrap()
            .trim_end_matches('\r')
            .to_owned()
    };
    assert_eq!(next(), "40 100");
    assert_eq!(next(), "ready");
    // SAFETY: a window size on our pty, then a signal to our child.
    unsafe {
        let size = libc::winsize {
            ws_row: 50,
            ws_col: 120,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        assert_eq!(libc::ioctl(resize_fd, libc::TIOCSWINSZ, &size), 0);
        libc::kill(child.id() as i32, libc::SIGWINCH);
    }
    assert_eq!(next(), "50 120");
    // SAFETY: as above.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(child.wait().unwrap().code(), Some(128 + 15));
}

/// Runs `secretrun ARGS` through `sh -c` with `prelude` first (a `trap` as a shell
/// script sets it), the command's stdout piped back.
fn through_shell(test: &Test, prelude: &str, args: &str) -> std::process::Child {
    let line = format!("{prelude} exec {} {args}", crate::util::BIN);
    let mut shell = std::process::Command::new("/bin/sh");
    crate::util::default_signals(&mut shell);
    shell
        .args(["-c", &line])
        .env_clear()
        .env("PATH", crate::util::PATH)
        .current_dir(test.dir())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    shell.spawn().unwrap()
}

#[test]
fn a_signal_the_parent_ignored_stays_ignored_in_supervise_mode() {
    // As `cmd &` in a script, or `trap '' TERM`: the disposition is SIG_IGN when
    // secretrun starts. Exec mode keeps it; so must supervise mode.
    for (sig, name) in [
        (libc::SIGINT, "INT"),
        (libc::SIGTERM, "TERM"),
        (libc::SIGHUP, "HUP"),
    ] {
        for mode in ["--init", "--redact"] {
            let test = Test::new().file(".env", "A=1\n");
            let mut child = through_shell(
                &test,
                &format!("trap '' {name};"),
                &format!(
                    "{mode} --kill-timeout 200ms -- sh -c 'echo ready; sleep 1; echo survived'"
                ),
            );
            let lines = Lines::new(child.stdout.take().unwrap());
            assert_eq!(lines.next_within(LIMIT).unwrap(), "ready");
            // SAFETY: a plain syscall to our own child (secretrun, after exec).
            unsafe { libc::kill(child.id() as i32, sig) };
            assert_eq!(
                lines.next_within(LIMIT).as_deref(),
                Some("survived"),
                "{mode} with {name} ignored"
            );
            assert_eq!(child.wait().unwrap().code(), Some(0), "{mode}, {name}");
        }
    }
}

#[test]
fn the_command_dies_with_a_killed_supervisor() {
    let test = Test::new().file(".env", "A=1\n").args([
        "--init",
        "--",
        "sh",
        "-c",
        "echo $$; exec sleep 30",
    ]);
    let mut child = test.command().spawn().unwrap();
    let lines = Lines::new(child.stdout.take().unwrap());
    let command: i32 = lines.next_within(LIMIT).unwrap().parse().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    // The command is killed by the kernel at once; its zombie is then reaped by
    // whoever adopted it, so "gone or a zombie" is the observable end.
    let gone = || {
        std::fs::read_to_string(format!("/proc/{command}/stat"))
            .map(|s| s.rsplit(") ").next().unwrap_or("").starts_with('Z'))
            .unwrap_or(true)
    };
    let started = Instant::now();
    while !gone() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the command outlived the killed supervisor"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A command with a helper in its process group that has no USR1 handler; it says
/// whether the helper survived each USR1 it gets (a killed helper is a zombie or
/// gone after a moment: `kill -0` would still succeed on the zombie).
pub const HELPER_SCRIPT: &str = r#"
    sleep 30 & helper=$!
    trap 'sleep 0.3; state=$(cut -d" " -f3 /proc/$helper/stat 2>/dev/null); [ "$state" = S ] && echo "USR1 helper-alive" || echo "USR1 helper-dead"' USR1
    echo "W=$W"
    while :; do sleep 0.05; done
"#;

#[test]
fn usr1_forwarded_reaches_the_command_not_its_helpers() {
    let test =
        Test::new()
            .file(".env", "W=one\n")
            .args(["--init", "--", "bash", "-c", HELPER_SCRIPT]);
    let mut child = test.command().spawn().unwrap();
    let lines = Lines::new(child.stdout.take().unwrap());
    lines.wait_for("W=one", Duration::from_secs(10));
    // SAFETY: a plain syscall to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGUSR1) };
    lines.wait_for("USR1 helper-alive", Duration::from_secs(10));
    // SAFETY: as above.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(child.wait().unwrap().code(), Some(128 + 15));
}

#[test]
fn merged_streams_keep_their_order_through_one_pipe() {
    let test = Test::new().file(".env", "A=1\n");
    let child = through_shell(
        &test,
        "",
        "--redact -- sh -c 'for i in 1 2 3 4 5 6 7 8; do echo out$i; echo err$i >&2; done' 2>&1",
    );
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let expected: String = (1..=8).map(|i| format!("out{i}\nerr{i}\n")).collect();
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
}

#[test]
fn overlapping_values_are_masked_whole() {
    let run = Test::new()
        .file(".env", "OV1=AAAACANARY\nOV2=CANARYCCCC\n")
        .args([
            "--redact",
            "--",
            "sh",
            "-c",
            "echo AAAACANARYCCCC; echo AAAACANARYCCCC >&2",
        ])
        .run();
    run.success().no_canary();
    assert_eq!(run.stdout, "[OV1][OV2]\n");
    assert_eq!(run.stderr, "[OV1][OV2]\n");
}

#[test]
fn a_parent_that_ignores_sigchld_does_not_hang_supervise_mode() {
    // Python sets SIGCHLD to SIG_IGN and execs secretrun, which inherits it: the
    // kernel would reap the command itself and its status would never be seen.
    let test = Test::new().file(".env", "A=1\n");
    let script = format!(
        "import os, signal; signal.signal(signal.SIGCHLD, signal.SIG_IGN); \
         os.execv({:?}, ['secretrun', '--init', '--', 'sh', '-c', 'exit 7'])",
        crate::util::BIN
    );
    let mut command = std::process::Command::new("python3");
    crate::util::default_signals(&mut command);
    let mut child = command
        .args(["-c", &script])
        .env_clear()
        .env("PATH", crate::util::PATH)
        .current_dir(test.dir())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(7));
            break;
        }
        if started.elapsed() > LIMIT {
            child.kill().unwrap();
            panic!("supervise mode hung with SIGCHLD ignored");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
