//! The platforms' own secret files as sources: Docker's `/run/secrets`, systemd's
//! `$CREDENTIALS_DIRECTORY`, a directory such as a Kubernetes secret volume, and the
//! `NAME_FILE` convention of the parent's environment.
//!
//! A file is one variable. Its name comes from the file's: upper-cased, `-` and `.`
//! as `_` (`db-password` is `DB_PASSWORD`); a name that is still not a variable's is
//! skipped. Its value is the file's text with its trailing newlines removed, as
//! `$(cat FILE)` removes them: that is what the official Docker images' `file_env`
//! does with a `NAME_FILE`, and a secret made with `echo value | docker secret
//! create` ends in one. Names starting with `.` are skipped: a Kubernetes volume's
//! `..data` and its dated directories. A file is read only when it is a regular file
//! (a FIFO or device is refused, not waited on), and all of a launch's platform files
//! share one budget of bytes and of files.

use std::cell::Cell;
use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::error::{Failure, Kind};
use crate::escape::{Escaped, os};
use crate::secret::SecretValue;

/// Where Docker mounts a service's secrets (swarm services and Compose's `secrets:`).
pub const DOCKER_SECRETS: &str = "/run/secrets";

/// The most files one launch reads from platform sources, all together.
pub const MAX_FILES: usize = 1024;

/// The most bytes those files hold, all together.
pub const MAX_BYTES: usize = 16 << 20;

/// The parent's `*_FILE` variables that name the launcher's or another tool's own
/// credentials or settings, never a value for the command: `--from-file-vars` does
/// not read them (`AWS_WEB_IDENTITY_TOKEN_FILE` would copy your token into the
/// command, `NIX_SSL_CERT_FILE` a CA bundle).
const SETTINGS_PREFIXES: &[&str] = &[
    "AWS_",
    "AZURE_",
    "GOOGLE_",
    "CLOUDSDK_",
    "VAULT_",
    "BAO_",
    "SECRETRUN_",
    "CURL_",
    "KUBE",
    "DOCKER_",
    "COMPOSE",
    "NIX_",
    "GIT_",
    "PIP_",
    "NPM_",
    "SSH_",
    "GPG_",
    "GNUPG",
];

/// Words that make a `*_FILE` a tool's setting wherever they are in its name.
const SETTINGS_WORDS: &[&str] = &["SSL", "CERT", "CONFIG", "CA_BUNDLE"];

/// Whether `NAME` of a `NAME_FILE` is a tool's setting rather than a secret.
fn is_setting(name: &str) -> bool {
    SETTINGS_PREFIXES.iter().any(|p| name.starts_with(p))
        || SETTINGS_WORDS.iter().any(|w| name.contains(w))
}

/// A directory of secret files: which platform laid it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `docker-secrets`: `/run/secrets` (or `$SECRETRUN_DOCKER_SECRETS`).
    Docker,
    /// `systemd-creds`: `$CREDENTIALS_DIRECTORY`.
    Systemd,
    /// `dir:PATH`: any directory, a Kubernetes secret volume among them.
    Dir,
}

/// One variable read from a file.
pub struct FileVar {
    pub name: String,
    pub value: SecretValue,
    pub path: PathBuf,
}

/// What the launch's platform files may still cost.
pub struct Budget {
    files: Cell<usize>,
    bytes: Cell<usize>,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            files: Cell::new(MAX_FILES),
            bytes: Cell::new(MAX_BYTES),
        }
    }
}

/// The variable a file's name gives, if any.
pub fn var_name(file_name: &str) -> Option<String> {
    let name: String = file_name
        .chars()
        .map(|c| match c {
            '-' | '.' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    crate::names::is_valid_name(&name).then_some(name)
}

/// The directory a layout reads: `dir:`'s own, or where the platform puts it.
pub fn directory(
    layout: Layout,
    dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<PathBuf> {
    match layout {
        Layout::Dir => Ok(dir.to_path_buf()),
        Layout::Docker => Ok(env("SECRETRUN_DOCKER_SECRETS")
            .map_or_else(|| PathBuf::from(DOCKER_SECRETS), PathBuf::from)),
        Layout::Systemd => match env("CREDENTIALS_DIRECTORY") {
            Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
            _ => Err(Failure::new(
                Kind::Config,
                "`systemd-creds`: CREDENTIALS_DIRECTORY is not set",
            )
            .with_hint(
                "systemd sets it for a service with `LoadCredential=` or `SetCredential=`; \
                 run secretrun as that service's command",
            )
            .into()),
        },
    }
}

/// Every file of a directory, as variables, in the order of their names.
pub fn read_dir(source: &str, dir: &Path, budget: &Budget) -> Result<Vec<FileVar>> {
    let shown = os(dir.as_os_str());
    let unreadable = |e: std::io::Error| {
        let kind = match e.kind() {
            ErrorKind::PermissionDenied => Kind::Denied,
            _ => Kind::Config,
        };
        let why = crate::encrypted::read_failure(&e);
        Failure::new(kind, format!("`{source}`: reading `{shown}`: {why}"))
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let file_name = entry.file_name();
        // A Kubernetes volume's `..data` link and dated directories, dot files.
        if file_name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        take(&budget.files, 1).ok_or_else(|| {
            Failure::new(
                Kind::Invalid,
                format!("`{source}`: the launch's secret files are more than {MAX_FILES}; secretrun stops there"),
            )
        })?;
        names.push(file_name);
    }
    names.sort();
    let mut vars = Vec::new();
    for file_name in names {
        let Some(name) = file_name.to_str().and_then(var_name) else {
            continue;
        };
        let path = dir.join(&file_name);
        // A Kubernetes volume's files are links into `..data`; a directory is not a value.
        if std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        let value = read_value(source, &path, budget)?;
        vars.push(FileVar { name, value, path });
    }
    Ok(vars)
}

/// `--from-file-vars`: each parent variable `NAME_FILE` that names a regular file
/// gives `NAME`, but for the launcher's and other tools' settings ([`is_setting`]).
/// A `NAME_FILE` whose file is missing is skipped (the image may set it for another
/// service); one that cannot be read otherwise stops the launch.
pub fn read_file_vars(parent: &[(OsString, OsString)], budget: &Budget) -> Result<Vec<FileVar>> {
    let mut vars = Vec::new();
    for (key, value) in parent {
        let Some(name) = key.to_str().and_then(|k| k.strip_suffix("_FILE")) else {
            continue;
        };
        if !crate::names::is_valid_name(name) || is_setting(name) || value.is_empty() {
            continue;
        }
        let path = PathBuf::from(value);
        if !path.exists() {
            continue;
        }
        take(&budget.files, 1).ok_or_else(|| {
            Failure::new(
                Kind::Invalid,
                format!(
                    "`--from-file-vars`: more than {MAX_FILES} secret files; secretrun stops there"
                ),
            )
        })?;
        let source = format!("{}_FILE", Escaped(name));
        let value = read_value(&source, &path, budget)?;
        vars.push(FileVar {
            name: name.to_owned(),
            value,
            path,
        });
    }
    vars.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(vars)
}

/// One file's value: a regular file's UTF-8 text, trailing newlines removed.
fn read_value(source: &str, path: &Path, budget: &Budget) -> Result<SecretValue> {
    let shown = os(path.as_os_str());
    let failed = |kind, why: String| Failure::new(kind, format!("`{source}`: `{shown}` {why}"));
    let bytes = crate::encrypted::read_regular_file_at_most(path, budget.bytes.get() as u64)
        .map_err(|e| match e.kind() {
            ErrorKind::PermissionDenied => failed(Kind::Denied, "cannot be read".into()),
            ErrorKind::InvalidInput => failed(Kind::Config, "is not a regular file".into()),
            ErrorKind::InvalidData => failed(
                Kind::Invalid,
                format!(
                    "passes the {} MiB all secret files may hold together",
                    MAX_BYTES >> 20
                ),
            ),
            _ => failed(Kind::Config, crate::encrypted::read_failure(&e)),
        })?;
    take(&budget.bytes, bytes.len()).expect("read at most what was left");
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        failed(
            Kind::Invalid,
            "is not UTF-8 text (an environment variable holds text)".into(),
        )
    })?;
    Ok(SecretValue::new(text.trim_end_matches('\n').to_owned()))
}

/// Takes `n` from what is left, or `None` when that is less.
fn take(left: &Cell<usize>, n: usize) -> Option<()> {
    left.set(left.get().checked_sub(n)?);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_gives_an_upper_case_variable() {
        assert_eq!(var_name("db-password").as_deref(), Some("DB_PASSWORD"));
        assert_eq!(var_name("api.key").as_deref(), Some("API_KEY"));
        assert_eq!(var_name("STRIPE_KEY").as_deref(), Some("STRIPE_KEY"));
        assert_eq!(var_name("1password"), None);
        assert_eq!(var_name("a b"), None);
    }

    #[test]
    fn tools_settings_are_not_secrets_of_the_command() {
        for name in [
            "AWS_WEB_IDENTITY_TOKEN",
            "AZURE_FEDERATED_TOKEN",
            "NIX_SSL_CERT",
            "SSL_CERT",
        ]
        .into_iter()
        .chain([
            "AWS_SHARED_CREDENTIALS",
            "GOOGLE_GHA_CREDS",
            "KUBECONFIG",
            "PIP_CONFIG",
        ]) {
            assert!(is_setting(name), "{name}");
        }
        for name in [
            "POSTGRES_PASSWORD",
            "DJANGO_SECRET_KEY",
            "MYSQL_ROOT_PASSWORD",
            "API_TOKEN",
        ] {
            assert!(!is_setting(name), "{name}");
        }
    }
}
