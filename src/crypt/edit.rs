//! `secretrun edit`: the one plain copy of the file lives in a private directory on a
//! memory file system (tmpfs: `$XDG_RUNTIME_DIR` or `/dev/shm`), mode 0700, and is
//! overwritten and removed on every way out: a normal exit, the editor failing, an
//! error, a panic, and SIGTERM or SIGHUP (passed on to the editor first). Like `git
//! commit`, secretrun ignores SIGINT and SIGQUIT while the editor runs: they are the
//! editor's. Only SIGKILL leaves the copy behind, in memory, until the next reboot.

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::Result;
use zeroize::Zeroizing;

use super::{Context, Recipients, check_dotenv, read, write};
use crate::encrypted::age;
use crate::encrypted::passphrase;
use crate::error::{Failure, Kind, fail};
use crate::escape::os;
use crate::messages;
use crate::sigset::{Signal, SignalSet};

const TMPFS_MAGIC: i64 = 0x0102_1994;
const RAMFS_MAGIC: i64 = 0x8584_58f6;

pub fn edit(file: &Path, to: &Recipients, cx: &Context) -> Result<u8> {
    let shown = os(file.as_os_str());
    let (plain, armored, mode) = match std::fs::metadata(file) {
        Ok(meta) => {
            let bytes = read(file)?;
            if !age::is_age(&bytes) {
                return fail(
                    Kind::Config,
                    format!(
                        "`{shown}` is not an age file: encrypt it first (`secretrun encrypt {shown}`)"
                    ),
                );
            }
            let armored = age::is_armored(&bytes);
            (cx.decrypt(&bytes, &shown)?, armored, Some(meta.mode()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            (Zeroizing::new(Vec::new()), false, None)
        }
        Err(e) => return fail(Kind::Config, format!("`{shown}`: {e}")),
    };
    let recipients = cx.recipients(to)?;
    let signals = Blocked::new();
    let dir = PrivateDir::create(cx.env("XDG_RUNTIME_DIR"))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".age").to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| ".env".to_owned());
    let copy = dir.path.join(name);
    write_new(&copy, &plain)?;
    let edited = loop {
        match run_editor(&copy, &signals, cx)? {
            Ended::Signal(sig) => {
                messages::note(&format!(
                    "stopped by signal {}: `{shown}` is unchanged",
                    sig.as_raw()
                ));
                return Ok(128 + sig.as_raw() as u8);
            }
            Ended::Status(status) if !status.success() => {
                messages::note(&format!(
                    "the editor failed ({status}): `{shown}` is unchanged"
                ));
                return Ok(1);
            }
            Ended::Status(_) => {}
        }
        let edited = read(&copy).map_err(|_| {
            Failure::new(
                Kind::Config,
                format!("the editor removed its copy: `{shown}` is unchanged"),
            )
        })?;
        match check_dotenv(&edited, &shown) {
            Ok(()) => break edited,
            Err(e) => {
                messages::note(&messages::one_line(&e));
                if !again()? {
                    return Err(e.context(format!("`{shown}` is unchanged")));
                }
            }
        }
    };
    if *edited == *plain && mode.is_some() {
        messages::note(&format!("no change: `{shown}` left as it was"));
        return Ok(0);
    }
    let sealed = age::encrypt(&edited, &recipients.keys, armored)?;
    write::replace(file, &sealed, mode)?;
    drop(dir);
    messages::note(&format!("`{shown}` encrypted to {}", recipients.said));
    Ok(signals.pending().map_or(0, |sig| 128 + sig.as_raw() as u8))
}

/// Asks on the terminal whether to edit again after a malformed save.
fn again() -> Result<bool> {
    let answer = passphrase::ask_visible("Edit again? [Y/n] ")?;
    Ok(matches!(
        answer.as_deref().map(str::trim),
        Some("" | "y" | "Y" | "yes")
    ))
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    file.write_all(bytes)?;
    Ok(())
}

enum Ended {
    Status(ExitStatus),
    Signal(Signal),
}

/// Runs `$VISUAL`, else `$EDITOR`, else `vi`, through `sh` as git does (the variable
/// may hold arguments), and waits for it, handling the blocked signals.
fn run_editor(copy: &Path, signals: &Blocked, cx: &Context) -> Result<Ended> {
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|name| cx.env(name))
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| "vi".into());
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        // `exec`: the editor itself, not a shell around it, gets the signals passed
        // on, so it does not edit on, orphaned, after the copy is gone.
        .arg("exec $SECRETRUN_EDITOR \"$@\"")
        .arg("secretrun-editor")
        .arg(copy)
        .env("SECRETRUN_EDITOR", &editor)
        .spawn()
        .map_err(|e| Failure::new(Kind::Config, format!("starting the editor: {e}")))?;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Ended::Status(status));
        }
        if let Some(sig @ (Signal::TERM | Signal::HUP)) = signals.wait(Duration::from_millis(50)) {
            stop(&mut child, sig);
            return Ok(Ended::Signal(sig));
        }
    }
}

/// Passes the signal to the editor, and kills it if it has not gone in 3 s.
fn stop(child: &mut Child, sig: Signal) {
    crate::sigset::send_to_process(child.id() as libc::pid_t, sig);
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// INT, QUIT, TERM and HUP held back from the moment the plain copy exists until it
/// is gone; taken with `wait`. The mask is put back on drop. A signal the shell set to
/// be ignored stays ignored (it is discarded, never pending).
struct Blocked {
    set: SignalSet,
    old: SignalSet,
}

impl Blocked {
    fn new() -> Blocked {
        let set = SignalSet::of(&[Signal::INT, Signal::QUIT, Signal::TERM, Signal::HUP]);
        let old = set.block();
        Blocked { set, old }
    }

    /// A blocked signal that arrives within `timeout`.
    fn wait(&self, timeout: Duration) -> Option<Signal> {
        self.set.wait(timeout)
    }

    /// A stopping signal (TERM, HUP) that came while nothing was waiting for one.
    fn pending(&self) -> Option<Signal> {
        let mut stopping = None;
        while let Some(sig) = self.wait(Duration::ZERO) {
            if matches!(sig, Signal::TERM | Signal::HUP) {
                stopping = Some(sig);
            }
        }
        stopping
    }
}

impl Drop for Blocked {
    fn drop(&mut self) {
        self.old.set_as_mask();
    }
}

/// A directory only we can enter, on a memory file system; its files are overwritten
/// with zeros and it is removed on drop.
struct PrivateDir {
    path: PathBuf,
}

impl PrivateDir {
    fn create(runtime_dir: Option<String>) -> Result<PrivateDir> {
        let mut bases: Vec<PathBuf> = Vec::new();
        if let Some(dir) = runtime_dir.map(PathBuf::from)
            && dir.is_absolute()
        {
            bases.push(dir);
        }
        bases.push(PathBuf::from("/dev/shm"));
        let Some(base) = bases.into_iter().find(|b| in_memory(b)) else {
            return fail(
                Kind::Config,
                "no memory file system for the plain copy ($XDG_RUNTIME_DIR or /dev/shm on \
                 tmpfs): secretrun edit will not put it on disk",
            );
        };
        for attempt in 0..16u32 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let path = base.join(format!(
                "secretrun-edit-{}-{nanos:x}{attempt}",
                std::process::id()
            ));
            match DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(PrivateDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return fail(
                        Kind::Config,
                        format!(
                            "making a private directory in `{}`: {e}",
                            os(base.as_os_str())
                        ),
                    );
                }
            }
        }
        fail(
            Kind::Config,
            "could not make a private directory for the plain copy",
        )
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        if let Ok(entries) = std::fs::read_dir(&self.path) {
            for entry in entries.flatten() {
                let is_file = entry.file_type().is_ok_and(|t| t.is_file());
                if let (true, Ok(meta)) = (is_file, entry.metadata())
                    && let Ok(mut f) = OpenOptions::new().write(true).open(entry.path())
                {
                    let zeros = vec![0u8; meta.len() as usize];
                    let _ = f.write_all(&zeros);
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Whether a directory is on tmpfs or ramfs.
fn in_memory(dir: &Path) -> bool {
    rustix::fs::statfs(dir).is_ok_and(|fs| {
        let kind = fs.f_type;
        kind == TMPFS_MAGIC || kind == RAMFS_MAGIC
    })
}
