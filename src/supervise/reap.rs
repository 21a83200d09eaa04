//! Collecting exit statuses: the command's, and as init (PID 1 or `--init`) every
//! orphan's, so no zombie is left behind.

use std::os::unix::process::ExitStatusExt;

use anyhow::{Context, Result};

/// What became of the command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Running,
    /// It stopped (Ctrl-Z, SIGSTOP): the signal that stopped it.
    Stopped(libc::c_int),
    /// It ended: the status to leave with (its code, or 128+N for signal N).
    Ended(u8),
}

/// The status secretrun leaves with for a raw wait status.
pub fn exit_status(raw: libc::c_int) -> u8 {
    let status = std::process::ExitStatus::from_raw(raw);
    match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(sig)) => 128 + sig as u8,
        (None, None) => 1,
    }
}

/// Reaps what has exited, without waiting. With `all`, every child (orphans
/// included); otherwise only the command. Reports a stop of the command only when
/// `stops` is asked for.
pub fn reap(pid: libc::pid_t, all: bool, stops: bool) -> Result<State> {
    let mut state = State::Running;
    let flags = libc::WNOHANG | if stops { libc::WUNTRACED } else { 0 };
    loop {
        let mut raw = 0;
        // SAFETY: a plain syscall on a valid pointer.
        let reaped = unsafe { libc::waitpid(if all { -1 } else { pid }, &mut raw, flags) };
        if reaped <= 0 {
            if reaped < 0 && state == State::Running {
                let err = std::io::Error::last_os_error();
                if err.raw_os_error() != Some(libc::ECHILD) {
                    return Err(err).context("waiting for the command");
                }
            }
            return Ok(state);
        }
        if reaped != pid {
            continue;
        }
        if libc::WIFSTOPPED(raw) {
            // Only the command is waited for with WUNTRACED in effect that matters.
            return Ok(State::Stopped(libc::WSTOPSIG(raw)));
        }
        state = State::Ended(exit_status(raw));
        if !all {
            return Ok(state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    fn spawn(script: &str) -> libc::pid_t {
        let mut command = std::process::Command::new("sh");
        command.args(["-c", script]);
        // SAFETY: setpgid is async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                libc::setpgid(0, 0);
                Ok(())
            });
        }
        command.spawn().unwrap().id() as libc::pid_t
    }

    fn wait_for(pid: libc::pid_t, stops: bool) -> State {
        for _ in 0..500 {
            match reap(pid, false, stops).unwrap() {
                State::Running => std::thread::sleep(std::time::Duration::from_millis(10)),
                other => return other,
            }
        }
        panic!("the child neither ended nor stopped in 5 s");
    }

    #[test]
    fn statuses_and_signals() {
        assert_eq!(wait_for(spawn("exit 3"), false), State::Ended(3));
        assert_eq!(
            wait_for(spawn("kill -TERM $$"), false),
            State::Ended(128 + 15)
        );
    }

    #[test]
    fn a_stop_is_reported_only_when_asked() {
        let pid = spawn("kill -STOP $$; exit 5");
        assert_eq!(wait_for(pid, true), State::Stopped(libc::SIGSTOP));
        let child = rustix::process::Pid::from_raw(pid).unwrap();
        rustix::process::kill_process(child, rustix::process::Signal::CONT).unwrap();
        assert_eq!(wait_for(pid, true), State::Ended(5));
    }

    #[test]
    fn running_while_it_runs() {
        let pid = spawn("sleep 5");
        assert_eq!(reap(pid, false, true).unwrap(), State::Running);
        let child = rustix::process::Pid::from_raw(pid).unwrap();
        rustix::process::kill_process(child, rustix::process::Signal::KILL).unwrap();
        assert_eq!(wait_for(pid, false), State::Ended(128 + 9));
    }
}
