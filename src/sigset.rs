//! Signals as supervise mode and `edit` both handle them: sent to one process, and
//! taken synchronously (a set blocked in this thread and waited for with a timeout),
//! never in a handler. A leaf.

use std::time::Duration;

/// A signal, typed: secretrun handles only the named ones (no real-time signals).
pub use rustix::process::Signal;

/// Sends `sig` to process `pid` alone (not its group); a process already gone is
/// no error.
pub fn send_to_process(pid: libc::pid_t, sig: Signal) {
    use rustix::process::{Pid, kill_process};
    if let Some(pid) = Pid::from_raw(pid) {
        let _ = kill_process(pid, sig);
    }
}

/// A set of signals.
#[derive(Clone, Copy)]
pub struct SignalSet(libc::sigset_t);

impl SignalSet {
    pub fn of(signals: &[Signal]) -> SignalSet {
        // SAFETY: `sigset_t` is plain data; sigemptyset then makes it a valid set.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: sigset operations on a local set, with signal numbers of this
        // platform (an invalid one is refused with EINVAL, not undefined).
        unsafe {
            libc::sigemptyset(&mut set);
            for &sig in signals {
                libc::sigaddset(&mut set, sig.as_raw());
            }
        }
        SignalSet(set)
    }

    /// Blocks these signals in the calling thread (threads started later inherit
    /// the mask); returns the mask it had before.
    pub fn block(&self) -> SignalSet {
        let mut old = SignalSet::of(&[]);
        // SAFETY: two valid sets; changes only this thread's mask.
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &self.0, &mut old.0) };
        old
    }

    /// Makes this set the calling thread's mask (to put back what `block` returned).
    pub fn set_as_mask(&self) {
        // SAFETY: a valid set; changes only this thread's mask.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.0, std::ptr::null_mut()) };
    }

    /// Waits up to `timeout` for one of these signals (blocked, so pending until
    /// taken here); the signal, or `None`.
    pub fn wait(&self, timeout: Duration) -> Option<Signal> {
        let tick = libc::timespec {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        // SAFETY: a valid set and timeout; no siginfo wanted.
        let sig = unsafe { libc::sigtimedwait(&self.0, std::ptr::null_mut(), &tick) };
        Signal::from_named_raw(sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocked_signal_raised_is_taken_by_wait_and_the_mask_comes_back() {
        // On a thread of its own: the mask is per thread.
        std::thread::spawn(|| {
            let usr2 = SignalSet::of(&[Signal::USR2]);
            let old = usr2.block();
            assert_eq!(usr2.wait(Duration::ZERO), None, "nothing pending yet");
            // SAFETY: a signal to this thread, which has it blocked.
            unsafe { libc::pthread_kill(libc::pthread_self(), libc::SIGUSR2) };
            assert_eq!(usr2.wait(Duration::from_secs(5)), Some(Signal::USR2));
            old.set_as_mask();
        })
        .join()
        .unwrap();
    }
}
