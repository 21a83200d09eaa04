//! Reading a dotenv source: a plain file, an age-encrypted one (opened in memory),
//! and dotenvx's `encrypted:` values in either.

use std::cell::{Cell, OnceCell};
use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::Path;
use std::rc::Rc;

use anyhow::{Context, Result};
use zeroize::Zeroizing;

use super::{Asked, DotenvSpec, dotenv};
use crate::encrypted::age::{self, Identities, IdentitySettings, Passphrases};
use crate::encrypted::dotenvx::{self, Keyring};
use crate::error::{Failure, Kind};
use crate::escape::os;
use crate::secret::AtRest;

/// What reading dotenv files needs beyond the paths: where age identities come from
/// and secretrun's environment (dotenvx's keys, `$SECRETRUN_AGE_IDENTITY`, `$HOME`).
/// Identities are loaded once, at the first age file.
pub struct Reader<'a> {
    settings: &'a IdentitySettings,
    passphrases: &'a Passphrases,
    parent: &'a [(OsString, OsString)],
    identities: OnceCell<Rc<Identities>>,
    /// Bytes of dotenv text the launch may still parse, against [`MAX_TEXT_TOTAL`].
    text_left: Cell<usize>,
    /// Bytes expansion has produced in the launch so far.
    expanded: Cell<usize>,
    /// Key trials dotenvx values may still cost the launch.
    trials: dotenvx::Trials,
}

/// The most dotenv text one launch parses, all its files together (each file is also
/// at most [`crate::encrypted::MAX_FILE`]): a project's config that lists hundreds
/// of files is bounded as one large file is.
pub const MAX_TEXT_TOTAL: usize = 16 << 20;

/// A dotenv file's lines, and how the file was kept on disk.
pub struct Read {
    pub entries: Vec<dotenv::Entry>,
    /// [`AtRest::Age`] for an age file, else [`AtRest::Plain`] (a line's own
    /// `sealed` says whether dotenvx encrypted it).
    pub file: AtRest,
}

impl<'a> Reader<'a> {
    pub fn new(
        settings: &'a IdentitySettings,
        passphrases: &'a Passphrases,
        parent: &'a [(OsString, OsString)],
    ) -> Self {
        Reader {
            settings,
            passphrases,
            parent,
            identities: OnceCell::new(),
            text_left: Cell::new(MAX_TEXT_TOTAL),
            expanded: Cell::new(0),
            trials: dotenvx::Trials::default(),
        }
    }

    /// What expansion has produced so far in the launch (composing spends the rest
    /// of the same budget).
    pub fn expanded(&self) -> usize {
        self.expanded.get()
    }

    fn env(&self, name: &str) -> Option<String> {
        crate::parent::var(self.parent, name)
    }

    fn identities(&self) -> Result<Rc<Identities>> {
        if let Some(found) = self.identities.get() {
            return Ok(found.clone());
        }
        let found = Rc::new(Identities::load(self.settings, &|n| self.env(n))?);
        Ok(self.identities.get_or_init(|| found).clone())
    }

    /// Reads and parses one dotenv file, opening what is encrypted; `None` for an
    /// optional one that is not there.
    pub fn read<'e>(
        &self,
        spec: &DotenvSpec,
        earlier: &'e dotenv::Lookup<'e>,
    ) -> Result<Option<Read>> {
        let path = &spec.path;
        let shown = os(path.as_os_str());
        let bytes = match crate::encrypted::read_file(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound && spec.optional => return Ok(None),
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(missing(spec).into()),
            Err(e) => {
                let kind = match e.kind() {
                    ErrorKind::PermissionDenied => Kind::Denied,
                    _ => Kind::Config,
                };
                let what = crate::encrypted::read_failure(&e);
                let failure = Failure::new(kind, format!("reading dotenv file `{shown}`: {what}"));
                return Err(failure.into());
            }
        };
        let (bytes, file) = if age::is_age(&bytes) {
            let plain = age::decrypt(&bytes, &shown, &mut || self.identities(), self.passphrases)?;
            (plain, AtRest::Age)
        } else {
            (bytes, AtRest::Plain)
        };
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            Failure::new(
                Kind::Invalid,
                format!("malformed dotenv file `{shown}`: line {line} is not UTF-8"),
            )
        })?;
        let Some(left) = self.text_left.get().checked_sub(text.len()) else {
            return Err(Failure::new(
                Kind::Invalid,
                format!(
                    "reading dotenv file `{shown}`: the launch's dotenv files hold more than \
                     {} MiB in all; secretrun stops there",
                    MAX_TEXT_TOTAL >> 20
                ),
            )
            .into());
        };
        self.text_left.set(left);
        let mut unopened = false;
        let mut expanded = self.expanded.get();
        let entries = if text.contains(dotenvx::PREFIX) {
            let keyring = self.keyring(path, text);
            let mut open = |value: &str| {
                keyring.open(value, &self.trials).map_err(|failure| {
                    unopened = true;
                    describe(failure, &keyring)
                })
            };
            dotenv::parse_with(text, earlier, Some(&mut open), &mut expanded)
        } else {
            dotenv::parse_with(text, earlier, None, &mut expanded)
        };
        self.expanded.set(expanded);
        let entries = entries
            .map_err(|e| Failure::new(e.kind, e.to_string()))
            .with_context(|| match (file, unopened) {
                (AtRest::Age, _) => format!("in age-encrypted dotenv file `{shown}`"),
                (_, true) => format!("in dotenv file `{shown}`"),
                _ => format!("malformed dotenv file `{shown}`"),
            })?;
        Ok(Some(Read { entries, file }))
    }

    /// The keys for a file holding dotenvx values: its declared public keys come from
    /// a first reading that opens nothing.
    fn keyring(&self, path: &Path, text: &str) -> Keyring {
        let declared: Vec<String> = dotenv::parse(text, &|_| None)
            .map(|entries| {
                entries
                    .into_iter()
                    .filter(|e| e.name.starts_with(dotenvx::PUBLIC_KEY_PREFIX))
                    .map(|e| e.value.expose().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let keys_path = path.with_file_name(dotenvx::KEYS_FILE);
        let keys_text = crate::encrypted::read_regular_file(&keys_path)
            .ok()
            .map(|bytes| Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned()));
        Keyring::new(
            self.parent,
            &keys_path,
            keys_text.as_deref().map(String::as_str),
            declared,
            &self.trials,
        )
    }
}

/// Why a dotenvx value did not open, for the line's message (which names the file).
fn describe(failure: dotenvx::Failure, keyring: &Keyring) -> (Kind, String) {
    match failure {
        dotenvx::Failure::NoKey => {
            let which = match keyring.declared_short() {
                Some(public) => format!("for its DOTENV_PUBLIC_KEY {public}"),
                None => "at all".to_owned(),
            };
            (
                Kind::Config,
                format!(
                    "is dotenvx-encrypted and no private key was found {which} (looked in {})",
                    keyring.looked.join(", ")
                ),
            )
        }
        dotenvx::Failure::Malformed => (
            Kind::Invalid,
            "is not a dotenvx encrypted value, or was altered".to_owned(),
        ),
        dotenvx::Failure::WrongKeyOrTampered => (
            Kind::Invalid,
            "does not decrypt: the private key is not this file's, or the value was altered"
                .to_owned(),
        ),
        dotenvx::Failure::TooManyTrials => (
            Kind::Invalid,
            "is dotenvx-encrypted, and finding its key would take more key trials than \
             secretrun allows a launch (the files hold too many keys or values sealed to \
             different keys): declare the file's DOTENV_PUBLIC_KEY so that only its key is \
             tried"
                .to_owned(),
        ),
        dotenvx::Failure::NotText => (
            Kind::Invalid,
            "decrypts to bytes that are not text an environment variable can hold".to_owned(),
        ),
    }
}

/// A required dotenv source that is not there: its whole path, who named it and
/// what to do.
fn missing(spec: &DotenvSpec) -> Failure {
    let whole = std::path::absolute(&spec.path).unwrap_or_else(|_| spec.path.clone());
    let shown = os(whole.as_os_str());
    let (who, hint) = match &spec.asked {
        Asked::Flag => (
            "named by `--from`".to_owned(),
            "check the path; `--from optional:PATH` reads a file that may be absent".to_owned(),
        ),
        Asked::Config(config) => (
            format!("named by `sources` in `{}`", os(config.as_os_str())),
            "create it, or mark it `optional:PATH` in `sources` when it may be absent".to_owned(),
        ),
        Asked::Default { project } => (
            "the default source: no config names another".to_owned(),
            format!(
                "config: {project}. Create `.env`, or name the secrets' source: `--from FILE`, \
                 `--from vault://PATH`, `--from aws-sm://NAME`, or write a secretrun.toml \
                 (`secretrun init`)"
            ),
        ),
    };
    Failure::new(
        Kind::Config,
        format!("reading dotenv file `{shown}`: not found ({who})"),
    )
    .with_hint(hint)
}
