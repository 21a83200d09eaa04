//! Supervise mode on a real terminal: a pty that leads its own session, with an
//! interactive bash on it (job control, Ctrl-C, Ctrl-Z), and secretrun as PID 1 of a
//! new PID namespace on such a terminal, as `docker run -it` gives it.

use std::time::Duration;

use crate::util::{BIN, CANARY, PATH, Terminal, Test};

const LIMIT: Duration = Duration::from_secs(30);

// The commands below wait in bash's `wait` builtin, which a trapped signal
// interrupts at once: waiting for a foreground `sleep`, bash ignores a Ctrl-C that
// comes as the sleep exits normally (it takes the child to have handled it).

const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCCANARY\n-----END PRIVATE KEY-----";

fn project() -> Test {
    Test::new().file(
        ".env",
        format!("STRIPE_SECRET_KEY={CANARY}\nPEM=\"{PEM}\"\nA=plain\n"),
    )
}

/// An interactive bash (job control on) on a fresh terminal, in the project dir.
fn shell(test: &Test) -> Terminal {
    let home = test.dir().to_str().unwrap().to_owned();
    let mut term = Terminal::spawn(
        &["/bin/bash", "--norc", "--noprofile", "--noediting", "-i"],
        test.dir(),
        &[
            ("PATH", PATH),
            ("HOME", &home),
            ("PS1", "$ "),
            ("TERM", "dumb"),
        ],
    );
    // The marker is computed, so the echo of this line cannot match it.
    term.send("stty -echo; echo shell-$((40 + 2))\n");
    term.expect("shell-42\r\n", LIMIT);
    term
}

fn unshare() -> &'static str {
    ["/usr/bin/unshare", "/bin/unshare"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .expect("unshare (util-linux) is needed for the PID 1 tests")
}

#[test]
fn supervise_mode_finishes_when_stdin_is_a_terminal() {
    let test = project();
    let mut term = shell(&test);
    for (mode, shown) in [("--init", "got plain"), ("--redact", "got [A]")] {
        term.send(&format!(
            "{BIN} {mode} -- sh -c 'echo \"got $A\"'; echo \"status-$?\"\n"
        ));
        let out = term.expect("status-", LIMIT);
        assert!(out.contains(shown), "{mode}: {out:?}");
        term.expect("0\r\n", LIMIT);
    }
    // The shell can read from its terminal again: the foreground came back to it.
    term.send("read line; echo \"read-$line\"\nback\n");
    term.expect("read-back", LIMIT);
}

#[test]
fn as_pid_1_on_a_terminal_it_finishes_and_ctrl_c_reaches_the_command_once() {
    let test = project();
    let mut term = shell(&test);
    term.send(&format!(
        "{} --pid --fork --mount-proc {BIN} -- sh -c 'echo \"pid=$$ got $A\"'; echo \"status-$?\"\n",
        unshare()
    ));
    let out = term.expect("status-0", LIMIT);
    assert!(out.contains("pid=2 got plain"), "{out:?}");
    let script = "trap 'echo got-INT; exit 3' INT; echo ready; while :; do sleep 30 >/dev/null 2>&1 & wait $!; done";
    term.send(&format!(
        "{} --pid --fork --mount-proc {BIN} -- bash -c \"{script}\"; echo \"status-$?\"\n",
        unshare()
    ));
    term.expect("ready", LIMIT);
    term.send("\x03");
    let out = term.expect("status-", LIMIT);
    assert_eq!(out.matches("got-INT").count(), 1, "{out:?}");
    term.expect("3\r\n", LIMIT);
}

#[test]
fn ctrl_c_reaches_the_command_once_and_ctrl_z_stops_the_job() {
    let test = project();
    let mut term = shell(&test);
    // The command says when it is continued, so that Ctrl-C is typed only once it
    // runs in the foreground again (typed earlier, it would reach the shell and
    // flush the `fg` still waiting in the terminal's input).
    let script = "trap 'echo got-INT; exit 3' INT; trap 'echo continued' CONT; echo ready; \
                  while :; do sleep 30 >/dev/null 2>&1 & wait $!; done";
    term.send(&format!(
        "{BIN} --init -- bash -c \"{script}\"; echo \"status-$?\"\n"
    ));
    term.expect("ready", LIMIT);
    // Ctrl-Z: the shell sees its job stopped and gets the terminal back.
    term.send("\x1a");
    term.expect("Stopped", LIMIT);
    term.send("echo prompt-is-back\n");
    term.expect("prompt-is-back", LIMIT);
    // `fg`: the command runs in the foreground again and Ctrl-C reaches it, once.
    // The output line, not the `fg` echo of the command (which holds the word too).
    term.send("fg\n");
    term.expect("continued\r\n", LIMIT);
    term.send("\x03");
    // A stopped job ends its list in bash: ask for the status on its own.
    term.expect("got-INT\r\n", LIMIT);
    term.send("echo \"status-$?\"\n");
    let out = term.expect("status-3\r\n", LIMIT);
    assert!(
        !out.contains("got-INT"),
        "INT reached the command twice: {out:?}"
    );
}

#[test]
fn redact_on_a_terminal_masks_multi_line_values() {
    let test = project();
    let mut term = shell(&test);
    term.send(&format!(
        "{BIN} --redact -- sh -c 'printf \"%s\\n\" \"$PEM\"; printf \"%s\\r\\n\" \"$PEM\" | sed \"s/$/\\r/\" >/dev/null; echo end'; echo \"status-$?\"\n"
    ));
    let out = term.expect("status-0", LIMIT);
    assert!(
        !out.contains("CANARY"),
        "a multi-line value leaked on the terminal"
    );
    assert!(out.contains("[PEM]"), "{:?}", crate::util::redact(&out));
    // Written with CRLF line ends by the command itself: masked as well.
    term.send(&format!(
        "{BIN} --redact -- sh -c 'printf \"%s\" \"$PEM\" | sed \"s/$/\\r/\"; echo'; echo \"status-$?\"\n"
    ));
    let out = term.expect("status-0", LIMIT);
    assert!(!out.contains("CANARY"), "a CRLF form of a value leaked");
    assert!(out.contains("[PEM]"), "{:?}", crate::util::redact(&out));
}

/// The command owns its terminal and may turn output processing back on (`stty
/// sane` does, on the pty secretrun gave it): line ends, tabs and letters are then
/// rewritten before secretrun reads them, and every form is still masked.
#[test]
fn redact_holds_whatever_output_modes_the_command_sets() {
    let test = Test::new().file(
        ".env",
        format!(
            "PEM=\"{}\"\nCRLF=\"{}\"\nTABBED=\"key\tCANARY-tabbed\"\nLOWER=lower-canary-CANARY\n",
            PEM,
            PEM.replace('\n', "\r\n").replace("PRIVATE", "OTHER")
        ),
    );
    let mut term = shell(&test);
    let modes = [
        "sane",
        "sane tab3",
        "sane olcuc",
        "sane ocrnl",
        "sane ocrnl onlret tab3",
        "sane -onlcr onocr",
        "sane onlret",
    ];
    for (i, modes) in modes.iter().enumerate() {
        term.send(&format!(
            "{BIN} --redact -- sh -c 'stty {modes} <&1; for v in \"$PEM\" \"$CRLF\" \"$TABBED\" \"$LOWER\"; do printf \"%s\\n\" \"$v\"; printf \"  %s|\\n\" \"$v\"; done; stty sane <&1'; echo \"status-$((100 + {i}))\"\n"
        ));
        let out = term.expect(&format!("status-{}", 100 + i), LIMIT);
        assert!(
            !out.to_ascii_uppercase().contains("CANARY"),
            "a value leaked after `stty {modes}`: {:?}",
            crate::util::redact(&out)
        );
        for name in ["[PEM]", "[CRLF]", "[TABBED]", "[LOWER]"] {
            assert!(out.contains(name), "{name} after `stty {modes}`: {out:?}");
        }
    }
}

#[test]
fn merged_streams_keep_their_order_on_a_terminal() {
    let test = project();
    let mut term = shell(&test);
    term.send(&format!(
        "{BIN} --redact -- sh -c 'for i in 1 2 3 4 5 6; do echo out$i; echo err$i >&2; done'; echo \"status-$?\"\n"
    ));
    let out = term.expect("status-0", LIMIT);
    let lines: Vec<&str> = out
        .split("\r\n")
        .filter(|l| l.starts_with("out") || l.starts_with("err"))
        .collect();
    let expected: Vec<String> = (1..=6)
        .flat_map(|i| [format!("out{i}"), format!("err{i}")])
        .collect();
    assert_eq!(lines, expected);
}

#[test]
fn started_in_the_background_a_command_that_reads_the_terminal_is_brought_back_by_fg() {
    let test = project();
    let mut term = shell(&test);
    term.send(&format!(
        "{BIN} --init -- sh -c 'read line; echo \"got-$line\"' &\n"
    ));
    // It reads from the terminal in the background: stopped, and the shell's job
    // with it (bash tells at a prompt, so ask `jobs` until it does).
    term.send("for i in $(seq 150); do jobs | grep -q Stopped && break; sleep 0.1; done; jobs\n");
    term.expect("Stopped", LIMIT);
    // `fg` prints the job's command line; what is typed after it waits in the
    // terminal's input for the command (only Ctrl-C or Ctrl-Z would flush it).
    term.send("fg\n");
    term.expect("read line", LIMIT);
    term.send("typed\n");
    term.expect("got-typed", LIMIT);
    term.send("echo \"status-$?\"\n");
    term.expect("status-0", LIMIT);
}

/// `scan` shows its progress on a terminal, on one line of standard error that it
/// clears at the end; none through a pipe, none for JSON. `check` colours its
/// verdicts on a terminal, and not under `NO_COLOR`.
#[test]
fn progress_and_colour_on_a_terminal_and_neither_through_a_pipe() {
    let mut test = project();
    for i in 0..50 {
        test = test.file(&format!("src/file{i}.py"), "print('hello')\n");
    }
    let mut term = shell(&test);
    let mut run = |line: &str| {
        term.send(&format!("{line}; echo \"status-$?\"\n"));
        term.expect("status-", LIMIT)
    };
    let out = run(&format!("{BIN} scan --no-values src"));
    assert!(out.contains("\r\x1b[Kscanning: "), "{out:?}");
    assert!(out.contains(" files, "), "{out:?}");
    // Cleared: nothing follows the last progress line but the clearing.
    let last = out.rfind("scanning: ").unwrap();
    assert!(out[last..].contains("\r\x1b[K"), "not cleared: {out:?}");
    for quiet in [
        format!("{BIN} scan --no-values src 2>&1 | cat"),
        format!("{BIN} scan --no-values --format json src"),
    ] {
        let out = run(&quiet);
        assert!(!out.contains("scanning"), "{quiet}: {out:?}");
    }
    let out = run(
        "git init -q . && git add src && git -c user.name=t -c user.email=t@t commit -qm one \
         && echo committed",
    );
    assert!(out.contains("committed"), "{out:?}");
    let out = run(&format!("{BIN} scan --no-values --history"));
    assert!(
        out.contains("\r\x1b[Kscanning history: 1 commits, "),
        "{out:?}"
    );
    let out = run(&format!("{BIN} check"));
    assert!(out.contains("\x1b["), "no colour on a terminal: {out:?}");
    let out = run(&format!("NO_COLOR=1 {BIN} check"));
    assert!(!out.contains("\x1b["), "colour under NO_COLOR: {out:?}");
    let out = run(&format!("{BIN} check | cat"));
    assert!(!out.contains("\x1b["), "colour through a pipe: {out:?}");
}
