//! The commands that make secretrun enough on its own for encrypted dotenv files:
//! `keygen`, `encrypt`, `decrypt` and `edit`. The plain text of a file goes to
//! standard output or to the editor's private copy in memory, never to disk.

mod edit;
mod write;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::Result;
use zeroize::Zeroizing;

use crate::encrypted::age::{self, Identities, IdentitySettings};
use crate::error::{Failure, Kind, fail};
use crate::escape::os;
use crate::messages;
use crate::source::dotenv;

/// Who files are encrypted to: keys as written, and recipients files.
#[derive(Clone, Debug, Default)]
pub struct Recipients {
    pub keys: Vec<String>,
    pub files: Vec<PathBuf>,
}

/// The recipients a file is encrypted to, and how to tell a person who they are.
struct Chosen {
    keys: Vec<Box<dyn ::age::Recipient + Send>>,
    said: String,
}

/// One of the commands, as the command line asks it.
#[derive(Debug)]
pub enum Task {
    Keygen {
        output: Option<PathBuf>,
        public: Option<PathBuf>,
    },
    Encrypt {
        file: PathBuf,
        to: Recipients,
        output: Option<PathBuf>,
        armor: bool,
    },
    Decrypt {
        file: PathBuf,
    },
    Edit {
        file: PathBuf,
        to: Recipients,
    },
}

/// What every command needs of the configuration and the environment.
pub struct Context<'a> {
    /// The config's recipients, used when the command line names none.
    pub recipients: &'a Recipients,
    pub identity: &'a IdentitySettings,
    pub parent: &'a [(OsString, OsString)],
}

impl Context<'_> {
    fn env(&self, name: &str) -> Option<String> {
        crate::parent::var(self.parent, name)
    }

    /// The recipients of the command line, else the config's; at least one. Each
    /// comes with its short form, to say who the file was encrypted to (a project's
    /// config could add a key: the person writing the file sees it).
    fn recipients(&self, flags: &Recipients) -> Result<Chosen> {
        let from_flags = !(flags.keys.is_empty() && flags.files.is_empty());
        let chosen = if from_flags { flags } else { self.recipients };
        let mut list = Vec::new();
        for key in &chosen.keys {
            list.push((
                age::parse_recipient(key, "a recipient")?,
                age::short_recipient(key),
            ));
        }
        for file in &chosen.files {
            list.extend(age::parse_recipients_file(file)?);
        }
        if list.is_empty() {
            return fail(
                Kind::Config,
                "no recipients: name who can read the file with -r KEY (an `age1…` key or \
                 an SSH public key) or -R FILE, or `recipients` in secretrun.toml",
            );
        }
        let source = if from_flags {
            "the command line"
        } else {
            "secretrun.toml"
        };
        let (keys, shown): (Vec<_>, Vec<_>) = list.into_iter().unzip();
        Ok(Chosen {
            keys,
            said: format!(
                "{} recipient{} (from {source}): {}",
                shown.len(),
                if shown.len() == 1 { "" } else { "s" },
                shown.join(", ")
            ),
        })
    }

    /// Opens an age file's bytes with the identities.
    fn decrypt(&self, bytes: &[u8], shown: &str) -> Result<Zeroizing<Vec<u8>>> {
        let identities = &mut || {
            let found = Identities::load(self.identity, &|n| self.env(n))?;
            Ok(std::rc::Rc::new(found))
        };
        age::decrypt(bytes, shown, identities, &age::Passphrases::default())
    }
}

/// Runs one command; the exit status.
pub fn run(task: &Task, cx: &Context) -> Result<u8> {
    match task {
        Task::Keygen { output, public } => keygen(output.as_deref(), public.as_deref(), cx),
        Task::Encrypt {
            file,
            to,
            output,
            armor,
        } => encrypt(file, to, output.as_deref(), *armor, cx),
        Task::Decrypt { file } => decrypt(file, cx),
        Task::Edit { file, to } => edit::edit(file, to, cx),
    }
}

fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    crate::encrypted::read_file(path).map_err(|e| {
        let what = crate::encrypted::read_failure(&e);
        Failure::new(Kind::Config, format!("`{}`: {what}", os(path.as_os_str()))).into()
    })
}

/// Checks that a text is a dotenv file secretrun reads, before it is encrypted.
fn check_dotenv(plain: &[u8], shown: &str) -> Result<()> {
    let text = std::str::from_utf8(plain)
        .map_err(|_| Failure::new(Kind::Invalid, format!("`{shown}` is not UTF-8 text")))?;
    dotenv::parse(text, &|_| None).map_err(|e| {
        Failure::new(
            Kind::Invalid,
            format!("malformed dotenv file `{shown}`: {e}"),
        )
    })?;
    Ok(())
}

fn keygen(output: Option<&Path>, public: Option<&Path>, cx: &Context) -> Result<u8> {
    if let Some(path) = public {
        let text = read(path)?;
        let text = std::str::from_utf8(&text).unwrap_or("");
        let mut any = false;
        for line in text.lines().filter(|l| l.starts_with("AGE-SECRET-KEY-")) {
            let identity: ::age::x25519::Identity = line.trim().parse().map_err(|_| {
                Failure::new(
                    Kind::Config,
                    format!(
                        "`{}` holds a key that is not an age identity",
                        os(path.as_os_str())
                    ),
                )
            })?;
            messages::answer(&identity.to_public().to_string());
            any = true;
        }
        if !any {
            return fail(
                Kind::Config,
                format!(
                    "`{}` holds no age identity (for an SSH key, its .pub file is the recipient)",
                    os(path.as_os_str())
                ),
            );
        }
        return Ok(0);
    }
    let identity = ::age::x25519::Identity::generate();
    let recipient = identity.to_public();
    let mut text = Zeroizing::new(format!(
        "# created by secretrun keygen: {}\n# public key: {recipient}\n",
        crate::timestamp::show(crate::timestamp::now())
    ));
    {
        use ::age::secrecy::ExposeSecret;
        text.push_str(identity.to_string().expose_secret());
    }
    text.push('\n');
    let path = match output {
        Some(p) if p == Path::new("-") => {
            std::io::stdout().write_all(text.as_bytes())?;
            messages::note(&format!("public key: {recipient}"));
            return Ok(0);
        }
        Some(p) => p.to_path_buf(),
        None => age::default_identity_file(&|n| cx.env(n)).ok_or_else(|| {
            Failure::new(Kind::Config, "no HOME to put the identity in: give -o FILE")
        })?,
    };
    write::create_private(&path, text.as_bytes())?;
    messages::note(&format!(
        "wrote the identity to `{}` (mode 0600)",
        os(path.as_os_str())
    ));
    messages::answer(&recipient.to_string());
    Ok(0)
}

fn encrypt(
    file: &Path,
    to: &Recipients,
    output: Option<&Path>,
    armor: bool,
    cx: &Context,
) -> Result<u8> {
    let shown = os(file.as_os_str());
    let recipients = cx.recipients(to)?;
    let plain = read(file)?;
    if age::is_age(&plain) {
        return fail(Kind::Config, format!("`{shown}` is already age-encrypted"));
    }
    check_dotenv(&plain, &shown)?;
    let sealed = age::encrypt(&plain, &recipients.keys, armor)?;
    let out = output.map(Path::to_path_buf).unwrap_or_else(|| {
        let mut name = file.as_os_str().to_owned();
        name.push(".age");
        PathBuf::from(name)
    });
    // The file `out` names itself (not a link's target), when there is one: its mode
    // is kept, and when it is the file just read, the plain text is replaced.
    let existing = std::fs::symlink_metadata(&out)
        .ok()
        .filter(|m| m.file_type().is_file());
    let in_place = existing.as_ref().is_some_and(|o| {
        std::fs::metadata(file).is_ok_and(|i| (i.dev(), i.ino()) == (o.dev(), o.ino()))
    });
    write::replace(&out, &sealed, existing.map(|m| m.mode()))?;
    let shown_out = os(out.as_os_str());
    if in_place {
        messages::note(&format!(
            "encrypted `{shown}` in place to {}, its mode kept; the plain text may still be \
             in backups or git's history",
            recipients.said,
        ));
    } else {
        messages::note(&format!(
            "encrypted `{shown}` to {} in `{shown_out}`; the plain file is still there: \
             delete it once `secretrun list --from {shown_out}` shows what you expect",
            recipients.said,
        ));
    }
    Ok(0)
}

fn decrypt(file: &Path, cx: &Context) -> Result<u8> {
    let shown = os(file.as_os_str());
    let bytes = read(file)?;
    if !age::is_age(&bytes) {
        return fail(Kind::Config, format!("`{shown}` is not an age file"));
    }
    let plain = cx.decrypt(&bytes, &shown)?;
    let mut out = std::io::stdout().lock();
    if out.is_terminal() {
        messages::warning(&format!(
            "printing the secrets of `{shown}` on a terminal: they stay in its scrollback"
        ));
    }
    out.write_all(&plain)?;
    out.flush()?;
    Ok(0)
}
