//! age files: recognised by their header whatever their name, opened in memory with
//! the identities found in the documented order, and written for `encrypt`/`edit`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use age::armor::ArmoredReader;
use age::{DecryptError, Decryptor};
use anyhow::Result;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::passphrase::{self, Terminal};
pub use super::seal::{encrypt, parse_recipient, parse_recipients_file, short_recipient};
use crate::error::{Failure, Kind};
use crate::escape::os;
use crate::parent::ParentEnv;

/// The variable that may hold an identity itself, for platforms where a file is
/// awkward (CI, Railway). Under `SECRETRUN_`, it never reaches the command.
pub const IDENTITY_VAR: &str = "SECRETRUN_AGE_IDENTITY";

/// The most scrypt work a passphrase file may ask for (log2 of N).
const MAX_SCRYPT_WORK: u8 = 22;

const BINARY_START: &[u8] = b"age-encryption.org/";
const ARMOR_START: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";

/// Whether these bytes are an age file, binary or armored.
pub fn is_age(bytes: &[u8]) -> bool {
    bytes.starts_with(BINARY_START) || is_armored(bytes)
}

/// Whether these bytes are an ASCII-armored age file.
pub fn is_armored(bytes: &[u8]) -> bool {
    bytes.trim_ascii_start().starts_with(ARMOR_START)
}

/// Where identities are named, before the environment and the default files.
#[derive(Clone, Debug, Default)]
pub struct IdentitySettings {
    /// `--identity`: each must exist.
    pub flags: Vec<PathBuf>,
    /// `identity = [...]` in secretrun.toml: one that does not exist here is skipped
    /// (the same config serves a laptop and CI).
    pub config: Vec<PathBuf>,
}

/// The identities found, and where they were looked for (for a message).
pub struct Identities {
    list: Vec<Box<dyn age::Identity>>,
    tried: Vec<String>,
}

impl Identities {
    /// Every identity, in order: `--identity`, the config's, `$SECRETRUN_AGE_IDENTITY`,
    /// then the default files that exist (`$XDG_CONFIG_HOME/secretrun/identity.txt`,
    /// `~/.ssh/id_ed25519`, `~/.ssh/id_rsa`).
    pub fn load(settings: &IdentitySettings, env: ParentEnv<'_>) -> Result<Self> {
        let mut found = Identities {
            list: Vec::new(),
            tried: Vec::new(),
        };
        for path in &settings.flags {
            found.add_file(path, Named::Flag)?;
        }
        for path in &settings.config {
            found.add_file(path, Named::Config)?;
        }
        if let Some(text) = env(IDENTITY_VAR) {
            let text = Zeroizing::new(text);
            let label = format!("${IDENTITY_VAR}");
            found.list.extend(parse_identities(&text, &label)?);
            found.tried.push(label);
        }
        for path in default_files(env) {
            found.add_file(&path, Named::Default)?;
        }
        Ok(found)
    }

    fn add_file(&mut self, path: &Path, named: Named) -> Result<()> {
        let shown = os(path.as_os_str());
        let from = named.as_str();
        // Only the user's own flag may name a pipe (`-i <(pass show key)`), and only its
        // file must exist.
        let read = match named {
            Named::Flag => super::read_file(path),
            Named::Config | Named::Default => super::read_regular_file(path),
        };
        let text = match read {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && named != Named::Flag => {
                if named == Named::Config {
                    self.tried.push(format!("`{shown}` ({from}: not found)"));
                }
                return Ok(());
            }
            Err(e) => {
                let what = super::read_failure(&e);
                return Err(
                    Failure::new(Kind::Config, format!("identity file `{shown}`: {what}")).into(),
                );
            }
        };
        let text = std::str::from_utf8(&text).map_err(|_| {
            Failure::new(
                Kind::Config,
                format!("identity file `{shown}` is not an age identity or SSH key"),
            )
        })?;
        self.list
            .extend(parse_identities(text, &format!("`{shown}`"))?);
        self.tried.push(format!("`{shown}` ({from})"));
        Ok(())
    }

    /// Where identities were looked for, for a message.
    pub fn tried(&self) -> String {
        if self.tried.is_empty() {
            "none was found (give --identity FILE, `identity` in secretrun.toml, or \
             $SECRETRUN_AGE_IDENTITY; or create ~/.config/secretrun/identity.txt with \
             `secretrun keygen`)"
                .to_owned()
        } else {
            format!("tried {}", self.tried.join(", "))
        }
    }
}

/// Where an identity file was named.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Named {
    /// `--identity`.
    Flag,
    /// `identity = [...]` in secretrun.toml.
    Config,
    /// A default file.
    Default,
}

impl Named {
    fn as_str(self) -> &'static str {
        match self {
            Named::Flag => "--identity",
            Named::Config => "secretrun.toml",
            Named::Default => "default",
        }
    }
}

fn default_files(env: ParentEnv<'_>) -> Vec<PathBuf> {
    let home = env("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    let config = env("XDG_CONFIG_HOME")
        .filter(|d| d.starts_with('/'))
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    let mut files = Vec::new();
    if let Some(config) = config {
        files.push(config.join("secretrun").join("identity.txt"));
    }
    if let Some(home) = home {
        files.push(home.join(".ssh").join("id_ed25519"));
        files.push(home.join(".ssh").join("id_rsa"));
    }
    files
}

/// The default file `secretrun keygen` writes.
pub fn default_identity_file(env: ParentEnv<'_>) -> Option<PathBuf> {
    default_files(env).into_iter().next()
}

/// The identities of an identity file's text, or of an SSH private key.
fn parse_identities(text: &str, label: &str) -> Result<Vec<Box<dyn age::Identity>>> {
    let start = text.trim_start();
    if start.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----")
        || start.starts_with("-----BEGIN RSA PRIVATE KEY-----")
    {
        return parse_ssh(start, label).map(|i| vec![i]);
    }
    let file = age::IdentityFile::from_buffer(text.as_bytes()).map_err(|e| {
        // age's message gives a line number, never the line.
        let line = e.to_string();
        let at = line.rfind("line ").map(|i| &line[i..]).unwrap_or("a line");
        Failure::new(
            Kind::Config,
            format!("{label} is not an age identity file: {at} is not an identity"),
        )
    })?;
    let list = file.into_identities().map_err(|_| {
        Failure::new(
            Kind::Config,
            format!("{label} holds an identity secretrun cannot use"),
        )
    })?;
    Ok(list
        .into_iter()
        .map(|i| i as Box<dyn age::Identity>)
        .collect())
}

fn parse_ssh(text: &str, label: &str) -> Result<Box<dyn age::Identity>> {
    let bad = || {
        Failure::new(
            Kind::Config,
            format!("{label} is not an SSH private key age can use"),
        )
    };
    let identity = age::ssh::Identity::from_buffer(text.as_bytes(), Some(label.to_owned()))
        .map_err(|_| bad())?;
    match identity {
        age::ssh::Identity::Unencrypted(_) => Ok(Box::new(identity)),
        age::ssh::Identity::Encrypted(_) => {
            // age would ask for the passphrase before looking at the file: ask only for
            // a file encrypted to this key.
            let tag = openssh_public_blob(text)
                .map(|blob| STANDARD_NO_PAD.encode(&Sha256::digest(&blob)[..4]))
                .ok_or_else(bad)?;
            Ok(Box::new(Addressed {
                tag,
                inner: Box::new(identity.with_callbacks(Terminal)),
            }))
        }
        age::ssh::Identity::Unsupported(_) => Err(Failure::new(
            Kind::Config,
            format!("{label} is an SSH key of a kind age cannot use (ssh-ed25519 and ssh-rsa can)"),
        )
        .into()),
    }
}

/// The public key blob of an `openssh-key-v1` private key, which is kept in clear.
fn openssh_public_blob(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .map(str::trim)
        .collect();
    let bytes = STANDARD.decode(body).ok()?;
    let mut rest = bytes.strip_prefix(b"openssh-key-v1\0")?;
    // The cipher, the KDF and its options, then the number of keys.
    for _ in 0..3 {
        take_string(&mut rest)?;
    }
    let keys = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
    rest = &rest[4..];
    (keys == 1).then_some(())?;
    take_string(&mut rest).map(<[u8]>::to_vec)
}

/// One SSH wire-format string: a big-endian length, then the bytes.
fn take_string<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let value = rest.get(4..4usize.checked_add(len)?)?;
    *rest = &rest[4 + len..];
    Some(value)
}

/// An encrypted SSH key that is asked for its passphrase only for a stanza that
/// names it.
struct Addressed {
    tag: String,
    inner: Box<dyn age::Identity>,
}

impl age::Identity for Addressed {
    fn unwrap_stanza(
        &self,
        stanza: &age_core::format::Stanza,
    ) -> Option<Result<age_core::format::FileKey, DecryptError>> {
        let ssh = stanza.tag == "ssh-ed25519" || stanza.tag == "ssh-rsa";
        if ssh && stanza.args.first() == Some(&self.tag) {
            self.inner.unwrap_stanza(stanza)
        } else {
            None
        }
    }
}

/// The passphrases given during this process, by file, so that a `--watch` refetch
/// opens a passphrase file again without asking (the terminal is the command's by
/// then). Zeroed when dropped.
#[derive(Default)]
pub struct Passphrases(Mutex<Vec<(String, Zeroizing<String>)>>);

impl std::fmt::Debug for Passphrases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrases(…)")
    }
}

impl Passphrases {
    fn get(&self, file: &str) -> Option<Zeroizing<String>> {
        let list = self.0.lock().ok()?;
        list.iter().find(|(f, _)| f == file).map(|(_, p)| p.clone())
    }

    fn set(&self, file: &str, passphrase: Option<&Zeroizing<String>>) {
        if let Ok(mut list) = self.0.lock() {
            list.retain(|(f, _)| f != file);
            if let Some(p) = passphrase {
                list.push((file.to_owned(), p.clone()));
            }
        }
    }
}

type Plain<'b> = age::stream::StreamReader<&'b [u8]>;

/// The most lines an age header may have: far more than a file to a hundred
/// recipients (two lines each for X25519 and Ed25519 keys, seven for RSA), and what
/// keeps its parse cheap. The age crate parses a header again from its start for
/// each line it reads, so a header's cost is the square of its length: a 1.3 MB
/// stanza took 25 s to refuse. Counted here first, in one pass.
const MAX_HEADER_LINES: usize = 1024;

/// The binary form of an age file: itself, or its ASCII armor decoded in one pass
/// (cipher text: nothing in it needs zeroing).
fn binary(bytes: &[u8]) -> std::io::Result<std::borrow::Cow<'_, [u8]>> {
    if !is_armored(bytes) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut out = Vec::with_capacity(bytes.len());
    std::io::Read::read_to_end(&mut ArmoredReader::new(bytes), &mut out)?;
    Ok(std::borrow::Cow::Owned(out))
}

/// Whether the header (the lines up to the one that starts with `---`) has at most
/// [`MAX_HEADER_LINES`] lines. A file with no such line is left for the parser to
/// call damaged.
fn header_is_short(binary: &[u8]) -> bool {
    for (i, line) in binary.split(|&b| b == b'\n').enumerate() {
        if i >= MAX_HEADER_LINES {
            return false;
        }
        if line.starts_with(b"---") {
            return true;
        }
    }
    true
}

fn damaged(shown: &str) -> Failure {
    Failure::new(
        Kind::Invalid,
        format!("`{shown}` does not decrypt: it is damaged, cut short or was altered"),
    )
    .with_hint("restore it from version control (`git checkout -- FILE`), or encrypt the plain file again with `secretrun encrypt`")
}

/// Decrypts an age file in memory. `shown` names it in messages; `identities` are
/// loaded only when the file is not passphrase-encrypted; a passphrase is asked for
/// once and kept in `passphrases`.
pub fn decrypt(
    bytes: &[u8],
    shown: &str,
    identities: &mut dyn FnMut() -> Result<std::rc::Rc<Identities>>,
    passphrases: &Passphrases,
) -> Result<Zeroizing<Vec<u8>>> {
    let binary = binary(bytes).map_err(|_| damaged(shown))?;
    if !header_is_short(&binary) {
        return Err(Failure::new(
            Kind::Invalid,
            format!(
                "`{shown}` is not an age file secretrun opens: its header has more than \
                 {MAX_HEADER_LINES} lines"
            ),
        )
        .into());
    }
    let decryptor = Decryptor::new_buffered(&binary[..]).map_err(|e| match e {
        DecryptError::UnknownFormat => Failure::new(
            Kind::Invalid,
            format!("`{shown}` is an age file of a version secretrun does not know"),
        ),
        _ => damaged(shown),
    })?;
    let mut reader = if decryptor.is_scrypt() {
        open_with_passphrase(decryptor, shown, passphrases)?
    } else {
        let found = identities()?;
        decryptor
            .decrypt(found.list.iter().map(|i| i.as_ref()))
            .map_err(|e| match e {
                DecryptError::NoMatchingKeys => Failure::new(
                    Kind::Config,
                    format!("no identity opens `{shown}`: {}", found.tried()),
                )
                .with_hint(
                    "the file was encrypted to other recipients: ask whoever can open it \
                     to add your public key (`secretrun keygen` prints it) and run \
                     `secretrun encrypt` again",
                ),
                DecryptError::KeyDecryptionFailed => Failure::new(
                    Kind::Denied,
                    format!("`{shown}`: the SSH key's passphrase is wrong"),
                ),
                _ => damaged(shown),
            })?
    };
    let mut plain = Zeroizing::new(Vec::with_capacity(bytes.len()));
    crate::secret::read_to_end_zeroizing(&mut reader, &mut plain).map_err(|_| damaged(shown))?;
    Ok(plain)
}

/// A passphrase file: the passphrase given before in this process, else asked for on
/// the terminal; refused without one.
fn open_with_passphrase<'b>(
    decryptor: Decryptor<&'b [u8]>,
    shown: &str,
    passphrases: &Passphrases,
) -> Result<Plain<'b>> {
    let known = passphrases.get(shown);
    let asked = match known {
        Some(_) => None,
        None => passphrase::ask(&format!("Passphrase for {shown}: "))?,
    };
    let Some(passphrase) = known.or(asked) else {
        return Err(Failure::new(
            Kind::Config,
            format!(
                "`{shown}` is encrypted with a passphrase and there is no terminal to ask \
                 for it on (encrypt it to a key instead: `secretrun encrypt -r …`)"
            ),
        )
        .into());
    };
    let mut identity = age::scrypt::Identity::new(age::secrecy::SecretString::from(
        passphrase.as_str().to_owned(),
    ));
    // age writes work factor 18 (about a second); allow up to 16 times that, not what
    // this machine's speed would guess.
    identity.set_max_work_factor(MAX_SCRYPT_WORK);
    let reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            DecryptError::DecryptionFailed | DecryptError::NoMatchingKeys => {
                passphrases.set(shown, None);
                Failure::new(Kind::Denied, format!("`{shown}`: wrong passphrase"))
                    .with_hint("it is the passphrase the file was encrypted with (`age -p`); run again to be asked once more")
            }
            DecryptError::ExcessiveWork { .. } => Failure::new(
                Kind::Invalid,
                format!("`{shown}` asks for more scrypt work than secretrun allows"),
            ),
            _ => damaged(shown),
        })?;
    passphrases.set(shown, Some(&passphrase));
    Ok(reader)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::exit_code;
    use age::secrecy::ExposeSecret;

    const CANARY: &str = "A=canary-age-unit\n";

    fn key() -> (String, String) {
        let identity = age::x25519::Identity::generate();
        let public = identity.to_public().to_string();
        (identity.to_string().expose_secret().to_owned(), public)
    }

    fn to(public: &str) -> Vec<Box<dyn age::Recipient + Send>> {
        vec![parse_recipient(public, "test").unwrap()]
    }

    fn open(bytes: &[u8], identity: &str) -> Result<Zeroizing<Vec<u8>>> {
        let settings = IdentitySettings::default();
        let env = |name: &str| (name == IDENTITY_VAR).then(|| identity.to_owned());
        let identities = &mut || Ok(std::rc::Rc::new(Identities::load(&settings, &env)?));
        decrypt(bytes, "t.env.age", identities, &Passphrases::default())
    }

    #[test]
    fn round_trip_binary_and_armored() {
        let (identity, recipient) = key();
        for armor in [false, true] {
            let sealed = encrypt(CANARY.as_bytes(), &to(&recipient), armor).unwrap();
            assert!(is_age(&sealed));
            assert_eq!(&open(&sealed, &identity).unwrap()[..], CANARY.as_bytes());
        }
        assert!(!is_age(CANARY.as_bytes()));
    }

    #[test]
    fn wrong_key_and_damage_fail_closed_without_plain_text() {
        let (_, recipient) = key();
        let (other, _) = key();
        let sealed = encrypt(CANARY.as_bytes(), &to(&recipient), false).unwrap();
        let err = open(&sealed, &other).unwrap_err();
        assert_eq!(exit_code(&err), 78);
        assert!(format!("{err:#}").contains("no identity opens"));
        let (identity, recipient) = key();
        let sealed = encrypt(CANARY.as_bytes(), &to(&recipient), false).unwrap();
        let mut altered = sealed.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        let cut = &sealed[..sealed.len() - 5];
        for bad in [&altered[..], cut] {
            let err = open(bad, &identity).unwrap_err();
            assert_eq!(exit_code(&err), 65);
            assert!(!format!("{err:#}").contains("canary"));
        }
    }

    #[test]
    fn a_passphrase_given_once_opens_the_file_again_without_asking() {
        let pass = || age::secrecy::SecretString::from("pw-canary".to_owned());
        let mut recipient = age::scrypt::Recipient::new(pass());
        recipient.set_work_factor(10);
        let encryptor = age::Encryptor::with_recipients(std::iter::once(&recipient as _)).unwrap();
        let mut writer = encryptor.wrap_output(Vec::new()).unwrap();
        std::io::Write::write_all(&mut writer, CANARY.as_bytes()).unwrap();
        let sealed = writer.finish().unwrap();
        let remembered = Passphrases::default();
        let known = Zeroizing::new("pw-canary".to_owned());
        remembered.set("t.env.age", Some(&known));
        let no_identities = &mut || -> Result<std::rc::Rc<Identities>> {
            panic!("a passphrase file needs no identity")
        };
        let plain = decrypt(&sealed, "t.env.age", no_identities, &remembered).unwrap();
        assert_eq!(&plain[..], CANARY.as_bytes());
        // A wrong one is refused and forgotten.
        remembered.set("t.env.age", Some(&Zeroizing::new("wrong".to_owned())));
        let err = decrypt(&sealed, "t.env.age", no_identities, &remembered).unwrap_err();
        assert_eq!(exit_code(&err), 77);
        assert!(remembered.get("t.env.age").is_none());
    }

    #[test]
    fn the_public_blob_of_an_openssh_key() {
        fn string(out: &mut Vec<u8>, bytes: &[u8]) {
            out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            out.extend_from_slice(bytes);
        }
        let mut public = Vec::new();
        string(&mut public, b"ssh-ed25519");
        string(&mut public, &[7u8; 32]);
        let mut body = b"openssh-key-v1\0".to_vec();
        string(&mut body, b"aes256-ctr");
        string(&mut body, b"bcrypt");
        string(&mut body, &[1, 2, 3]);
        body.extend_from_slice(&1u32.to_be_bytes());
        string(&mut body, &public);
        string(&mut body, &[9u8; 64]);
        let encoded = STANDARD.encode(&body);
        let lines: Vec<&str> = encoded
            .as_bytes()
            .chunks(70)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let pem = format!(
            "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
            lines.join("\n")
        );
        assert_eq!(openssh_public_blob(&pem).unwrap(), public);
        let truncated = format!(
            "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
            &encoded[..40]
        );
        assert!(openssh_public_blob(&truncated).is_none());
    }
}
