//! Supervise mode: secretrun stays as a thin parent instead of exec'ing, when asked
//! (`--redact`, `--init`, `--watch`), when it is PID 1 (a container's entrypoint,
//! unless `--no-init`), or when a secret is leased (`leases` renews and revokes it).
//!
//! As tini does: the command runs in a process group of its own, given the
//! terminal's foreground when secretrun had it (so Ctrl-C and Ctrl-Z reach the
//! command straight from the terminal, once; `terminal`); signals sent to secretrun
//! are forwarded (`signals` says which and to whom); a TERM or INT not obeyed within
//! `--kill-timeout` is followed by KILL; as init every orphan is reaped (`reap`).
//! The command's life is tied to the supervisor's: if secretrun is killed, the
//! kernel kills the command (PR_SET_PDEATHSIG), rather than leave it running with
//! nobody to reap or stop it. When the command stops on a terminal (Ctrl-Z), the
//! supervisor takes the terminal back and stops too, so the shell sees its job
//! stopped; `fg` continues both.
//!
//! With `--redact`, the command's output goes through pipes (ptys when ours is a
//! terminal) read by one thread each (`pump`), through [`crate::supervise::redact`], to
//! secretrun's own. When stdout and stderr are one file (`2>&1`), the command gets
//! one channel for both, so their order is kept. The parent then holds the secret
//! values for as long as the command runs (redaction needs them); it stays
//! non-dumpable all that time.

mod leases;
mod pump;
mod reap;
pub mod redact;
mod refetch;
mod signals;
mod terminal;
mod watch;

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::env::ChildEnv;
use crate::error::{Failure, Kind};
use crate::exec::{self, SavedCoreLimit};
use crate::secret::SecretSet;
use crate::supervise::redact::Redactor;
use leases::{Event, Keeper};
use reap::State;
use rustix::process::Signal;
use signals::Signals;
use terminal::Foreground;
use watch::Watcher;

pub use signals::parse as parse_signal;
pub use watch::{OnChange, Watch};

/// How long output may still drain after the command exits (a grandchild may hold
/// the pipe open forever).
const DRAIN: Duration = Duration::from_secs(2);

/// How often the supervisor looks at the clock when no signal comes.
const TICK: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub struct Options {
    pub kill_timeout: Duration,
    /// Reap every child, not only the command: secretrun is PID 1 or `--init`.
    pub reap_all: bool,
    pub redact: bool,
    pub watch: Option<Watch>,
    /// What the end of a lease does: restart with fresh credentials, or signal the
    /// command (then stop it when the lease expires).
    pub lease_end: OnChange,
}

/// What supervision needs of the pipeline that made the secrets: the command's
/// environment for a set of them, and, for `--watch`, a fresh set and what is wrong
/// with it. (The pipeline is above this module; this is how it is reached.)
pub trait Secrets: Send + Sync {
    /// The command's environment with these secrets.
    fn env<'s>(&self, secrets: &'s SecretSet) -> ChildEnv<'s>;
    /// The sources fetched again (on a thread of its own), ending at `until` if that
    /// comes before the configured timeout.
    fn refetch(&self, until: Option<Instant>) -> Result<SecretSet>;
    /// What validation finds wrong with these secrets, one message each.
    fn problems(&self, secrets: &SecretSet) -> Vec<String>;
    /// The values the command gets as files.
    fn files(&self) -> &[crate::deliver::AsFile];
}

/// What the supervised command runs as.
pub struct Launch<'a> {
    pub program: &'a Path,
    pub args: &'a [OsString],
    pub secrets: Arc<dyn Secrets>,
}

/// Process-wide facts of this supervision, fixed at its start.
struct Supervisor<'a> {
    launch: Launch<'a>,
    options: &'a Options,
    signals: Signals,
    foreground: Foreground,
    /// Stopping ourselves when the command stops makes sense only for a job of a
    /// shell: on a terminal, and not as PID 1 (the kernel will not stop init).
    follow_stops: bool,
    /// SIGCHLD was ignored by our parent: restored so for the command.
    chld_ignored: bool,
    hardening: SavedCoreLimit,
}

/// A started command and the threads copying its output.
struct Running {
    pid: libc::pid_t,
    pumps: usize,
    done: mpsc::Receiver<()>,
    /// (our terminal, the pty master standing in for it), to pass on resizes.
    ptys: Vec<(libc::c_int, OwnedFd)>,
    /// The files the command's paths name: open as long as it runs.
    files: crate::deliver::Delivered,
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

enum Ending {
    Exited(u8),
    /// New values, and `--on-change restart`.
    Restart(SecretSet),
    /// The command's credentials are over: stop it, for this reason.
    Stop(String),
}

/// Runs the command under supervision and returns the exit status to leave with:
/// the command's, or 128+N when a signal N killed it.
pub fn run(
    launch: Launch,
    mut secrets: SecretSet,
    hardening: SavedCoreLimit,
    options: &Options,
) -> Result<u8> {
    let signals = Signals::block();
    let foreground = Foreground::at_start();
    let pid1 = std::process::id() == 1;
    if options.reap_all && !pid1 {
        // As init without being PID 1 (`--init`): orphans of the command's tree are
        // reparented to secretrun, not to the system's init, so it can reap them.
        let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    }
    // With SIGCHLD ignored the kernel reaps the command itself and waitpid could
    // never report its status: the supervisor needs the default.
    let chld_ignored = crate::start::is_ignored(libc::SIGCHLD);
    if chld_ignored {
        // SAFETY: setting a disposition to its default; no handler is installed.
        unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
    }
    let sup = Supervisor {
        launch,
        signals,
        foreground,
        follow_stops: foreground.is_tty() && !pid1,
        chld_ignored,
        hardening,
        options,
    };
    let mut watcher = sup.options.watch.as_ref().map(Watcher::new);
    // Dropped on any way out, it revokes what it holds.
    let mut keeper = Keeper::new(secrets.take_leases(), options.lease_end);
    let mut previous: Option<libc::pid_t> = None;
    loop {
        let running = sup.start(&secrets, previous)?;
        let waiting = Waiting {
            watcher: watcher.as_mut(),
            keeper: &mut keeper,
        };
        let ending = sup.wait_forwarding(&running, &mut secrets, waiting);
        let ending = match ending {
            Ok(ending) => ending,
            Err(e) => {
                sup.foreground.take_back(running.pid);
                return Err(e);
            }
        };
        match ending {
            Ending::Exited(status) => {
                sup.foreground.take_back(running.pid);
                running.drain();
                keeper.revoke_all();
                return Ok(status);
            }
            Ending::Restart(mut new) => {
                sup.stop(running.pid)?;
                sup.foreground.take_back(running.pid);
                running.drain();
                previous = Some(running.pid);
                keeper.replace(new.take_leases());
                secrets = new;
            }
            Ending::Stop(why) => {
                sup.stop(running.pid)?;
                sup.foreground.take_back(running.pid);
                running.drain();
                keeper.revoke_all();
                return Err(Failure::new(Kind::Unreachable, why).into());
            }
        }
    }
}

/// What may end a wait besides the command: `--watch`, and the leases.
struct Waiting<'w, 'k> {
    watcher: Option<&'w mut Watcher<'k>>,
    keeper: &'w mut Keeper,
}

/// One channel of the command's output: what we read, and which of our streams it
/// goes to.
struct Channel {
    reader: OwnedFd,
    to: libc::c_int,
    /// Set when the channel is a pty: kept to pass on resizes.
    pty: bool,
}

impl Supervisor<'_> {
    fn start(&self, secrets: &SecretSet, previous: Option<libc::pid_t>) -> Result<Running> {
        let launch = &self.launch;
        let mut env = launch.secrets.env(secrets);
        let files = crate::deliver::deliver_supervised(&mut env, launch.secrets.files())?;
        let redactor = if self.options.redact {
            Redactor::new(secrets).map_err(|e| Failure::new(Kind::Invalid, e.to_string()))?
        } else {
            None
        };
        let mut command = exec::command(launch.program, launch.args, &env);
        let channels = match redactor {
            Some(_) => wire_output(&mut command)?,
            None => Vec::new(),
        };
        let core = self.hardening.core_limit();
        let chld_ignored = self.chld_ignored;
        let take_terminal = self.foreground.for_command(previous);
        let supervisor = rustix::process::getpid().as_raw_pid();
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                // Die with the supervisor; if it is already gone, do not start at all.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                if libc::getppid() != supervisor {
                    libc::kill(libc::getpid(), libc::SIGKILL);
                }
                terminal::child_side(take_terminal);
                exec::hand_over(&core);
                if chld_ignored {
                    // As across a plain exec: the command gets what our parent set.
                    libc::signal(libc::SIGCHLD, libc::SIG_IGN);
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .map_err(|e| exec::start_failure(launch.program, &e))?;
        // Our copies of the write ends must go, or reading never ends.
        drop(command);
        let pid = child.id() as libc::pid_t;
        let (done_tx, done) = mpsc::channel::<()>();
        let mut ptys = Vec::new();
        let mut pumps = 0;
        if let Some(redactor) = redactor.map(Arc::new) {
            for channel in channels {
                if channel.pty {
                    let master = channel.reader.try_clone().context("keeping the pty")?;
                    ptys.push((channel.to, master));
                }
                let reader: Box<dyn Read + Send> = Box::new(std::fs::File::from(channel.reader));
                // Our own stream, unbuffered: what the filter passes goes out in one
                // write (std's stdout would split it at the last line end).
                // (A stream that is closed takes nothing, as writes to it would.)
                // SAFETY: fd 1 or 2, only duplicated here, never closed.
                let ours = unsafe { std::os::fd::BorrowedFd::borrow_raw(channel.to) };
                let writer: Box<dyn Write + Send> = match ours.try_clone_to_owned() {
                    Ok(fd) => Box::new(std::fs::File::from(fd)),
                    Err(_) => Box::new(std::io::sink()),
                };
                pump::spawn(reader, writer, redactor.clone(), done_tx.clone())?;
                pumps += 1;
            }
        }
        Ok(Running {
            pid,
            pumps,
            done,
            ptys,
            files,
        })
    }

    /// Forwards signals until the command exits (reaping on the way) or, with
    /// `--watch` or a lease, until the command is to be restarted or stopped.
    fn wait_forwarding(
        &self,
        running: &Running,
        current: &mut SecretSet,
        mut waiting: Waiting,
    ) -> Result<Ending> {
        let pid = running.pid;
        let mut kill_at: Option<Instant> = None;
        let mut stopping = false;
        loop {
            match reap::reap(pid, self.options.reap_all, self.follow_stops)? {
                State::Ended(status) => return Ok(Ending::Exited(status)),
                State::Stopped(_) => self.stop_with(pid),
                State::Running => {}
            }
            match self.signals.wait(TICK) {
                None | Some(Signal::CHILD) => {}
                Some(sig) => {
                    if sig == Signal::WINCH {
                        for (ours, master) in &running.ptys {
                            terminal::copy_size(*ours, master);
                        }
                    }
                    signals::send(pid, sig);
                    if matches!(sig, Signal::TERM | Signal::INT) && kill_at.is_none() {
                        kill_at = Some(Instant::now() + self.options.kill_timeout);
                        // Shutting down: no more restarts.
                        stopping = true;
                    }
                }
            }
            if kill_at.is_some_and(|at| Instant::now() >= at) {
                signals::send(pid, Signal::KILL);
                kill_at = None;
            }
            if stopping {
                continue;
            }
            if let Some(ending) = self.poll_changes(running, pid, current, &mut waiting) {
                return Ok(ending);
            }
        }
    }

    /// What `--watch` and the leases ask for now, if it ends this run.
    fn poll_changes(
        &self,
        running: &Running,
        pid: libc::pid_t,
        current: &mut SecretSet,
        waiting: &mut Waiting,
    ) -> Option<Ending> {
        match waiting.keeper.poll(&self.launch.secrets) {
            Some(Event::Restart(new)) => return Some(Ending::Restart(new)),
            Some(Event::Stop(why)) => return Some(Ending::Stop(why)),
            Some(Event::Signal(sig)) => signals::to_command(pid, sig),
            None => {}
        }
        let w = waiting.watcher.as_deref_mut()?;
        let new = w.poll(&self.launch.secrets, current)?;
        let files = self.launch.secrets.files();
        let changed = watch::changed_names(current, &new);
        let in_files = changed
            .iter()
            .all(|name| files.iter().any(|f| f.name == *name) && new.get(name).is_some());
        let sig = match w.on_change() {
            OnChange::Restart => return Some(Ending::Restart(new)),
            OnChange::Auto(_) if !in_files => return Some(Ending::Restart(new)),
            OnChange::Auto(sig) | OnChange::Signal(sig) => sig,
        };
        let env = self.launch.secrets.env(&new);
        if let Err(failure) = running.files.swap(&env, &changed) {
            crate::messages::watch(&format!("{failure}; the command keeps its files"));
            return None;
        }
        drop(env);
        // The command alone: a helper of its own may have no handler.
        signals::to_command(pid, sig);
        *current = new;
        None
    }

    /// The command stopped on the terminal: take the terminal back and stop as well,
    /// so the shell sees its job stopped. When continued (`fg` or `bg`), continue the
    /// command, in the foreground again only if `fg` gave it to us.
    fn stop_with(&self, pid: libc::pid_t) {
        self.foreground.take_back(pid);
        // SIGSTOP cannot be blocked, so this stops us here.
        let _ = rustix::process::kill_process(rustix::process::getpid(), Signal::STOP);
        if self.foreground.held_now() {
            self.foreground.give_to(pid);
        }
        if let Some(group) = rustix::process::Pid::from_raw(pid) {
            let _ = rustix::process::kill_process_group(group, Signal::CONT);
        }
    }

    /// Stops the command for a restart: TERM to its group, KILL after the grace
    /// period, then reaps it.
    fn stop(&self, pid: libc::pid_t) -> Result<()> {
        signals::send(pid, Signal::TERM);
        let kill_at = Instant::now() + self.options.kill_timeout;
        let mut killed = false;
        loop {
            if let State::Ended(_) = reap::reap(pid, self.options.reap_all, false)? {
                return Ok(());
            }
            self.signals.wait(Duration::from_millis(50));
            if !killed && Instant::now() >= kill_at {
                signals::send(pid, Signal::KILL);
                killed = true;
            }
        }
    }
}

/// Gives the command's stdout and stderr to us: a pty for a stream that is a
/// terminal (so the command still sees one: colours, prompts), a pipe otherwise, and
/// one channel for both when they are one file.
fn wire_output(command: &mut std::process::Command) -> Result<Vec<Channel>> {
    let merged = terminal::merged_streams();
    let streams: &[libc::c_int] = if merged {
        &[libc::STDOUT_FILENO]
    } else {
        &[libc::STDOUT_FILENO, libc::STDERR_FILENO]
    };
    let mut channels = Vec::new();
    for &fd in streams {
        let pty = if fd == libc::STDOUT_FILENO {
            terminal::open_pty_like(std::io::stdout())?
        } else {
            terminal::open_pty_like(std::io::stderr())?
        };
        let (reader, writer, pty) = match pty {
            Some((master, slave)) => (master, slave, true),
            None => {
                let (reader, writer) = pipe()?;
                (reader, writer, false)
            }
        };
        if merged {
            command.stderr(Stdio::from(
                writer.try_clone().context("sharing the output channel")?,
            ));
            command.stdout(Stdio::from(writer));
        } else if fd == libc::STDOUT_FILENO {
            command.stdout(Stdio::from(writer));
        } else {
            command.stderr(Stdio::from(writer));
        }
        channels.push(Channel {
            reader,
            to: fd,
            pty,
        });
    }
    Ok(channels)
}

/// A pipe (read end, write end), both close-on-exec (the command gets its end as
/// stdout or stderr, which exec keeps).
fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(std::io::Error::from)
        .context("opening a pipe for the output")
}
