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

use std::os::fd::{FromRawFd, OwnedFd};

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
        // SAFETY: isatty, tcgetpgrp and getpgrp have no preconditions.
        let (tty, ours) = unsafe {
            let tty = libc::isatty(libc::STDIN_FILENO) == 1;
            (
                tty,
                tty && libc::tcgetpgrp(libc::STDIN_FILENO) == libc::getpgrp(),
            )
        };
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
        // SAFETY: tcgetpgrp has no preconditions.
        let now = || unsafe { libc::tcgetpgrp(libc::STDIN_FILENO) };
        self.ours && (previous.is_none() || self.held_now() || Some(now()) == previous)
    }

    /// Gives the foreground to the command's group (after `fg`).
    pub fn give_to(self, pgid: libc::pid_t) {
        if self.tty {
            // SAFETY: as in `child_side` (SIGTTOU blocked); a failure leaves the
            // terminal as it was.
            unsafe { libc::tcsetpgrp(libc::STDIN_FILENO, pgid) };
        }
    }

    /// Takes the foreground back for secretrun's own group, if the command's group
    /// (`pgid`) holds it.
    pub fn take_back(self, pgid: libc::pid_t) {
        // SAFETY: as above. In a PID namespace whose init we are, our group may not
        // be visible (getpgrp gives 0); then there is nothing to give it back to.
        unsafe {
            let pgrp = libc::getpgrp();
            if self.tty && pgrp > 0 && libc::tcgetpgrp(libc::STDIN_FILENO) == pgid {
                libc::tcsetpgrp(libc::STDIN_FILENO, pgrp);
            }
        }
    }

    /// Whether our group holds the foreground now (after a stop: `fg` gives it back
    /// to us, `bg` does not).
    pub fn held_now(self) -> bool {
        // SAFETY: no preconditions.
        self.tty && unsafe { libc::tcgetpgrp(libc::STDIN_FILENO) == libc::getpgrp() }
    }
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
    let id = |fd| {
        // SAFETY: fstat on a descriptor number, with a valid out-pointer.
        unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            (libc::fstat(fd, &mut st) == 0).then_some((st.st_dev, st.st_ino, st.st_rdev))
        }
    };
    match (id(libc::STDOUT_FILENO), id(libc::STDERR_FILENO)) {
        (Some(out), Some(err)) => out == err,
        _ => false,
    }
}

/// A pty (master, slave) when `fd` is a terminal, with the terminal's window size
/// and modes, but with output processing off: the terminal we copy to does its own
/// (`\n` to `\r\n`, tabs), so the filter sees the bytes exactly as the command wrote
/// them and a multi-line value is caught whatever the terminal does to line ends.
pub fn open_pty_like(fd: libc::c_int) -> Result<Option<(OwnedFd, OwnedFd)>> {
    // SAFETY: isatty has no preconditions.
    if unsafe { libc::isatty(fd) } != 1 {
        return Ok(None);
    }
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: a window-size struct, a termios struct and two out-pointers, all valid.
    unsafe {
        let mut size: libc::winsize = std::mem::zeroed();
        let size_ptr = if libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) == 0 {
            &size as *const _
        } else {
            std::ptr::null()
        };
        let mut modes: libc::termios = std::mem::zeroed();
        let modes_ptr = if libc::tcgetattr(fd, &mut modes) == 0 {
            modes.c_oflag &= !libc::OPOST;
            &modes as *const _
        } else {
            std::ptr::null()
        };
        if libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            modes_ptr,
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

/// Copies our terminal's window size to a pty standing in for it.
pub fn copy_size(ours: libc::c_int, pty: &OwnedFd) {
    use std::os::fd::AsRawFd;
    // SAFETY: a window-size struct and two open descriptors.
    unsafe {
        let mut size: libc::winsize = std::mem::zeroed();
        if libc::ioctl(ours, libc::TIOCGWINSZ, &mut size) == 0 {
            libc::ioctl(pty.as_raw_fd(), libc::TIOCSWINSZ, &size);
        }
    }
}
