//! Hardening while secrets are held, and the final execve.
//!
//! secretrun replaces itself with COMMAND: same PID, no parent left to forward
//! signals or hold secrets. Before that: no core dumps ([`harden`]), COMMAND
//! resolved on the parent's PATH ([`resolve`]), and the kernel's size limits
//! checked ([`limits`]). Just before exec the signal mask is cleared and SIGPIPE
//! (which secretrun ignores, see `start`) goes back to what secretrun's parent had left it;
//! secretrun installs no handlers and starts no threads, so nothing else is left
//! behind. Signals the parent ignored stay ignored, as with any exec (so
//! `nohup secretrun -- app` keeps working, and so does `trap '' PIPE`).

mod harden;
mod limits;
mod resolve;

use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;

use crate::env::ChildEnv;
use crate::error::{Failure, Kind};

pub use harden::{SavedCoreLimit, harden};
pub use limits::{MAX_ARG_STRLEN, check_limits};
pub use resolve::{resolve, start_failure};

/// The command with exactly the child's environment, for exec or spawn.
pub fn command(program: &Path, args: &[OsString], env: &ChildEnv) -> std::process::Command {
    let mut command = std::process::Command::new(program);
    command.arg0(&args[0]).args(&args[1..]).env_clear();
    for var in &env.vars {
        command.env(&var.name, var.value.as_os_str());
    }
    command
}

/// Puts the process state the command inherits back as the user had it, in exec
/// mode just before execve and in supervise mode between fork and exec. The core-dump
/// limit is the user's again (until execve the process is still not dumpable, which
/// alone prevents a dump; execve makes the new image dumpable as usual). secretrun
/// ignores SIGPIPE ([`crate::start`]) and supervise mode blocks signals: neither is ours to hand
/// on, so SIGPIPE gets the disposition the parent gave secretrun. Signals the user's
/// parent ignored stay ignored, as with any exec. [`exec`] calls it just before
/// execve; a child spawned through std's `Command` must call it from a `pre_exec`
/// closure, since std sets SIGPIPE to its default before those run, and after
/// anything else.
///
/// # Safety
/// Only async-signal-safe calls: safe between fork and exec. It changes the calling
/// process's signal state, so call it only in the process that is about to exec.
pub unsafe fn hand_over(core: &rustix::process::Rlimit) {
    let sigpipe = if crate::start::parent_ignored_sigpipe() {
        libc::SIG_IGN
    } else {
        libc::SIG_DFL
    };
    // A raw prlimit64 system call: no allocation, safe between fork and exec.
    let _ = rustix::process::setrlimit(rustix::process::Resource::Core, *core);
    // SAFETY: plain syscalls on valid pointers (the caller's contract covers the rest).
    unsafe {
        libc::signal(libc::SIGPIPE, sigpipe);
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    }
}

/// Replaces this process with the command. Returns only on failure.
///
/// execve is called directly, with argv and envp built in one buffer each, instead of
/// through std's `Command`, which copies every variable into a map and then into
/// strings of its own: a tenth of a launch's instructions (bench/launch.sh, bench/README.md).
/// What std's exec does besides is done here too: [`hand_over`] resets the signal
/// mask and SIGPIPE, and `execvpe` runs a script without a `#!` line with `/bin/sh`,
/// as std's `execvp` does. `program` holds a `/` ([`resolve`]), so nothing is searched.
pub fn exec(
    program: &Path,
    args: &[OsString],
    env: &ChildEnv,
    hardening: SavedCoreLimit,
) -> Failure {
    let strings = match ExecStrings::new(program, args, env) {
        Ok(strings) => strings,
        Err(failure) => return failure,
    };
    let argv = strings.argv.pointers();
    let envp = strings.envp.pointers();
    // SAFETY: every pointer points into `strings`, alive until after the call; both
    // arrays end with a null pointer. hand_over changes only this process's signal
    // state and core limit, which the command is about to inherit.
    let err = unsafe {
        hand_over(&hardening.core_limit());
        libc::execvpe(strings.program.as_ptr(), argv.as_ptr(), envp.as_ptr());
        io::Error::last_os_error()
    };
    start_failure(program, &err)
}

/// What execve takes: the program, argv, and envp (`NAME=value`).
struct ExecStrings {
    program: std::ffi::CString,
    argv: CStrings,
    envp: CStrings,
}

impl ExecStrings {
    fn new(program: &Path, args: &[OsString], env: &ChildEnv) -> Result<ExecStrings, Failure> {
        let nul = |what: String| Failure::new(Kind::Invalid, format!("{what} holds a NUL byte"));
        let program = std::ffi::CString::new(program.as_os_str().as_bytes())
            .map_err(|_| nul("the command's path".to_owned()))?;
        let mut argv = CStrings::with_capacity(args.iter().map(|arg| arg.len() + 1).sum());
        for (i, arg) in args.iter().enumerate() {
            argv.push(&[arg.as_bytes()])
                .map_err(|()| nul(format!("argument {i} of the command")))?;
        }
        let size = env
            .vars
            .iter()
            .map(|var| var.name.len() + 2 + var.value.as_os_str().len());
        let mut envp = CStrings::with_capacity(size.sum());
        for var in &env.vars {
            let parts = [var.name.as_bytes(), b"=", var.value.as_os_str().as_bytes()];
            envp.push(&parts)
                .map_err(|()| nul(format!("the value of `{}`", var.name)))?;
        }
        Ok(ExecStrings {
            program,
            argv,
            envp,
        })
    }
}

/// NUL-terminated strings, one after another in one buffer, which is zeroed when
/// dropped (envp holds the secrets, and an exec that fails returns).
struct CStrings {
    bytes: zeroize::Zeroizing<Vec<u8>>,
    starts: Vec<usize>,
}

impl CStrings {
    /// Room for strings of `size` bytes in all, their NULs included: the buffer is
    /// never reallocated, so no copy of it is left behind in freed memory.
    fn with_capacity(size: usize) -> CStrings {
        CStrings {
            bytes: zeroize::Zeroizing::new(Vec::with_capacity(size)),
            starts: Vec::new(),
        }
    }

    /// Adds the string made of `parts`; fails, adding nothing, if one holds a NUL.
    fn push(&mut self, parts: &[&[u8]]) -> Result<(), ()> {
        if parts.iter().any(|part| part.contains(&0)) {
            return Err(());
        }
        let size = parts.iter().map(|part| part.len()).sum::<usize>() + 1;
        assert!(
            self.bytes.len() + size <= self.bytes.capacity(),
            "sized beforehand"
        );
        self.starts.push(self.bytes.len());
        for part in parts {
            self.bytes.extend_from_slice(part);
        }
        self.bytes.push(0);
        Ok(())
    }

    /// A pointer to each string, then a null pointer; valid while `self` is.
    fn pointers(&self) -> Vec<*const libc::c_char> {
        let base = self.bytes.as_ptr();
        self.starts
            .iter()
            // SAFETY: every start is an offset inside the buffer.
            .map(|&start| unsafe { base.add(start) }.cast())
            .chain(std::iter::once(std::ptr::null()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_strings_hold_argv_and_envp_and_leave_nothing_behind() {
        use crate::env::{Var, VarValue};
        use crate::freed::{MARK, count};
        use crate::secret::{Dates, Origin, SecretValue};
        // Borrowed, not copied: a copy of the secret freed here would be counted.
        fn read(block: &CStrings) -> Vec<&[u8]> {
            let pointers = block.pointers();
            assert!(pointers.last().unwrap().is_null());
            pointers[..pointers.len() - 1]
                .iter()
                // SAFETY: each pointer is to a NUL-terminated string in `block`.
                .map(|&p| unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes())
                .collect()
        }
        let found = count(|| {
            let secret = SecretValue::new(MARK.repeat(2));
            let var = |name: &str, value| Var {
                name: name.to_owned(),
                value,
                origin: Origin::Parent,
                dates: Dates::default(),
                not_secret: false,
            };
            let env = ChildEnv {
                vars: vec![
                    var("EMPTY", VarValue::Parent(OsString::new())),
                    var("KEY", VarValue::Secret(&secret)),
                    var("PATH", VarValue::Parent("/bin".into())),
                ],
            };
            let args = ["app".into(), "-x".into(), "".into()];
            let strings = ExecStrings::new(Path::new("/bin/app"), &args, &env).unwrap();
            assert_eq!(strings.program.as_bytes(), b"/bin/app");
            assert_eq!(read(&strings.argv), [&b"app"[..], b"-x", b""]);
            let envp = read(&strings.envp);
            assert_eq!(envp.len(), 3);
            assert_eq!((envp[0], envp[2]), (&b"EMPTY="[..], &b"PATH=/bin"[..]));
            let key = envp[1].strip_prefix(b"KEY=").expect("KEY=");
            assert!(key == secret.expose().as_bytes(), "KEY's value differs");
        });
        assert_eq!(found, 0, "a freed buffer still held the secret");

        let args = ["app".into(), "a\0b".into()];
        let no_env = ChildEnv { vars: Vec::new() };
        let Err(err) = ExecStrings::new(Path::new("/bin/app"), &args, &no_env) else {
            panic!("a NUL in an argument was taken");
        };
        assert_eq!(
            err.to_string(),
            "argument 1 of the command holds a NUL byte"
        );
    }
}
