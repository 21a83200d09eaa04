//! Finding COMMAND as a shell would, on the parent's PATH (not the child's, which a
//! secret could set), and saying why it could not be started.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Failure, Kind};
use crate::escape::os;

/// Used when the parent has no PATH, as execvp does.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

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
        )
        .with_hint(format!("`chmod +x {}` makes it so", os(found.as_os_str())))),
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

#[cfg(test)]
mod tests {
    use super::*;

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
