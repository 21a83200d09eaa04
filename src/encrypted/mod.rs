//! Files and values encrypted at rest, opened in memory only: age files (the format
//! of `age`, `rage` and sops) and dotenvx's `encrypted:` values. The plain text never
//! touches disk and is zeroed once parsed.

pub mod age;
pub mod dotenvx;
pub mod passphrase;
mod seal;

use std::io::Read;
use std::path::Path;

use zeroize::Zeroizing;

/// The most secretrun reads of one dotenv, identity, keys or recipients file: far
/// more than any holds, and a bound on what a path such as `/dev/zero` in a project's
/// config can make it read.
pub const MAX_FILE: u64 = 16 << 20;

/// Reads a whole file of at most [`MAX_FILE`] bytes into memory that is zeroed when
/// dropped. A pipe (`--identity <(pass show key)`) works; anything longer fails with
/// `InvalidData`.
pub fn read_file(path: &Path) -> std::io::Result<Zeroizing<Vec<u8>>> {
    read_file_at_most(path, MAX_FILE)
}

/// [`read_file`] with a bound of its own, below [`MAX_FILE`].
pub fn read_file_at_most(path: &Path, limit: u64) -> std::io::Result<Zeroizing<Vec<u8>>> {
    read_bounded(std::fs::File::open(path)?, limit.min(MAX_FILE))
}

/// [`read_file`] for a file found rather than named by the user (`.env.keys`, a
/// default identity, the project config's): a FIFO or device there is refused at once
/// instead of blocking the launch.
pub fn read_regular_file(path: &Path) -> std::io::Result<Zeroizing<Vec<u8>>> {
    read_regular_file_at_most(path, MAX_FILE)
}

/// [`read_regular_file`] with a bound of its own, below [`MAX_FILE`]; a file that is
/// not regular fails with `InvalidInput`, one over the bound with `InvalidData`.
pub fn read_regular_file_at_most(path: &Path, limit: u64) -> std::io::Result<Zeroizing<Vec<u8>>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    read_bounded(file, limit.min(MAX_FILE))
}

/// What went wrong reading a file, for a message: `not found`, or the system's words.
pub fn read_failure(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "not found".to_owned(),
        _ => e.to_string(),
    }
}

fn read_bounded(file: std::fs::File, limit: u64) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut bytes = Zeroizing::new(Vec::with_capacity(size.min(limit) as usize + 1));
    // A pipe's size is 0: its bytes arrive into a buffer that grows, zeroed as it does.
    crate::secret::read_to_end_zeroizing(&mut file.take(limit + 1), &mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {}", show_size(limit)),
        ));
    }
    Ok(bytes)
}

/// `16 MiB`, `64 KiB`: a bound as a message gives it.
fn show_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}
