//! Secrets delivered as files that never touch a disk: `--file NAME`, `--file
//! NAME_FILE=NAME`, and `[vars.NAME] as = "file"` (with `env = "NAME_FILE"`).
//!
//! The value goes into an anonymous memory file (`memfd_create`): no directory
//! entry on any filesystem, sealed against writes, growing and shrinking, and gone
//! when the last process holding it exits, even on SIGKILL. The command inherits
//! its descriptor, and the variable holds `/proc/PID/fd/N`, PID being the command's
//! own when secretrun execs it (its PID is secretrun's), the supervisor's when it
//! supervises ([`deliver_supervised`]). That path, unlike
//! `/proc/self/fd/N` or `/dev/fd/N`, opens the file from any process of the same
//! user for as long as the command lives: its children, a child that closed the
//! descriptors it inherited (Python's `subprocess` closes them by default), workers
//! a server forks, the command re-executing itself. Each open starts at the
//! beginning, so a file can be read any number of times.
//!
//! The value is validated as any other first; the variable `NAME` itself is not in
//! the command's environment when `NAME_FILE` names the file.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};

use anyhow::Result;

use crate::env::{ChildEnv, Var, VarValue};
use crate::error::{Failure, Kind, fail};
use crate::escape::Escaped;
use crate::names::is_valid_name;
use crate::validate::{Deliver, VarSpec};

mod template;
pub mod tmpfs;

pub use template::{FileSpec, Template};

/// One file the command gets: `var` holds its path, and it holds the value of
/// `name`, or, for a `[files.NAME]` (then `name` is `var`), its template filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsFile {
    pub var: String,
    pub name: String,
    pub template: Option<Template>,
}

impl AsFile {
    /// Whether its content changes when these values change.
    pub fn uses(&self, changed: &[&str]) -> bool {
        match &self.template {
            Some(template) => template.uses(changed),
            None => changed.contains(&self.name.as_str()),
        }
    }
}

/// The files a launch delivers: `--file` (`NAME`, or `VAR=NAME`), the config's
/// `as = "file"` variables and its `[files.NAME]` templates, each name once.
pub fn as_files(
    flags: &[String],
    vars: &BTreeMap<String, VarSpec>,
    templates: &BTreeMap<String, FileSpec>,
) -> Result<Vec<AsFile>> {
    let mut files = Vec::new();
    for flag in flags {
        files.push(from_flag(flag)?);
    }
    for (name, spec) in vars {
        files.extend(from_var(name, spec)?);
    }
    for (name, spec) in templates {
        if !is_valid_name(name) {
            return fail(
                Kind::Config,
                format!("`[files.{}]` is not a valid variable name", Escaped(name)),
            );
        }
        files.push(AsFile {
            var: name.clone(),
            name: name.clone(),
            template: Some(Template::parse(name, &spec.template)?),
        });
    }
    for (i, file) in files.iter().enumerate() {
        if files[..i]
            .iter()
            .any(|f| f.name == file.name || f.var == file.var)
        {
            return fail(
                Kind::Config,
                format!("`{}` is delivered as a file twice", file.name),
            );
        }
    }
    Ok(files)
}

/// `--file NAME` or `--file VAR=NAME`.
fn from_flag(flag: &str) -> Result<AsFile> {
    let (var, name) = flag.split_once('=').unwrap_or((flag, flag));
    if let Some(bad) = [var, name].into_iter().find(|n| !is_valid_name(n)) {
        return fail(
            Kind::Config,
            format!(
                "`--file {}`: `{}` is not a variable name",
                Escaped(flag),
                Escaped(bad)
            ),
        );
    }
    Ok(AsFile {
        var: var.to_owned(),
        name: name.to_owned(),
        template: None,
    })
}

/// `[vars.NAME] as = "file"`, with `env` naming the path's variable.
fn from_var(name: &str, spec: &VarSpec) -> Result<Option<AsFile>> {
    match (spec.deliver, &spec.env) {
        (Deliver::File, env) => {
            let var = env.as_deref().unwrap_or(name);
            if !is_valid_name(var) {
                return fail(
                    Kind::Config,
                    format!(
                        "`[vars.{name}] env`: `{}` is not a variable name",
                        Escaped(var)
                    ),
                );
            }
            Ok(Some(AsFile {
                var: var.to_owned(),
                name: name.to_owned(),
                template: None,
            }))
        }
        (Deliver::Env, Some(_)) => fail(
            Kind::Config,
            format!("`[vars.{name}] env` names the variable of a file: it needs `as = \"file\"`"),
        ),
        (Deliver::Env, None) => Ok(None),
    }
}

/// The delivered files: the command inherits their descriptors, so they stay open
/// until the exec (dropped if it fails), or for as long as a supervised command
/// runs; on a tmpfs, the directory goes when dropped.
pub enum Delivered {
    /// Memory files, each path naming its descriptor.
    Memory(std::cell::RefCell<Vec<(AsFile, OwnedFd)>>),
    /// Files of a tmpfs directory, each named as its variable.
    Tmpfs {
        dir: tmpfs::TmpDir,
        files: Vec<AsFile>,
    },
}

impl Delivered {
    fn none() -> Delivered {
        Delivered::Memory(Vec::new().into())
    }

    /// Puts each changed value's new content behind the same path: a new sealed
    /// memory file takes the old one's descriptor number (`dup2`, in one step), or a
    /// new tmpfs file is renamed over the old, so whoever opens the path from now on
    /// reads the new value, and nobody ever reads a file half written. The old file
    /// lives on for readers that hold it open.
    pub fn swap(&self, env: &ChildEnv, changed: &[&str]) -> Result<(), Failure> {
        match self {
            Delivered::Memory(held) => {
                for (file, held) in held.borrow_mut().iter_mut() {
                    if file.uses(changed) {
                        let fresh = memory_file(&file.name, &content(env, file)?)?;
                        rustix::io::dup2(&fresh, held)
                            .map_err(|e| unmade(&file.var, "swapping it in", e))?;
                    }
                }
            }
            Delivered::Tmpfs { dir, files } => {
                for file in files.iter().filter(|f| f.uses(changed)) {
                    dir.write(&file.var, &content(env, file)?)?;
                }
            }
        }
        Ok(())
    }
}

/// Whether memory files can be made here (a seccomp profile may refuse them).
pub fn memory_files_work() -> Result<(), rustix::io::Errno> {
    rustix::fs::memfd_create("secretrun-probe", rustix::fs::MemfdFlags::CLOEXEC).map(drop)
}

/// Turns each value to deliver into a sealed memory file: `var` gets its path, and
/// `name` leaves the environment. A name with no value is an error (65): the
/// command would get a path to nothing.
pub fn deliver(env: &mut ChildEnv, files: &[AsFile]) -> Result<Delivered, Failure> {
    let pid = rustix::process::getpid().as_raw_pid();
    let mut held = Vec::new();
    for file in files {
        place(env, file, |value| {
            let fd = memory_file(&file.name, value)?;
            // The command inherits it.
            rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::empty())
                .map_err(|e| unmade(&file.var, "handing it on", e))?;
            let path = format!("/proc/{pid}/fd/{}", fd.as_raw_fd());
            held.push((file.clone(), fd));
            Ok(OsString::from(path))
        })?;
    }
    Ok(Delivered::Memory(held.into()))
}

/// [`deliver`] where memory files are refused: files in a directory of secretrun's
/// own on a tmpfs, removed when the [`Delivered`] is dropped.
fn deliver_on_tmpfs(
    env: &mut ChildEnv,
    files: &[AsFile],
    why: &rustix::io::Errno,
) -> Result<Delivered, Failure> {
    let dir = tmpfs::TmpDir::make(why)?;
    for file in files {
        place(env, file, |value| {
            Ok(dir.write(&file.var, value)?.into_os_string())
        })?;
    }
    Ok(Delivered::Tmpfs {
        dir,
        files: files.to_vec(),
    })
}

/// What `list` and `check` show of a delivery: `var` holds a memory file's path
/// (`/proc/PID/fd/N` once the command runs), `name` is not in the environment.
pub fn describe(env: &mut ChildEnv, files: &[AsFile]) -> Result<(), Failure> {
    for file in files {
        place(env, file, |_| {
            Ok(OsString::from(match file.template {
                Some(_) => format!("(a file in memory: [files.{}])", file.var),
                None => format!("(a file in memory holding {}'s value)", file.name),
            }))
        })?;
    }
    Ok(())
}

/// Puts `var` in the environment, holding what `path` makes of the file's content;
/// a value delivered as a file leaves the environment.
fn place(
    env: &mut ChildEnv,
    file: &AsFile,
    path: impl FnOnce(&[u8]) -> Result<OsString, Failure>,
) -> Result<(), Failure> {
    let content = content(env, file)?;
    let (origin, dates) = match &file.template {
        None => {
            let at = env.vars.iter().position(|v| v.name == file.name);
            let secret = env.vars.remove(at.expect("content found it"));
            (secret.origin, secret.dates)
        }
        // What the file holds comes from the first value it uses.
        Some(template) => {
            let first = template.names().next().and_then(|n| env.get(n));
            (
                first.map_or(crate::secret::Origin::Parent, |v| v.origin.clone()),
                Default::default(),
            )
        }
    };
    let path = path(&content)?;
    env.vars.retain(|v| v.name != file.var);
    let at = env.vars.partition_point(|v| v.name < file.var);
    env.vars.insert(
        at,
        Var {
            name: file.var.clone(),
            value: VarValue::File(path),
            origin,
            dates,
            not_secret: false,
        },
    );
    Ok(())
}

/// A file's content: its value, or its template filled in from the environment.
fn content(env: &ChildEnv, file: &AsFile) -> Result<zeroize::Zeroizing<Vec<u8>>, Failure> {
    if let Some(template) = &file.template {
        return template.render(&file.var, env);
    }
    match env.get(&file.name) {
        Some(var) => Ok(zeroize::Zeroizing::new(
            var.value.as_os_str().as_encoded_bytes().to_vec(),
        )),
        None => Err(Failure::new(
            Kind::Invalid,
            format!(
                "`{}` is to be delivered as a file, but it has no value",
                file.name
            ),
        )),
    }
}

fn unmade(name: &str, what: &str, e: rustix::io::Errno) -> Failure {
    Failure::new(
        Kind::Unreachable,
        format!("delivering `{name}` as a file: {what}: {e}"),
    )
    .with_hint(
        "secretrun keeps a file's secret in memory only (memfd_create, Linux 3.17 and \
         later); it never writes one to disk",
    )
}

/// [`deliver`] for a command secretrun supervises: the paths name the supervisor's
/// descriptors (`/proc/SUPERVISOR/fd/N`), which the command's children can open
/// whatever they closed, and which a changed value can be swapped behind. The
/// kernel lets another process open `/proc/PID/fd/N` only while PID is dumpable, so
/// the supervisor becomes dumpable when it delivers files; core dumps stay off
/// (RLIMIT_CORE 0), and the command, which holds the same values, is dumpable too.
/// Where memory files are refused, the files go on a tmpfs instead
/// ([`tmpfs`]), removed when the command has exited.
pub fn deliver_supervised(env: &mut ChildEnv, files: &[AsFile]) -> Result<Delivered, Failure> {
    if files.is_empty() {
        return Ok(Delivered::none());
    }
    if let Err(why) = memory_files_work() {
        return deliver_on_tmpfs(env, files, &why);
    }
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::Dumpable)
        .map_err(|e| Failure::new(Kind::Unreachable, format!("delivering files: {e}")))?;
    deliver(env, files)
}

/// A sealed anonymous memory file holding `bytes` (its descriptor close-on-exec
/// until [`deliver`] hands it on).
fn memory_file(name: &str, bytes: &[u8]) -> Result<OwnedFd, Failure> {
    use rustix::fs::{MemfdFlags, SealFlags};
    let failed = |what: &str, e| unmade(name, what, e);
    let fd = rustix::fs::memfd_create(name, MemfdFlags::ALLOW_SEALING | MemfdFlags::CLOEXEC)
        .map_err(|e| failed("no memory file", e))?;
    // Read-only for its owner alone, as programs ask of a key or password file
    // (libpq ignores a `.pgpass` others may read; OpenSSH refuses such a key).
    rustix::fs::fchmod(&fd, rustix::fs::Mode::RUSR).map_err(|e| failed("its mode", e))?;
    let mut written = 0;
    while written < bytes.len() {
        written += rustix::io::write(&fd, &bytes[written..]).map_err(|e| failed("writing", e))?;
    }
    rustix::fs::fcntl_add_seals(
        &fd,
        SealFlags::WRITE | SealFlags::GROW | SealFlags::SHRINK | SealFlags::SEAL,
    )
    .map_err(|e| failed("sealing", e))?;
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_flags_name_a_variable_and_a_value() {
        let (vars, none) = (BTreeMap::new(), BTreeMap::new());
        let files = as_files(
            &["TLS_KEY".into(), "DB_PASSWORD_FILE=DB_PASSWORD".into()],
            &vars,
            &none,
        )
        .unwrap();
        assert_eq!(
            files,
            [
                AsFile {
                    var: "TLS_KEY".into(),
                    name: "TLS_KEY".into(),
                    template: None,
                },
                AsFile {
                    var: "DB_PASSWORD_FILE".into(),
                    name: "DB_PASSWORD".into(),
                    template: None,
                },
            ]
        );
        assert!(as_files(&["A=".into()], &vars, &none).is_err());
        assert!(as_files(&["A".into(), "B=A".into()], &vars, &none).is_err());
    }

    #[test]
    fn a_memory_file_is_sealed_and_reads_from_the_start() {
        use std::io::Read;
        let fd = memory_file("T", b"value").unwrap();
        let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
        for _ in 0..2 {
            let mut text = String::new();
            std::fs::File::open(&path)
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            assert_eq!(text, "value");
        }
        use std::io::Write;
        if let Ok(mut file) = std::fs::OpenOptions::new().write(true).open(&path) {
            assert!(file.write_all(b"other").is_err(), "sealed against writes");
        }
    }
}
