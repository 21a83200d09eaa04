//! Supervise mode: secretrun stays as a thin parent instead of exec'ing, when asked
//! (`--redact`, `--init`) or when it is PID 1 (a container's entrypoint, unless
//! `--no-init`).
//!
//! As tini does: the command runs in a process group of its own (given the terminal's
//! foreground when stdin is one, so Ctrl-C reaches it straight from the terminal,
//! once); TERM, INT, HUP, QUIT, USR1, USR2 and WINCH sent to secretrun are forwarded
//! to that group; a TERM or INT not obeyed within `--kill-timeout` is followed by
//! KILL; as PID 1 every orphan that is reparented to us is reaped. The signals are
//! blocked and taken with `sigtimedwait` in the main thread: no handler runs.
//!
//! With `--redact`, the command's stdout and stderr are pipes read by one thread
//! each, through [`crate::redact`], to secretrun's own. The parent then holds the
//! secret values for as long as the command runs (redaction needs them); it stays
//! non-dumpable all that time.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::env::ChildEnv;
use crate::exec::{self, Hardening};
use crate::redact::Redactor;

/// The signals forwarded to the command.
const FORWARDED: &[libc::c_int] = &[
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
];

/// How long output may still drain after the command exits (a grandchild may hold
/// the pipe open forever).
const DRAIN: Duration = Duration::from_secs(2);

pub struct Options {
    pub kill_timeout: Duration,
    /// Reap every child, not only the command: secretrun is PID 1 or `--init`.
    pub reap_all: bool,
}

fn signal_set(extra: &[libc::c_int]) -> libc::sigset_t {
    // SAFETY: sigset operations on a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &sig in FORWARDED.iter().chain(extra) {
            libc::sigaddset(&mut set, sig);
        }
        set
    }
}

/// Runs the command under supervision and returns the exit status to leave with:
/// the command's, or 128+N when a signal N killed it.
pub fn run(
    program: &Path,
    args: &[OsString],
    env: &ChildEnv,
    redactor: Option<Redactor>,
    hardening: Hardening,
    options: Options,
) -> Result<u8> {
    let set = signal_set(&[libc::SIGCHLD]);
    // SAFETY: blocking signals in this, the only, thread; threads started later
    // inherit the mask, so every forwarded signal is taken by `sigtimedwait` here.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };

    let mut command = exec::command(program, args, env);
    if redactor.is_some() {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    let core = hardening.core_limit();
    // SAFETY: isatty has no preconditions.
    let stdin_is_tty = unsafe { libc::isatty(libc::STDIN_FILENO) } == 1;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            libc::setrlimit(libc::RLIMIT_CORE, &core);
            libc::setpgid(0, 0);
            if stdin_is_tty && libc::tcgetpgrp(libc::STDIN_FILENO) == libc::getpgid(libc::getppid())
            {
                // Take the terminal's foreground; a background group asking for it
                // would be stopped by SIGTTOU, which is still blocked here.
                libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpgrp());
            }
            for sig in 1..32 {
                if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                    libc::signal(sig, libc::SIG_DFL);
                }
            }
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .map_err(|e| exec::start_failure(program, &e))?;
    let pid = child.id() as libc::pid_t;

    let (done_tx, done_rx) = mpsc::channel::<()>();
    let mut pumps = 0;
    let redactor = redactor.map(std::sync::Arc::new);
    if let Some(redactor) = &redactor {
        if let Some(out) = child.stdout.take() {
            pumps += 1;
            spawn_pump(out, std::io::stdout(), redactor.clone(), done_tx.clone())?;
        }
        if let Some(err) = child.stderr.take() {
            pumps += 1;
            spawn_pump(err, std::io::stderr(), redactor.clone(), done_tx.clone())?;
        }
    }
    drop(done_tx);

    let status = wait_forwarding(pid, &set, &options)?;
    // Let the output drain, then leave even if a grandchild keeps a pipe open.
    let deadline = Instant::now() + DRAIN;
    for _ in 0..pumps {
        if done_rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_err()
        {
            break;
        }
    }
    let _ = std::io::stdout().flush();
    Ok(status)
}

/// Forwards signals to the command's process group until the command exits, reaping
/// on the way; returns its exit status.
fn wait_forwarding(pid: libc::pid_t, set: &libc::sigset_t, options: &Options) -> Result<u8> {
    let mut kill_at: Option<Instant> = None;
    let tick = libc::timespec {
        tv_sec: 0,
        tv_nsec: 100_000_000,
    };
    loop {
        if let Some(status) = reap(pid, options.reap_all)? {
            return Ok(status);
        }
        // SAFETY: a valid set and timeout; siginfo is not needed.
        let sig = unsafe { libc::sigtimedwait(set, std::ptr::null_mut(), &tick) };
        if sig > 0 && sig != libc::SIGCHLD {
            // SAFETY: a plain syscall; the group is the command's.
            unsafe { libc::kill(-pid, sig) };
            if (sig == libc::SIGTERM || sig == libc::SIGINT) && kill_at.is_none() {
                kill_at = Some(Instant::now() + options.kill_timeout);
            }
        }
        if kill_at.is_some_and(|at| Instant::now() >= at) {
            // SAFETY: as above.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            kill_at = None;
        }
    }
}

/// Reaps what has exited; the command's status once it has.
fn reap(pid: libc::pid_t, all: bool) -> Result<Option<u8>> {
    let mut found = None;
    loop {
        let mut status = 0;
        // SAFETY: a plain syscall on a valid pointer.
        let reaped =
            unsafe { libc::waitpid(if all { -1 } else { pid }, &mut status, libc::WNOHANG) };
        if reaped <= 0 {
            if reaped < 0 && found.is_none() {
                let err = std::io::Error::last_os_error();
                if err.raw_os_error() != Some(libc::ECHILD) {
                    return Err(err).context("waiting for the command");
                }
            }
            return Ok(found);
        }
        if reaped == pid {
            let status = std::process::ExitStatus::from_raw(status);
            found = Some(match (status.code(), status.signal()) {
                (Some(code), _) => code as u8,
                (None, Some(sig)) => 128 + sig as u8,
                (None, None) => 1,
            });
            if !all {
                return Ok(found);
            }
        }
    }
}

/// Copies one stream of the command through the redactor.
fn spawn_pump(
    mut from: impl Read + Send + 'static,
    mut to: impl Write + Send + 'static,
    redactor: std::sync::Arc<Redactor>,
    done: mpsc::Sender<()>,
) -> Result<()> {
    std::thread::Builder::new()
        .name("redact".into())
        .spawn(move || {
            let mut stream = redactor.stream();
            let mut buf = vec![0u8; 64 * 1024];
            let mut out = Vec::with_capacity(buf.len() + 1024);
            loop {
                let n = match from.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                out.clear();
                stream.feed(&buf[..n], &mut out);
                if to.write_all(&out).and_then(|()| to.flush()).is_err() {
                    break;
                }
            }
            out.clear();
            stream.finish(&mut out);
            let _ = to.write_all(&out).and_then(|()| to.flush());
            zeroize::Zeroize::zeroize(&mut buf);
            let _ = done.send(());
        })
        .context("starting the output filter")?;
    Ok(())
}
