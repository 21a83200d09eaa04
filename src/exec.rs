//! Hardening while secrets are held, and the final execve.
//!
//! secretrun replaces itself with COMMAND: same PID, no parent left to forward
//! signals or hold secrets. Before that: no core dumps (RLIMIT_CORE 0 and not
//! dumpable, which also keeps other processes of the same user from ptrace-attaching),
//! COMMAND resolved on the parent's PATH (not the child's, which a secret could set),
//! and the kernel's size limits checked so an oversized value is named instead of
//! surfacing as a bare E2BIG. Just before exec the signal mask is cleared and SIGPIPE
//! (which secretrun ignores, see `start`) goes back to what secretrun's parent had left it;
//! secretrun installs no handlers and starts no threads, so nothing else is left
//! behind. Signals the parent ignored stay ignored, as with any exec (so
//! `nohup secretrun -- app` keeps working, and so does `trap '' PIPE`).

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use crate::env::ChildEnv;
use crate::error::{Failure, Kind};
use crate::escape::os;

/// The kernel's limit on one argument or environment string, NUL included
/// (MAX_ARG_STRLEN, 32 pages).
pub const MAX_ARG_STRLEN: usize = 32 * 4096;

/// Used when the parent has no PATH, as execvp does.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The core-dump limit we found, restored for the child just before exec.
pub struct SavedCoreLimit {
    core: rustix::process::Rlimit,
}

/// Turns off core dumps for as long as secretrun holds secrets.
pub fn harden() -> io::Result<SavedCoreLimit> {
    use rustix::process::{DumpableBehavior, Resource, Rlimit, getrlimit, setrlimit};
    let found = getrlimit(Resource::Core);
    let off = Rlimit {
        current: Some(0),
        maximum: found.maximum,
    };
    setrlimit(Resource::Core, off)?;
    rustix::process::set_dumpable_behavior(DumpableBehavior::NotDumpable)?;
    let core = found;
    Ok(SavedCoreLimit { core })
}

/// Finds COMMAND the way a shell would, on the parent's PATH. A name with a `/` is
/// taken as it is. Errors carry exit status 127 (not found) or 126 (not executable).
pub fn resolve(program: &OsStr, path: Option<&OsStr>) -> Result<PathBuf, Failure> {
    let shown = os(program);
    if program.is_empty() {
        return Err(Failure::new(
            Kind::NotFound,
            "the command is an empty string",
        ));
    }
    if program.as_bytes().contains(&b'/') {
        return Ok(PathBuf::from(program));
    }
    let path = path.unwrap_or(OsStr::new(DEFAULT_PATH));
    let mut not_executable = None;
    for dir in std::env::split_paths(path) {
        // An empty PATH entry means the current directory; keep the `./` so the
        // result still holds a `/` and is not searched again.
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let candidate = dir.join(program);
        match std::fs::metadata(&candidate) {
            Ok(meta) if meta.is_file() => {
                if meta.permissions().mode() & 0o111 != 0 && is_executable(&candidate) {
                    return Ok(candidate);
                }
                not_executable.get_or_insert(candidate);
            }
            _ => {}
        }
    }
    match not_executable {
        Some(found) => Err(Failure::new(
            Kind::NotExecutable,
            format!(
                "`{shown}` was found at `{}` but is not executable",
                os(found.as_os_str())
            ),
        )),
        None => {
            let failure = Failure::new(Kind::NotFound, format!("`{shown}` was not found on PATH"));
            // A program beside us is not on PATH, as in a shell.
            let here = Path::new(program).is_file() && !program.as_bytes().contains(&b'/');
            Err(if here {
                failure.with_hint(format!("`./{shown}` runs the file in this directory"))
            } else {
                failure
            })
        }
    }
}

fn is_executable(path: &Path) -> bool {
    rustix::fs::access(path, rustix::fs::Access::EXEC_OK).is_ok()
}

/// Checks what the kernel will refuse: a string over MAX_ARG_STRLEN, or all of argv
/// and the environment over ARG_MAX. Names the variables, never the values.
pub fn check_limits(program: &Path, args: &[OsString], env: &ChildEnv) -> Result<(), Failure> {
    let mut too_long: Vec<&str> = Vec::new();
    let mut total = program.as_os_str().len() + 1;
    for var in &env.vars {
        let size = var.name.len() + 1 + var.value.as_os_str().len() + 1;
        if size > MAX_ARG_STRLEN {
            too_long.push(&var.name);
        }
        total += size + size_of::<usize>();
    }
    if !too_long.is_empty() {
        return Err(Failure::new(
            Kind::Invalid,
            format!(
                "{} over the kernel's limit of 128 KiB per variable: {}",
                if too_long.len() == 1 {
                    "this value is"
                } else {
                    "these values are"
                },
                too_long
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    for (i, arg) in args.iter().enumerate() {
        if arg.len() + 1 > MAX_ARG_STRLEN {
            return Err(Failure::new(
                Kind::Invalid,
                format!("argument {i} of the command is over the kernel's limit of 128 KiB"),
            ));
        }
        total += arg.len() + 1 + size_of::<usize>();
    }
    total += 2 * size_of::<usize>();
    // SAFETY: sysconf has no preconditions.
    let arg_max = unsafe { libc::sysconf(libc::_SC_ARG_MAX) };
    if arg_max > 0 && total > arg_max as usize {
        let biggest = env
            .vars
            .iter()
            .max_by_key(|var| var.value.as_os_str().len())
            .map(|var| format!(" (the largest is `{}`)", var.name))
            .unwrap_or_default();
        return Err(Failure::new(
            Kind::Invalid,
            format!(
                "the command's arguments and environment take {} KiB, over the system's \
                 ARG_MAX of {} KiB{biggest}",
                total / 1024,
                arg_max / 1024
            ),
        ));
    }
    Ok(())
}

/// The command with exactly the child's environment, for exec or spawn.
pub fn command(program: &Path, args: &[OsString], env: &ChildEnv) -> std::process::Command {
    let mut command = std::process::Command::new(program);
    command.arg0(&args[0]).args(&args[1..]).env_clear();
    for var in &env.vars {
        command.env(&var.name, var.value.as_os_str());
    }
    command
}

impl SavedCoreLimit {
    /// The core-dump limit secretrun found, for a child.
    pub fn core_limit(&self) -> rustix::process::Rlimit {
        self.core
    }
}

/// The failure for a command that could not be started.
pub fn start_failure(program: &Path, err: &io::Error) -> Failure {
    let shown = os(program.as_os_str());
    match err.raw_os_error() {
        // The kernel says ENOENT also when the file is there but what runs it is not.
        Some(libc::ENOENT) if program.is_file() => Failure::new(
            Kind::NotExecutable,
            match interpreter(program) {
                Some(interp) => format!(
                    "`{shown}` exists, but its interpreter `{}` (its `#!` line) was not found",
                    os(interp.as_os_str())
                ),
                None => format!(
                    "`{shown}` exists, but the system could not start it: the program that \
                     loads it (its dynamic loader) was not found"
                ),
            },
        ),
        Some(libc::ENOENT) => Failure::new(Kind::NotFound, format!("`{shown}` was not found")),
        Some(libc::E2BIG) => Failure::new(
            Kind::Invalid,
            format!(
                "running `{shown}`: the arguments and environment are too large for the system"
            ),
        ),
        _ => Failure::new(Kind::NotExecutable, format!("running `{shown}`: {err}")),
    }
}

/// The interpreter a script's `#!` line names.
fn interpreter(program: &Path) -> Option<PathBuf> {
    let mut head = [0u8; 256];
    let n = std::io::Read::read(&mut std::fs::File::open(program).ok()?, &mut head).ok()?;
    let line = head[..n].strip_prefix(b"#!")?;
    let line = &line[..line.iter().position(|&b| b == b'\n').unwrap_or(line.len())];
    let word = line
        .split(|b| b.is_ascii_whitespace())
        .find(|w| !w.is_empty())?;
    Some(PathBuf::from(OsStr::from_bytes(word)))
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
/// strings of its own: a tenth of a launch's instructions (bench/launch.sh, README).
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
        hand_over(&hardening.core);
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
    fn harden_turns_off_dumps() {
        use rustix::process::{DumpableBehavior, Resource};
        let saved = harden().unwrap();
        let dumpable = rustix::process::dumpable_behavior().unwrap();
        let core = rustix::process::getrlimit(Resource::Core).current;
        assert_eq!(dumpable, DumpableBehavior::NotDumpable);
        assert_eq!(core, Some(0));
        rustix::process::setrlimit(Resource::Core, saved.core).unwrap();
    }

    /// argv and envp as execve gets them; the buffer holding the values is zeroed
    /// when an exec that failed drops it.
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

    #[test]
    fn resolves_on_given_path() {
        let found = resolve(
            OsStr::new("sh"),
            Some(OsStr::new("/nonexistent:/bin:/usr/bin")),
        )
        .unwrap();
        assert!(found.ends_with("sh"));
        let err =
            resolve(OsStr::new("surely-not-a-command"), Some(OsStr::new("/bin"))).unwrap_err();
        assert_eq!(err.kind, Kind::NotFound);
        assert_eq!(
            resolve(OsStr::new("./x"), None).unwrap(),
            PathBuf::from("./x")
        );
    }

    #[test]
    fn not_executable_until_chmod() {
        let dir = std::env::temp_dir().join(format!("secretrun-exec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("tool"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(dir.join("tool"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = resolve(OsStr::new("tool"), Some(dir.as_os_str())).unwrap_err();
        assert_eq!(err.kind, Kind::NotExecutable);
        std::fs::set_permissions(dir.join("tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            resolve(OsStr::new("tool"), Some(dir.as_os_str())).unwrap(),
            dir.join("tool")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
