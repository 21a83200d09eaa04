//! Writing what the commands make: an identity (private, never over another) and an
//! encrypted file (replaced whole, so a reader never sees half of one).

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::Result;

use crate::error::{Failure, Kind};
use crate::escape::os;

/// Writes a new file only its owner can read, making its directory (0700) if need be.
pub fn create_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let shown = os(path.as_os_str());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| {
                Failure::new(
                    Kind::Config,
                    format!("making the directory of `{shown}`: {e}"),
                )
            })?;
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            let what = match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    "it exists, and secretrun never writes over an identity".to_owned()
                }
                _ => e.to_string(),
            };
            Failure::new(Kind::Config, format!("writing `{shown}`: {what}"))
        })?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// Replaces `path` with `bytes` at once: a new file beside it, then a rename. `mode`
/// is the old file's, kept; a new file gets 0644 less the umask.
pub fn replace(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<()> {
    let shown = os(path.as_os_str());
    let name = path
        .file_name()
        .ok_or_else(|| Failure::new(Kind::Config, format!("`{shown}` is not a file name")))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".secretrun-{}", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let written = (|| -> std::io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&temp)?;
        if let Some(mode) = mode {
            file.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(Failure::new(Kind::Config, format!("writing `{shown}`: {e}")).into());
    }
    Ok(())
}
