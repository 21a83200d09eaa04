//! Collecting exit statuses: the command's, and as init (PID 1 or `--init`) every
//! orphan's, so no zombie is left behind.

use std::os::unix::process::ExitStatusExt;

use anyhow::{Context, Result};

/// What became of the command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Running,
    /// It stopped (Ctrl-Z, SIGSTOP): the signal that stopped it.
    Stopped(crate::sigset::Signal),
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
    use rustix::process::{Pid, WaitOptions};
    let mut state = State::Running;
    let mut options = WaitOptions::NOHANG;
    if stops {
        options |= WaitOptions::UNTRACED;
    }
    let command = Pid::from_raw(pid).context("the command's pid")?;
    loop {
        let reaped = if all {
            rustix::process::wait(options)
        } else {
            rustix::process::waitpid(Some(command), options)
        };
        let (who, status) = match reaped {
            Ok(Some(reaped)) => reaped,
            // Nothing more has exited.
            Ok(None) => return Ok(state),
            Err(e) if e == rustix::io::Errno::CHILD || state != State::Running => {
                return Ok(state);
            }
            Err(e) => return Err(std::io::Error::from(e)).context("waiting for the command"),
        };
        if who != command {
            continue;
        }
        if let Some(sig) = status.stopping_signal() {
            // Only the command is waited for with WUNTRACED in effect that matters.
            let sig = crate::sigset::Signal::from_named_raw(sig);
            return Ok(State::Stopped(sig.unwrap_or(crate::sigset::Signal::STOP)));
        }
        state = State::Ended(exit_status(status.as_raw()));
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
        assert_eq!(
            wait_for(pid, true),
            State::Stopped(crate::sigset::Signal::STOP)
        );
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
