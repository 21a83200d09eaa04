//! The process's start, in place of Rust's runtime start-up.
//!
//! The binary's `main` is the C entry point itself (`#![no_main]`), so std's start-up
//! does not run. Of what it does, secretrun needs three things, done here:
//! - the command line, read from `argc`/`argv` as the C runtime received them;
//! - standard input, output and error open: a closed one is opened on `/dev/null`,
//!   so that no file secretrun opens (a dotenv file, a pipe to the command) takes
//!   its number and receives what was meant for the terminal, and so that the command
//!   inherits the same three;
//! - SIGPIPE ignored, so that writing to a closed pipe is an error secretrun handles
//!   (`secretrun list | head`) rather than a silent death; what the parent had set is
//!   recorded first, and the command gets it back (`exec::hand_over`).
//!
//! What is left out is the main thread's stack-overflow handler: std reads
//! `/proc/self/maps` for the stack's guard page and maps an alternate signal stack,
//! the costliest step of its start-up (bench/launch.sh measures it; the figure is
//! in bench/README.md). Without it a stack overflow still ends the process, by SIGSEGV,
//! only without std's one-line message first; no core is dumped either way (the
//! core-dump limit is 0 while secrets are held, `exec::SavedCoreLimit`).

use std::ffi::{CStr, OsString, c_char, c_int};
use std::os::unix::ffi::OsStringExt;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether secretrun's parent left SIGPIPE ignored, recorded by [`runtime`].
static SIGPIPE_IGNORED: AtomicBool = AtomicBool::new(false);

/// The command line the process was started with, program name first.
///
/// # Safety
/// `argv` must hold `argc` pointers to NUL-terminated strings, as the C runtime
/// passes them to `main`.
pub unsafe fn args(argc: c_int, argv: *const *const c_char) -> Vec<OsString> {
    let count = usize::try_from(argc).unwrap_or(0);
    (0..count)
        .map(|i| {
            // SAFETY: i < argc, and each of those pointers is a C string (the contract).
            let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
            OsString::from_vec(arg.to_bytes().to_vec())
        })
        .collect()
}

/// Opens standard input, output and error on `/dev/null` where they are closed, and
/// ignores SIGPIPE after recording what the parent had set. Call once, first.
pub fn runtime() {
    open_standard_streams();
    // Recorded first: once ignored here, what the parent had set can no longer be read.
    SIGPIPE_IGNORED.store(is_ignored(libc::SIGPIPE), Ordering::Relaxed);
    // SAFETY: setting a signal's disposition to SIG_IGN has no preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

/// Whether secretrun's parent had left SIGPIPE ignored (false before [`runtime`]).
pub fn parent_ignored_sigpipe() -> bool {
    SIGPIPE_IGNORED.load(Ordering::Relaxed)
}

/// Whether `sig` is ignored in this process (inherited from the parent, except
/// SIGPIPE once [`runtime`] has run).
pub fn is_ignored(sig: libc::c_int) -> bool {
    // SAFETY: sigaction with a null new action only reads the current one.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Opens each of the descriptors 0, 1 and 2 that is closed on `/dev/null`, in order,
/// so that each open takes the lowest free number: the closed one. Aborts if that
/// fails, as std does: nothing could be reported, and running on would let the next
/// file opened take the number.
fn open_standard_streams() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: poll reads and writes the three entries of `fds` only.
    let polled = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } != -1;
    for entry in fds {
        let closed = if polled {
            entry.revents & libc::POLLNVAL != 0
        } else {
            // poll itself failed (no memory, a sandbox refusing it): ask one by one.
            // SAFETY: F_GETFD only reads the descriptor's flags.
            let failed = unsafe { libc::fcntl(entry.fd, libc::F_GETFD) } == -1;
            failed && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
        };
        // SAFETY: opening a constant path; the result is checked.
        if closed && unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) } != entry.fd {
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn args_are_read_byte_for_byte_from_argv() {
        let given: [&[u8]; 4] = [b"secretrun", b"--from", b"caf\xe9.env", b""];
        let owned: Vec<CString> = given.iter().map(|a| CString::new(*a).unwrap()).collect();
        let mut argv: Vec<*const c_char> = owned.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        // SAFETY: four C strings, then the terminating null pointer, as from execve.
        let read = unsafe { args(4, argv.as_ptr()) };
        let bytes: Vec<&[u8]> = read.iter().map(|a| a.as_bytes()).collect();
        assert_eq!(bytes, given);
        // SAFETY: as above; a count of zero reads nothing.
        assert!(unsafe { args(0, argv.as_ptr()) }.is_empty());
    }
}
