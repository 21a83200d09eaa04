//! Which signals supervise mode takes, and who gets each one.
//!
//! The supervisor blocks the signals it forwards and takes them with
//! `sigtimedwait` in its main thread, so no handler ever runs. A signal that
//! secretrun's own parent ignored (a shell's `cmd &` ignores INT and QUIT, `nohup`
//! ignores HUP) stays ignored: it is neither taken nor forwarded, and the command
//! inherits the ignored disposition, exactly as it would across a plain exec.
//!
//! Who gets what: the signals that end a program (TERM, INT, HUP, QUIT) go to the
//! command's whole process group, as a terminal sends Ctrl-C to a foreground job, so
//! helpers the command started stop with it. The signals that ask a program to do
//! something (USR1, USR2, WINCH, and `--on-change-signal`) go to the command alone:
//! a helper without a handler (a `sleep` the app started) would die of them.

use crate::sigset::{Signal, SignalSet};
use crate::start::is_ignored;

/// The signals forwarded to the command.
pub const FORWARDED: &[Signal] = &[
    Signal::TERM,
    Signal::INT,
    Signal::HUP,
    Signal::QUIT,
    Signal::USR1,
    Signal::USR2,
    Signal::WINCH,
];

/// Blocked in the supervisor but never waited for: with them blocked the kernel lets
/// a background process group change the terminal's foreground group and write to
/// it, where it would otherwise stop the process (and with it every signal we
/// forward).
const TERMINAL_STOPS: &[Signal] = &[Signal::TTOU, Signal::TTIN];

/// Where a forwarded signal goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The command's process group.
    Group,
    /// The command's own process.
    Command,
}

/// Who gets `sig` (see the module comment).
pub fn target(sig: Signal) -> Target {
    match sig {
        Signal::TERM | Signal::INT | Signal::HUP | Signal::QUIT | Signal::KILL => Target::Group,
        _ => Target::Command,
    }
}

/// Sends `sig` to the command (pid `pid`, leader of its own group) as [`target`]
/// says. A signal that ends a program is followed by CONT, so that a stopped command
/// can act on it (KILL needs no help).
pub fn send(pid: libc::pid_t, sig: Signal) {
    use rustix::process::{Pid, kill_process_group};
    match target(sig) {
        Target::Command => to_command(pid, sig),
        Target::Group => {
            if let Some(group) = Pid::from_raw(pid) {
                let _ = kill_process_group(group, sig);
                if sig != Signal::KILL {
                    let _ = kill_process_group(group, Signal::CONT);
                }
            }
        }
    }
}

/// Sends `sig` to the command's own process (not its group); one that is gone
/// already is no error.
pub fn to_command(pid: libc::pid_t, sig: Signal) {
    crate::sigset::send_to_process(pid, sig);
}

/// The signals supervise mode takes: the forwarded ones the parent did not ignore,
/// and SIGCHLD.
pub struct Signals {
    /// What is waited for.
    pub wait: SignalSet,
}

impl Signals {
    /// Finds which signals are ignored and blocks the rest in this, the only, thread;
    /// threads started later inherit the mask, so every signal is taken here.
    pub fn block() -> Signals {
        let taken: Vec<Signal> = FORWARDED
            .iter()
            .copied()
            .filter(|&sig| !is_ignored(sig.as_raw()))
            .chain([Signal::CHILD])
            .collect();
        SignalSet::of(&[&taken[..], TERMINAL_STOPS].concat()).block();
        Signals {
            wait: SignalSet::of(&taken),
        }
    }

    /// Waits up to `timeout` for a signal; the signal, or `None`.
    pub fn wait(&self, timeout: std::time::Duration) -> Option<Signal> {
        self.wait.wait(timeout)
    }
}

/// Parses a signal name for `--on-change-signal`: `HUP`, `SIGUSR1`, …
pub fn parse(name: &str) -> Option<Signal> {
    let name = name.trim_start_matches("SIG");
    Some(match name {
        "HUP" => Signal::HUP,
        "INT" => Signal::INT,
        "QUIT" => Signal::QUIT,
        "TERM" => Signal::TERM,
        "USR1" => Signal::USR1,
        "USR2" => Signal::USR2,
        "WINCH" => Signal::WINCH,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ending_signals_go_to_the_group_requests_to_the_command() {
        for sig in [Signal::TERM, Signal::INT, Signal::HUP, Signal::QUIT] {
            assert_eq!(target(sig), Target::Group, "{sig:?}");
        }
        for sig in [Signal::USR1, Signal::USR2, Signal::WINCH] {
            assert_eq!(target(sig), Target::Command, "{sig:?}");
        }
    }

    #[test]
    fn signal_names() {
        assert_eq!(parse("HUP"), Some(Signal::HUP));
        assert_eq!(parse("SIGUSR1"), Some(Signal::USR1));
        assert_eq!(parse("KILL"), None);
        assert_eq!(parse("hup"), None);
    }
}
