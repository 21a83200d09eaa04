//! Where `memfd_create` is refused (a seccomp profile, a kernel before 3.17): each
//! file is a 0400 file in a 0700 directory of secretrun's own on a tmpfs, which
//! lives in memory, and the directory is removed when the command has exited (so
//! secretrun supervises it then, to be there). A directory that is not on a tmpfs
//! or ramfs is never used: with neither a memory file nor a tmpfs, the launch stops.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Failure, Kind};

/// The file systems that keep their files in memory only.
const TMPFS_MAGIC: u64 = 0x0102_1994;
const RAMFS_MAGIC: u64 = 0x8584_58f6;

/// secretrun's directory on a tmpfs, removed with what it holds when dropped.
pub struct TmpDir {
    path: PathBuf,
}

/// Whether a directory is on a file system that keeps its files in memory.
pub fn in_memory(dir: &Path) -> bool {
    rustix::fs::statfs(dir).is_ok_and(|fs| {
        let kind = fs.f_type as u64;
        kind == TMPFS_MAGIC || kind == RAMFS_MAGIC
    })
}

/// Where a directory of ours may go, in order: the user's runtime directory, then
/// `/dev/shm`.
fn bases() -> [PathBuf; 2] {
    let uid = rustix::process::getuid().as_raw();
    [
        PathBuf::from(format!("/run/user/{uid}")),
        PathBuf::from("/dev/shm"),
    ]
}

/// Whether one of them is on a tmpfs.
pub fn available() -> bool {
    bases().iter().any(|b| in_memory(b))
}

/// Neither a memory file (`why`) nor a tmpfs: nothing is written, nothing runs.
pub fn neither(why: &rustix::io::Errno) -> Failure {
    let uid = rustix::process::getuid().as_raw();
    Failure::new(
        Kind::Unreachable,
        format!(
            "delivering files: no memory file ({why}) and no tmpfs to hold one \
             (/run/user/{uid}, /dev/shm)"
        ),
    )
    .with_hint(
        "secretrun never writes a secret to disk; allow memfd_create (Linux 3.17 and \
         later) in the seccomp profile, or mount a tmpfs on /dev/shm",
    )
}

impl TmpDir {
    /// A new directory of ours under the user's runtime directory (`/run/user/UID`)
    /// or `/dev/shm`, whichever is a tmpfs first.
    pub fn make(why: &rustix::io::Errno) -> Result<TmpDir, Failure> {
        let pid = rustix::process::getpid().as_raw_pid();
        let nonce = crate::jitter::random_u64();
        for base in bases().iter().filter(|b| in_memory(b)) {
            let path = base.join(format!("secretrun-{pid}-{nonce:016x}"));
            if std::fs::DirBuilder::new().mode(0o700).create(&path).is_ok() {
                return Ok(TmpDir { path });
            }
        }
        Err(neither(why))
    }

    /// Puts `bytes` in the file `name`, read-only for its owner, whole at once: a
    /// new file renamed over the old, so a reader never sees it half written.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, Failure> {
        let path = self.path.join(name);
        let staged = self.path.join(format!(".{name}.new"));
        let failed = |e: std::io::Error| {
            Failure::new(
                Kind::Unreachable,
                format!("delivering `{name}` as a file on a tmpfs: {e}"),
            )
        };
        let _ = std::fs::remove_file(&staged);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&staged)
            .map_err(failed)?;
        file.write_all(bytes).map_err(failed)?;
        rustix::fs::fchmod(&file, rustix::fs::Mode::RUSR).map_err(|e| failed(e.into()))?;
        std::fs::rename(&staged, &path).map_err(failed)?;
        Ok(path)
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_memory_file_systems_hold_files() {
        assert!(in_memory(Path::new("/dev/shm")) || !Path::new("/dev/shm").exists());
        assert!(!in_memory(Path::new("/proc")));
    }
}
