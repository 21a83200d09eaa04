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
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::config::Config;
use crate::env::ChildEnv;
use crate::exec::{self, Hardening};
use crate::redact::Redactor;
use crate::secret::SecretSet;
use crate::{source, validate};

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
    pub redact: bool,
    pub watch: Option<Watch>,
}

/// `--watch`: re-fetch the sources on an interval.
pub struct Watch {
    pub every: Duration,
    pub on_change: OnChange,
}

/// What a changed value does to the running command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnChange {
    /// Stop it (TERM, then KILL after the grace period) and start it again with the
    /// new values.
    Restart,
    /// Send it this signal; it keeps its environment (no process can change
    /// another's), so this is for commands that re-read their secrets themselves.
    Signal(libc::c_int),
}

/// Parses a signal name for `--on-change-signal`: `HUP`, `SIGUSR1`, …
pub fn parse_signal(name: &str) -> Option<libc::c_int> {
    let name = name.trim_start_matches("SIG");
    Some(match name {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "TERM" => libc::SIGTERM,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "WINCH" => libc::SIGWINCH,
        _ => return None,
    })
}

/// What the supervised command runs as.
pub struct Launch<'a> {
    pub program: &'a Path,
    pub args: &'a [OsString],
    pub config: &'a Config,
    pub parent: &'a [(OsString, OsString)],
}

impl Launch<'_> {
    /// The command's environment with these secrets.
    fn env<'s>(&self, secrets: &'s SecretSet) -> ChildEnv<'s> {
        ChildEnv::build(
            secrets,
            self.parent.iter().cloned(),
            &self.config.keep,
            self.config.pure,
        )
    }
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

/// A started command and the threads copying its output.
struct Running {
    pid: libc::pid_t,
    pumps: usize,
    done: mpsc::Receiver<()>,
    /// (our terminal, the pty master standing in for it), to pass on resizes.
    ptys: Vec<(libc::c_int, OwnedFd)>,
}

impl Running {
    /// Lets the output drain, but leaves even if a grandchild keeps a pipe open.
    fn drain(&self) {
        let deadline = Instant::now() + DRAIN;
        for _ in 0..self.pumps {
            if self
                .done
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .is_err()
            {
                break;
            }
        }
        let _ = std::io::stdout().flush();
    }
}

/// Runs the command under supervision and returns the exit status to leave with:
/// the command's, or 128+N when a signal N killed it.
pub fn run(
    launch: Launch,
    mut secrets: SecretSet,
    hardening: Hardening,
    options: Options,
) -> Result<u8> {
    let set = signal_set(&[libc::SIGCHLD]);
    // SAFETY: blocking signals in this, the only, thread; threads started later
    // inherit the mask, so every forwarded signal is taken by `sigtimedwait` here.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    loop {
        let running = start(&launch, &secrets, &hardening, options.redact)?;
        match wait_forwarding(&running, &set, &options, &launch, &mut secrets)? {
            Ending::Exited(status) => {
                running.drain();
                return Ok(status);
            }
            Ending::Restart(new) => {
                stop(running.pid, &set, &options)?;
                running.drain();
                secrets = new;
            }
        }
    }
}

fn start(
    launch: &Launch,
    secrets: &SecretSet,
    hardening: &Hardening,
    redact: bool,
) -> Result<Running> {
    let env = launch.env(secrets);
    let redactor = if redact { Redactor::new(secrets) } else { None };
    let mut command = exec::command(launch.program, launch.args, &env);
    // With --redact, each stream the command writes goes through us: a pty where
    // ours is a terminal (so the command still sees one: colours, prompts), a pipe
    // otherwise.
    let mut ptys: [Option<OwnedFd>; 2] = [None, None];
    if redactor.is_some() {
        for (i, fd) in [libc::STDOUT_FILENO, libc::STDERR_FILENO]
            .into_iter()
            .enumerate()
        {
            let (reader, writer): (Option<OwnedFd>, Stdio) = match open_pty_like(fd)? {
                Some((master, slave)) => (Some(master), Stdio::from(slave)),
                None => (None, Stdio::piped()),
            };
            ptys[i] = reader;
            if i == 0 {
                command.stdout(writer);
            } else {
                command.stderr(writer);
            }
        }
    }
    let core = hardening.core_limit();
    // SAFETY: isatty has no preconditions.
    let stdin_is_tty = unsafe { libc::isatty(libc::STDIN_FILENO) } == 1;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            libc::setpgid(0, 0);
            if stdin_is_tty && libc::tcgetpgrp(libc::STDIN_FILENO) == libc::getpgid(libc::getppid())
            {
                // Take the terminal's foreground; a background group asking for it
                // would be stopped by SIGTTOU, which is still blocked here.
                libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpgrp());
            }
            exec::hand_over(&core);
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .map_err(|e| exec::start_failure(launch.program, &e))?;
    let (done_tx, done) = mpsc::channel::<()>();
    let mut pumps = 0;
    // Our copies of the pty slaves must go, or reading the masters never ends.
    drop(command);
    let mut resizable = Vec::new();
    for (fd, master) in [libc::STDOUT_FILENO, libc::STDERR_FILENO]
        .into_iter()
        .zip(&ptys)
    {
        if let Some(master) = master {
            resizable.push((
                fd,
                master.try_clone().context("keeping the pty for resizes")?,
            ));
        }
    }
    if let Some(redactor) = redactor.map(std::sync::Arc::new) {
        let [out_pty, err_pty] = ptys;
        let out: Option<Box<dyn Read + Send>> = match (out_pty, child.stdout.take()) {
            (Some(master), _) => Some(Box::new(std::fs::File::from(master))),
            (None, pipe) => pipe.map(|p| Box::new(p) as Box<dyn Read + Send>),
        };
        let err: Option<Box<dyn Read + Send>> = match (err_pty, child.stderr.take()) {
            (Some(master), _) => Some(Box::new(std::fs::File::from(master))),
            (None, pipe) => pipe.map(|p| Box::new(p) as Box<dyn Read + Send>),
        };
        if let Some(out) = out {
            pumps += 1;
            spawn_pump(out, std::io::stdout(), redactor.clone(), done_tx.clone())?;
        }
        if let Some(err) = err {
            pumps += 1;
            spawn_pump(err, std::io::stderr(), redactor, done_tx.clone())?;
        }
    }
    Ok(Running {
        pid: child.id() as libc::pid_t,
        pumps,
        done,
        ptys: resizable,
    })
}

enum Ending {
    Exited(u8),
    /// New values, and `--on-change restart`.
    Restart(SecretSet),
}

/// Forwards signals to the command's process group until the command exits (reaping
/// on the way) or, with `--watch`, until a value changes and the command is to be
/// restarted.
fn wait_forwarding(
    running: &Running,
    set: &libc::sigset_t,
    options: &Options,
    launch: &Launch,
    current: &mut SecretSet,
) -> Result<Ending> {
    let pid = running.pid;
    let mut kill_at: Option<Instant> = None;
    let mut next_check = options.watch.as_ref().map(|w| Instant::now() + w.every);
    let tick = libc::timespec {
        tv_sec: 0,
        tv_nsec: 100_000_000,
    };
    loop {
        if let Some(status) = reap(pid, options.reap_all)? {
            return Ok(Ending::Exited(status));
        }
        // SAFETY: a valid set and timeout; siginfo is not needed.
        let sig = unsafe { libc::sigtimedwait(set, std::ptr::null_mut(), &tick) };
        if sig == libc::SIGWINCH {
            for (ours, master) in &running.ptys {
                // SAFETY: a window-size struct and two open descriptors.
                unsafe {
                    let mut size: libc::winsize = std::mem::zeroed();
                    if libc::ioctl(*ours, libc::TIOCGWINSZ, &mut size) == 0 {
                        libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size);
                    }
                }
            }
        }
        if sig > 0 && sig != libc::SIGCHLD {
            // SAFETY: a plain syscall; the group is the command's.
            unsafe { libc::kill(-pid, sig) };
            if (sig == libc::SIGTERM || sig == libc::SIGINT) && kill_at.is_none() {
                kill_at = Some(Instant::now() + options.kill_timeout);
                // Shutting down: no more restarts.
                next_check = None;
            }
        }
        if kill_at.is_some_and(|at| Instant::now() >= at) {
            // SAFETY: as above.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            kill_at = None;
        }
        if let (Some(at), Some(watch)) = (next_check, &options.watch)
            && Instant::now() >= at
        {
            next_check = Some(Instant::now() + watch.every);
            let Some(new) = refetch(launch, current) else {
                continue;
            };
            match watch.on_change {
                OnChange::Restart => return Ok(Ending::Restart(new)),
                OnChange::Signal(sig) => {
                    // SAFETY: as above.
                    unsafe { libc::kill(-pid, sig) };
                    *current = new;
                }
            }
        }
    }
}

/// Fetches the sources again. Returns the new set when a value changed and the new
/// values pass validation; logs which names changed (never values) and any failure,
/// and keeps the command running on the old values otherwise.
fn refetch(launch: &Launch, current: &SecretSet) -> Option<SecretSet> {
    let new = match source::load(launch.config, launch.parent) {
        Ok(new) => new,
        Err(err) => {
            eprintln!(
                "secretrun: watch: fetching failed, the command keeps its values: {}",
                one_line(&err)
            );
            return None;
        }
    };
    let mut changed: Vec<&str> = current
        .iter()
        .filter(|(name, s)| {
            new.get(name)
                .is_none_or(|n| n.value.expose() != s.value.expose())
        })
        .map(|(name, _)| name)
        .collect();
    changed.extend(
        new.iter()
            .map(|(name, _)| name)
            .filter(|name| current.get(name).is_none()),
    );
    if changed.is_empty() {
        return None;
    }
    changed.sort();
    let shown: Vec<String> = changed.iter().map(|n| format!("`{n}`")).collect();
    let env = launch.env(&new);
    let report = validate::validate(&env, launch.config);
    if !report.errors.is_empty() {
        eprintln!(
            "secretrun: watch: changed: {}; the new values fail validation, the command keeps the old ones",
            shown.join(", ")
        );
        for error in &report.errors {
            eprintln!("secretrun: watch:   {}", error.message);
        }
        return None;
    }
    drop(env);
    eprintln!("secretrun: watch: changed: {}", shown.join(", "));
    Some(new)
}

fn one_line(err: &anyhow::Error) -> String {
    err.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

/// Stops the command for a restart: TERM to its group, KILL after the grace period,
/// then reaps it.
fn stop(pid: libc::pid_t, set: &libc::sigset_t, options: &Options) -> Result<()> {
    // SAFETY: plain syscalls on the command's group.
    unsafe { libc::kill(-pid, libc::SIGTERM) };
    let kill_at = Instant::now() + options.kill_timeout;
    let tick = libc::timespec {
        tv_sec: 0,
        tv_nsec: 50_000_000,
    };
    let mut killed = false;
    loop {
        if reap(pid, options.reap_all)?.is_some() {
            return Ok(());
        }
        // SAFETY: a valid set and timeout.
        unsafe { libc::sigtimedwait(set, std::ptr::null_mut(), &tick) };
        if !killed && Instant::now() >= kill_at {
            // SAFETY: as above.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            killed = true;
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

/// A pty (master, slave) when `fd` is a terminal, with the terminal's window size.
fn open_pty_like(fd: libc::c_int) -> Result<Option<(OwnedFd, OwnedFd)>> {
    // SAFETY: isatty has no preconditions.
    if unsafe { libc::isatty(fd) } != 1 {
        return Ok(None);
    }
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: a window-size struct and two out-pointers, all valid.
    unsafe {
        let mut size: libc::winsize = std::mem::zeroed();
        let size_ptr = if libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) == 0 {
            &size as *const _
        } else {
            std::ptr::null()
        };
        if libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            size_ptr,
        ) != 0
        {
            return Err(std::io::Error::last_os_error())
                .context("opening a pty for the command's output");
        }
        libc::fcntl(master, libc::F_SETFD, libc::FD_CLOEXEC);
        libc::fcntl(slave, libc::F_SETFD, libc::FD_CLOEXEC);
        Ok(Some((
            OwnedFd::from_raw_fd(master),
            OwnedFd::from_raw_fd(slave),
        )))
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
                // A pty master answers EIO once the command's side is closed: the end.
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
