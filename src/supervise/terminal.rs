//! The terminal in supervise mode: who holds its foreground, and the ptys that
//! stand in for it when `--redact` reads the command's output.
//!
//! When secretrun's process group holds the terminal's foreground at start, the
//! command's own group is given it, so that Ctrl-C and Ctrl-Z reach the command
//! straight from the terminal, once. Changing the foreground from a background group
//! would stop the caller with SIGTTOU; the supervisor keeps SIGTTOU blocked (see
//! `signals`) and the command's process inherits that mask until exec, where the
//! kernel then lets the change through. When the command ends or stops, the
//! supervisor takes the foreground back, so that a shell without job control that
//! started secretrun can read from its terminal again. Started in the background
//! (`secretrun --init -- cmd &`), the command does not get the terminal; if it then
//! reads from it and is stopped, the supervisor stops too, so that the shell's `fg`
//! reaches both.

use std::os::fd::{AsFd, OwnedFd};

use anyhow::{Context, Result};

/// The terminal on stdin, and whether the supervisor hands it to the command.
#[derive(Clone, Copy)]
pub struct Foreground {
    /// stdin is a terminal.
    tty: bool,
    /// Our group held its foreground when we started.
    ours: bool,
}

impl Foreground {
    pub fn at_start() -> Foreground {
        let tty = rustix::termios::isatty(std::io::stdin());
        let ours = tty && foreground_group() == Some(own_group());
        Foreground { tty, ours }
    }

    /// Whether stdin is a terminal (where job control can stop the command).
    pub fn is_tty(self) -> bool {
        self.tty
    }

    /// Whether a command started now takes the terminal's foreground: when ours had
    /// it at start and, on a restart, when we or the `previous` command still do
    /// (not after `bg` moved the job to the background).
    pub fn for_command(self, previous: Option<libc::pid_t>) -> bool {
        self.ours && (previous.is_none() || self.held_now() || foreground_group() == previous)
    }

    /// Gives the foreground to the command's group (after `fg`).
    pub fn give_to(self, pgid: libc::pid_t) {
        // SIGTTOU is blocked (as in `child_side`); a failure leaves the terminal as
        // it was.
        if let (true, Some(group)) = (self.tty, rustix::process::Pid::from_raw(pgid)) {
            let _ = rustix::termios::tcsetpgrp(std::io::stdin(), group);
        }
    }

    /// Takes the foreground back for secretrun's own group, if the command's group
    /// (`pgid`) holds it.
    pub fn take_back(self, pgid: libc::pid_t) {
        // In a PID namespace whose init we are, our group may not be visible
        // (getpgrp gives 0); then there is nothing to give it back to.
        let ours = rustix::process::Pid::from_raw(own_group());
        if let (true, Some(ours)) = (self.tty, ours)
            && foreground_group() == Some(pgid)
        {
            let _ = rustix::termios::tcsetpgrp(std::io::stdin(), ours);
        }
    }

    /// Whether our group holds the foreground now (after a stop: `fg` gives it back
    /// to us, `bg` does not).
    pub fn held_now(self) -> bool {
        self.tty && foreground_group() == Some(own_group())
    }
}

/// The terminal's foreground process group, when stdin is a terminal.
fn foreground_group() -> Option<libc::pid_t> {
    rustix::termios::tcgetpgrp(std::io::stdin())
        .ok()
        .map(rustix::process::Pid::as_raw_pid)
}

/// secretrun's own process group: 0 inside a PID namespace whose init we are, where
/// it is not visible. (rustix's `getpgrp` assumes it never is 0.)
fn own_group() -> libc::pid_t {
    // SAFETY: getpgrp has no preconditions and cannot fail.
    unsafe { libc::getpgrp() }
}

/// In the command's process, between fork and exec: its own process group, and the
/// terminal's foreground when it takes it (see [`Foreground::for_command`]).
/// Async-signal-safe.
pub fn child_side(take_terminal: bool) {
    // SAFETY: plain syscalls. SIGTTOU is blocked (inherited from the supervisor), so
    // tcsetpgrp from what is now a background group is let through.
    unsafe {
        libc::setpgid(0, 0);
        if take_terminal {
            libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpgrp());
        }
    }
}

/// Whether stdout and stderr are one file (`2>&1`, or one terminal): then the
/// command writes both into one channel, so their order is kept.
pub fn merged_streams() -> bool {
    let id = |fd: std::os::fd::BorrowedFd<'_>| {
        rustix::fs::fstat(fd)
            .ok()
            .map(|st| (st.st_dev, st.st_ino, st.st_rdev))
    };
    match (id(std::io::stdout().as_fd()), id(std::io::stderr().as_fd())) {
        (Some(out), Some(err)) => out == err,
        _ => false,
    }
}

/// A pty (master, slave) when `fd` is a terminal, with the terminal's window size
/// and modes, but with output processing off: the terminal we copy to does its own
/// (`\n` to `\r\n`, tabs), so the filter sees the bytes exactly as the command wrote
/// them and a multi-line value is caught whatever the terminal does to line ends.
///
/// Both ends are opened close-on-exec (`openpt` with `O_CLOEXEC`, the other end
/// opened by name with it), so no other thread's child ever inherits them, and the
/// other end's modes are set before the command gets it.
pub fn open_pty_like(ours: impl AsFd) -> Result<Option<(OwnedFd, OwnedFd)>> {
    use rustix::fs::{Mode, OFlags};
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    use rustix::termios::{OptionalActions, OutputModes, isatty, tcgetattr, tcsetattr};
    let ours = ours.as_fd();
    if !isatty(ours) {
        return Ok(None);
    }
    let opened = || -> std::io::Result<(OwnedFd, OwnedFd)> {
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
        grantpt(&master)?;
        unlockpt(&master)?;
        let name = ptsname(&master, Vec::new())?;
        let slave = rustix::fs::open(
            name.as_c_str(),
            OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        if let Ok(mut modes) = tcgetattr(ours) {
            modes.output_modes.remove(OutputModes::OPOST);
            tcsetattr(&slave, OptionalActions::Now, &modes)?;
        }
        if let Ok(size) = rustix::termios::tcgetwinsize(ours) {
            rustix::termios::tcsetwinsize(&slave, size)?;
        }
        Ok((master, slave))
    };
    let (master, slave) = opened().context("opening a pty for the command's output")?;
    Ok(Some((master, slave)))
}

/// Copies our terminal's window size to a pty standing in for it.
pub fn copy_size(ours: libc::c_int, pty: &OwnedFd) {
    // Our stdout or stderr: the only terminals a pty stands in for.
    let size = match ours {
        libc::STDOUT_FILENO => rustix::termios::tcgetwinsize(std::io::stdout()),
        _ => rustix::termios::tcgetwinsize(std::io::stderr()),
    };
    if let Ok(size) = size {
        let _ = rustix::termios::tcsetwinsize(pty, size);
    }
}
