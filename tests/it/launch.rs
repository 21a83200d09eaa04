//! The launch itself: the child's environment, exec, exit statuses, hardening.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;

use crate::util::{CANARY, PATH, Test};

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[test]
fn child_env_is_exactly_secrets_plus_baseline() {
    let test = Test::new().file(".env", "API_KEY=abc\nexport DEBUG=false\n");
    let home = test.dir().to_str().unwrap().to_owned();
    let run = test
        .env("USER", "u")
        .env("LOGNAME", "u")
        .env("SHELL", "/bin/sh")
        .env("TERM", "xterm")
        .env("LANG", "C.UTF-8")
        .env("LC_ALL", "C")
        .env("TZ", "UTC")
        .env("TMPDIR", "/tmp")
        .env("VAULT_TOKEN", "decoy-vault-token")
        .env("AWS_SECRET_ACCESS_KEY", "decoy-aws-secret")
        .env("SECRETRUN_TIMEOUT", "5s")
        .env("UNRELATED", "x")
        .args(["--", "env", "-0"])
        .run();
    run.success();
    assert_eq!(
        run.env0(),
        map(&[
            ("API_KEY", "abc"),
            ("DEBUG", "false"),
            ("PATH", PATH),
            ("HOME", &home),
            ("USER", "u"),
            ("LOGNAME", "u"),
            ("SHELL", "/bin/sh"),
            ("TERM", "xterm"),
            ("LANG", "C.UTF-8"),
            ("LC_ALL", "C"),
            ("TZ", "UTC"),
            ("TMPDIR", "/tmp"),
        ])
    );
}

#[test]
fn pure_passes_only_secrets() {
    let run = Test::new()
        .file(".env", "A=1\n")
        .env("TERM", "xterm")
        .args(["--pure", "--", "env", "-0"])
        .run();
    run.success();
    // PATH is gone from the child, yet `env` was found on the parent's PATH.
    assert_eq!(run.env0(), map(&[("A", "1")]));
}

#[test]
fn keep_names_and_globs_but_protected_only_by_exact_name() {
    let run = Test::new()
        .file(".env", "PORT=8000\n")
        .env("PORT", "1234")
        .env("RAILWAY_ENVIRONMENT", "production")
        .env("RAILWAY_TOKEN_X", "r")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_SECRET_ACCESS_KEY", "decoy")
        .env("VAULT_TOKEN", "decoy")
        .env("BAO_TOKEN", "decoy")
        .args([
            "--pure",
            "--keep",
            "PORT",
            "--keep",
            "RAILWAY_*",
            "--keep",
            "AWS_*",
        ])
        .args([
            "--keep",
            "*TOKEN",
            "--keep",
            "AWS_REGION",
            "--",
            "env",
            "-0",
        ])
        .run();
    run.success();
    assert_eq!(
        run.env0(),
        map(&[
            ("PORT", "1234"),
            ("RAILWAY_ENVIRONMENT", "production"),
            ("RAILWAY_TOKEN_X", "r"),
            ("AWS_REGION", "eu-west-1"),
        ])
    );
}

#[test]
fn kept_name_absent_from_parent_keeps_the_secret() {
    let run = Test::new()
        .file(".env", "PORT=8000\n")
        .args(["--pure", "--keep", "PORT", "--", "env", "-0"])
        .run();
    run.success();
    assert_eq!(run.env0(), map(&[("PORT", "8000")]));
}

#[test]
fn exec_keeps_the_pid() {
    let test = Test::new().file(".env", "A=1\n");
    let child = test
        .command()
        .args(["--", "sh", "-c", "echo $$"])
        .spawn()
        .unwrap();
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        pid.to_string()
    );
}

#[test]
fn argv_passes_through_unchanged() {
    let run = Test::new()
        .file(".env", "A=1\n")
        .args([
            "--",
            "sh",
            "-c",
            "printf '[%s]' \"$0\" \"$@\"",
            "zero",
            "a b",
            "",
            "--from",
            "$A",
            "*",
        ])
        .run();
    run.success().stdout_is("[zero][a b][][--from][$A][*]");
}

#[test]
fn exit_statuses_pass_through() {
    let test = Test::new().file(".env", "A=1\n");
    for code in 0..=255 {
        let run = Test::run_with(&test, &["--", "sh", "-c", &format!("exit {code}")]);
        run.status(code);
    }
}

impl Test {
    fn run_with(&self, args: &[&str]) -> crate::util::Run {
        self.command().args(args).output().unwrap().into()
    }
}

#[test]
fn command_not_found_is_127() {
    Test::new()
        .file(".env", "A=1\n")
        .args(["--", "no-such-command-here"])
        .run()
        .status(127)
        .stderr_is("error: `no-such-command-here` was not found on PATH\n");
    Test::new()
        .file(".env", "A=1\n")
        .args(["--", "./missing"])
        .run()
        .status(127)
        .stderr_is("error: `./missing` was not found\n");
}

#[test]
fn command_not_executable_is_126() {
    let test = Test::new()
        .file(".env", "A=1\n")
        .file("bin/tool", "#!/bin/sh\necho hi\n");
    let bin = test.dir().join("bin");
    let path = format!("{}:{PATH}", bin.display());
    let test = test.env("PATH", &path);
    let run = test.run_with(&["--", "tool"]);
    run.status(126)
        .stderr_has("`tool` was found at")
        .stderr_has("hint: `chmod +x ");
    let run = test.run_with(&["--", "./bin"]);
    run.status(126).stderr_has("running `./bin`");
    std::fs::set_permissions(bin.join("tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = test.run_with(&["--", "tool"]);
    run.success().stdout_is("hi\n");
}

/// A script without a `#!` line runs with /bin/sh, as from a shell (execvp's rule),
/// with the child's environment, in exec and supervise mode alike.
#[test]
fn a_script_without_a_hashbang_line_runs_with_sh() {
    let test = Test::new()
        .file(".env", "GREETING=hi\n")
        .file("bin/tool", "echo \"$GREETING from $0\"\n");
    let tool = test.dir().join("bin/tool");
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    for mode in [&["--"][..], &["--redact", "--"]] {
        let args: Vec<&str> = mode.iter().copied().chain(["./bin/tool"]).collect();
        let run = test.run_with(&args);
        run.success().stdout_is("hi from ./bin/tool\n");
    }
}

#[test]
fn command_is_resolved_on_the_parents_path_not_the_childs() {
    // A secret named PATH must not decide which program runs.
    let test = Test::new().file("evil/env", "#!/bin/sh\necho evil\n");
    let evil = test.dir().join("evil");
    std::fs::set_permissions(evil.join("env"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = test
        .file(".env", format!("PATH={}\n", evil.display()))
        .args(["--", "env", "-0"])
        .run();
    run.success();
    assert_eq!(run.env0()["PATH"], evil.display().to_string());
}

#[test]
fn signal_mask_and_sigpipe_are_reset() {
    let test = Test::new().file(".env", "A=1\n");
    let mut command = test.command();
    command.args(["--", "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR1);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
    let run: crate::util::Run = command.output().unwrap().into();
    run.success();
    assert_eq!(
        signal_set(&run.stdout, "SigBlk:"),
        0,
        "the signal mask reached the child"
    );
    // Rust's runtime ignores SIGPIPE in secretrun; the child must not inherit that.
    assert_eq!(
        signal_set(&run.stdout, "SigIgn:") & SIGPIPE_BIT,
        0,
        "SIGPIPE stays ignored in the child"
    );
}

/// SIGPIPE's bit in the signal sets of /proc/PID/status.
const SIGPIPE_BIT: u64 = 1 << (libc::SIGPIPE - 1);

/// A signal set (`SigBlk:`, `SigIgn:`) of a /proc/PID/status the command printed.
fn signal_set(status: &str, field: &str) -> u64 {
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

#[test]
fn a_sigpipe_the_parent_ignored_stays_ignored() {
    // As `trap '' PIPE` in a shell script: secretrun ignores SIGPIPE for itself too
    // (src/start.rs), so only what it recorded before that tells the two apart.
    for mode in [&[][..], &["--redact"], &["--init"]] {
        let test = Test::new().file(".env", "A=1\n");
        let mut command = test.command();
        command.args(mode);
        command.args(["--", "grep", "^SigIgn", "/proc/self/status"]);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::signal(libc::SIGPIPE, libc::SIG_IGN);
                Ok(())
            });
        }
        let run: crate::util::Run = command.output().unwrap().into();
        run.success();
        assert_eq!(
            signal_set(&run.stdout, "SigIgn:") & SIGPIPE_BIT,
            SIGPIPE_BIT,
            "{mode:?}: the parent's ignored SIGPIPE did not reach the command"
        );
    }
}

#[test]
fn closed_standard_streams_are_opened_on_dev_null() {
    // A closed 0, 1 or 2 is opened on /dev/null before anything else, so no file
    // secretrun opens takes the number, and the command inherits /dev/null there.
    // `$$` is the command itself (secretrun execs it), and the shell's own descriptors
    // are read from a command substitution, which leaves them as they were inherited.
    let cases: [(&[i32], &str, &str); 2] = [
        (&[0, 2], "readlink /proc/$$/fd/0 /proc/$$/fd/2", "stdout"),
        (
            &[1],
            "t=$(readlink /proc/$$/fd/1); echo \"$t\" >&2",
            "stderr",
        ),
    ];
    for (closed, script, shown_on) in cases {
        let test = Test::new().file(".env", "A=1\n");
        let mut command = test.command();
        command.args(["--", "sh", "-c", script]);
        let closed = closed.to_vec();
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                for &fd in &closed {
                    libc::close(fd);
                }
                Ok(())
            });
        }
        let run: crate::util::Run = command.output().unwrap().into();
        run.success();
        let shown = if shown_on == "stdout" {
            &run.stdout
        } else {
            &run.stderr
        };
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(
            lines.len(),
            script.matches("/proc").count(),
            "{script}: {shown}"
        );
        assert!(lines.iter().all(|l| *l == "/dev/null"), "{script}: {shown}");
    }
}

#[test]
fn no_core_dumps_while_secrets_are_held_and_the_childs_limit_restored() {
    // The dotenv source is a FIFO: secretrun blocks reading it after hardening, and
    // the secret travels through a pipe, never a file.
    let test = Test::new();
    let fifo = test.dir().join("fifo.env");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let mut command = test.command();
    command.args(["--from", "fifo.env", "--", "sh", "-c", "ulimit -c"]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 4096 * 512,
                rlim_max: libc::RLIM_INFINITY,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &limit);
            Ok(())
        });
    }
    let child = command.spawn().unwrap();
    let limits_path = format!("/proc/{}/limits", child.id());
    // Opening the FIFO for writing waits for secretrun to open it for reading.
    let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    let limits = std::fs::read_to_string(&limits_path).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert_eq!(core.split_whitespace().nth(4), Some("0"), "{core}");
    std::io::Write::write_all(&mut writer, format!("KEY={CANARY}\n").as_bytes()).unwrap();
    drop(writer);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    // `ulimit -c` counts 512-byte blocks... or KiB in dash: either way not 0.
    let shown = String::from_utf8(output.stdout).unwrap();
    assert!(
        ["4096", "2048"].contains(&shown.trim()),
        "child core limit: {shown}"
    );
}

#[test]
fn value_over_128_kib_is_named_before_exec() {
    let big = format!("{CANARY}{}", "x".repeat(130 * 1024));
    let run = Test::new()
        .file(".env", format!("SMALL=1\nBIG={big}\n"))
        .args(["--", "true"])
        .run();
    run.status(65).no_canary().stderr_has(
        "error: this value is over the kernel's limit of 128 KiB per variable: `BIG`\n",
    );
}

#[test]
fn total_over_arg_max_is_named_before_exec() {
    let mut text = String::new();
    for i in 0..40 {
        text.push_str(&format!("V{i}={CANARY}{}\n", "y".repeat(100 * 1024)));
    }
    let run = Test::new().file(".env", text).args(["--", "true"]).run();
    run.status(65)
        .no_canary()
        .stderr_has("over the system's ARG_MAX");
}

pub fn which(program: &str) -> Option<std::path::PathBuf> {
    PATH.split(':')
        .map(|d| std::path::Path::new(d).join(program))
        .find(|p| p.is_file())
}
