//! dotenvx's encrypted values: `encrypted:` and the base64 of eciesjs's payload on
//! secp256k1 (an uncompressed ephemeral public key, a 16-byte nonce, the AES-256-GCM
//! tag, the cipher text), its key HKDF-SHA256 of the ephemeral key and the shared
//! point, both uncompressed.
//!
//! The private keys are found as dotenvx 2 finds them: every `DOTENV_PRIVATE_KEY*`
//! variable of secretrun's environment and every `DOTENV_PRIVATE_KEY*` line of the
//! `.env.keys` file beside the dotenv file (a value may list several keys, comma
//! separated). A file that declares its `DOTENV_PUBLIC_KEY*` is opened with the key
//! whose public key that is; a file that declares none, with whichever key opens it.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::ffi::OsString;
use std::path::Path;

use aes_gcm::aead::consts::U16;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::{PublicKey, SecretKey};
use zeroize::Zeroizing;

use crate::secret::SecretValue;

/// What marks a dotenvx encrypted value.
pub const PREFIX: &str = "encrypted:";
/// The prefix of the variables and `.env.keys` lines that hold private keys.
pub const PRIVATE_KEY_PREFIX: &str = "DOTENV_PRIVATE_KEY";
/// The prefix of the lines that declare a file's public key.
pub const PUBLIC_KEY_PREFIX: &str = "DOTENV_PUBLIC_KEY";
/// The file of private keys dotenvx keeps beside a dotenv file.
pub const KEYS_FILE: &str = ".env.keys";

const EPHEMERAL_LEN: usize = 65;
const NONCE_LEN: usize = 16;
const TAG_LEN: usize = 16;

type Cipher = AesGcm<Aes256, U16>;

/// Why a value did not open. Messages name no key and no byte of the value.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// No private key at all, or none for the file's public key.
    NoKey,
    /// Not dotenvx's payload: bad base64, too short, not a point on the curve.
    Malformed,
    /// No key authenticates it: the wrong key, or the value was altered.
    WrongKeyOrTampered,
    /// The launch's key trials ran out before a key opened it.
    TooManyTrials,
    /// It opened, but is not UTF-8 text or holds a NUL byte.
    NotText,
}

/// What dotenvx's keys may cost one launch in elliptic-curve multiplications:
/// deriving a private key's public key, and trying a key on a value it
/// does not open. A repository's `.env` and `.env.keys` hold as many values and keys
/// as they like; without this bound every key was tried on every value (keys ×
/// values). A value that opens costs one more, so the whole launch costs at most
/// this plus one per value.
const MAX_TRIALS: usize = 4096;

/// The launch's budget of [`MAX_TRIALS`], shared by every file it reads.
pub struct Trials(Cell<usize>);

impl Default for Trials {
    fn default() -> Self {
        Trials(Cell::new(MAX_TRIALS))
    }
}

impl Trials {
    /// Spends one trial; `false` when none is left.
    fn spend(&self) -> bool {
        let left = self.0.get();
        self.0.set(left.saturating_sub(1));
        left > 0
    }
}

/// The private keys that may open a dotenv file's values.
pub struct Keyring {
    /// The keys to try: those of the declared public keys, or every key when the file
    /// declares none. The key that opened the last value is tried first: a file's
    /// values are all sealed to one key.
    keys: RefCell<Vec<SecretKey>>,
    /// Whether keys were left out because the launch's trials ran out.
    over_budget: bool,
    /// Where keys were looked for, for a message: names and paths, never values.
    pub looked: Vec<String>,
    /// The public keys the file declares, lower-case hex.
    declared: Vec<String>,
}

impl Keyring {
    /// The keys from `parent` (secretrun's environment) and from the keys file at
    /// `keys_path` (its text, when it could be read), kept to those of the file's
    /// declared public keys.
    pub fn new(
        parent: &[(OsString, OsString)],
        keys_path: &Path,
        keys_text: Option<&str>,
        declared: Vec<String>,
        trials: &Trials,
    ) -> Keyring {
        let mut texts: Vec<Zeroizing<String>> = Vec::new();
        let mut looked = Vec::new();
        for (name, value) in parent {
            let Some(name) = name.to_str() else { continue };
            if name.starts_with(PRIVATE_KEY_PREFIX)
                && let Some(value) = value.to_str()
            {
                looked.push(format!("${name}"));
                texts.push(Zeroizing::new(value.to_owned()));
            }
        }
        looked.push(crate::escape::os(keys_path.as_os_str()));
        if let Some(text) = keys_text {
            texts.extend(private_key_lines(text));
        }
        let declared: Vec<String> = declared
            .into_iter()
            .map(|p| p.to_ascii_lowercase())
            .collect();
        let wanted: HashSet<&str> = declared.iter().map(String::as_str).collect();
        // Public keys: a key listed twice is tried once.
        let mut publics: HashSet<String> = HashSet::new();
        let mut keys = Vec::new();
        let mut over_budget = false;
        for hex_text in texts.iter().flat_map(|text| text.split(',')) {
            let Some(key) = parse_private_key(hex_text.trim()) else {
                continue;
            };
            if !trials.spend() {
                over_budget = true;
                break;
            }
            let public = hex(&compressed(&key.public_key()));
            let is_wanted = wanted.is_empty() || wanted.contains(public.as_str());
            if is_wanted && publics.insert(public) {
                keys.push(key);
            }
        }
        Keyring {
            keys: RefCell::new(keys),
            over_budget,
            looked,
            declared,
        }
    }

    /// Opens one `encrypted:` value, each key that does not open it spending one of
    /// the launch's `trials`.
    pub fn open(&self, value: &str, trials: &Trials) -> Result<SecretValue, Failure> {
        let mut keys = self.keys.borrow_mut();
        if keys.is_empty() {
            return Err(if self.over_budget {
                Failure::TooManyTrials
            } else {
                Failure::NoKey
            });
        }
        let payload = value.strip_prefix(PREFIX).unwrap_or(value);
        let payload = Zeroizing::new(
            STANDARD
                .decode(payload.trim())
                .map_err(|_| Failure::Malformed)?,
        );
        if payload.len() < EPHEMERAL_LEN + NONCE_LEN + TAG_LEN {
            return Err(Failure::Malformed);
        }
        let ephemeral = PublicKey::from_sec1_bytes(&payload[..EPHEMERAL_LEN])
            .map_err(|_| Failure::Malformed)?;
        for at in 0..keys.len() {
            if let Some(plain) = open_with(&keys[at], &ephemeral, &payload) {
                keys[..=at].rotate_right(1);
                let text = std::str::from_utf8(&plain).map_err(|_| Failure::NotText)?;
                if text.contains('\0') {
                    return Err(Failure::NotText);
                }
                return Ok(SecretValue::new(text.to_owned()));
            }
            if !trials.spend() {
                return Err(Failure::TooManyTrials);
            }
        }
        Err(if self.over_budget {
            Failure::TooManyTrials
        } else {
            Failure::WrongKeyOrTampered
        })
    }

    /// The file's declared public keys, shortened for a message (public, not secret).
    pub fn declared_short(&self) -> Option<String> {
        self.declared
            .first()
            .map(|p| format!("{}…", &p[..p.len().min(12)]))
    }
}

/// The `DOTENV_PRIVATE_KEY*` values of a `.env.keys` text. Read line by line, as
/// `NAME=value` with optional quotes: the file is dotenvx's, written by its tools.
fn private_key_lines(text: &str) -> Vec<Zeroizing<String>> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        if !name.trim().starts_with(PRIVATE_KEY_PREFIX) {
            continue;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        out.push(Zeroizing::new(value.to_owned()));
    }
    out
}

fn parse_private_key(hex_text: &str) -> Option<SecretKey> {
    if hex_text.len() != 64 {
        return None;
    }
    let mut bytes = Zeroizing::new([0u8; 32]);
    for (i, pair) in hex_text.as_bytes().chunks(2).enumerate() {
        let digit = |b: u8| (b as char).to_digit(16);
        bytes[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    SecretKey::from_slice(&bytes[..]).ok()
}

fn compressed(public: &PublicKey) -> [u8; 33] {
    let point = public.to_encoded_point(true);
    let mut out = [0u8; 33];
    out.copy_from_slice(point.as_bytes());
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The plain text, when `key` authenticates the payload.
fn open_with(key: &SecretKey, ephemeral: &PublicKey, payload: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    // eciesjs hashes the whole shared point, uncompressed, not only its x coordinate.
    let shared_point = (ephemeral.to_projective() * *key.to_nonzero_scalar())
        .to_affine()
        .to_encoded_point(false);
    let mut ikm = Zeroizing::new(Vec::with_capacity(2 * EPHEMERAL_LEN));
    ikm.extend_from_slice(&payload[..EPHEMERAL_LEN]);
    ikm.extend_from_slice(shared_point.as_bytes());
    let mut okm = Zeroizing::new([0u8; 32]);
    hkdf::Hkdf::<sha2::Sha256>::new(None, &ikm)
        .expand(&[], &mut okm[..])
        .ok()?;
    let cipher = Cipher::new_from_slice(&okm[..]).ok()?;
    let nonce = &payload[EPHEMERAL_LEN..EPHEMERAL_LEN + NONCE_LEN];
    let tag = &payload[EPHEMERAL_LEN + NONCE_LEN..EPHEMERAL_LEN + NONCE_LEN + TAG_LEN];
    let body = &payload[EPHEMERAL_LEN + NONCE_LEN + TAG_LEN..];
    // aes-gcm wants the tag after the cipher text.
    let mut sealed = Zeroizing::new(Vec::with_capacity(body.len() + TAG_LEN));
    sealed.extend_from_slice(body);
    sealed.extend_from_slice(tag);
    cipher
        .decrypt(Nonce::<U16>::from_slice(nonce), &sealed[..])
        .ok()
        .map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made by `dotenvx encrypt` 2.38.2 from `HELLO="world canary-dx-1"`: a test key.
    const PRIVATE: &str = "3788f682aea62cd8bc76af16bf266e2f1c943f584cced915dfdc4b8645becb58";
    const PUBLIC: &str = "026cc323be501d3ca4a761c3809f4dd70bd6ca64eab7106ded545d2538dfa0e622";
    const OTHER: &str = "cacb2a349fcacb7a9c277b25b485141216867f1c23b02f5d8ad7f313168c83ec";
    const HELLO: &str = "encrypted:BBA0g6Msb2yPRNT7n9vYt7niWeWs1yV4Kr3VdClwbzIww2RmoYN1+aJm9TdId6R7oDS8Bx/eY6kkF+5iXXA7PWHlQGYUasnDqi5Y/KafqLblegjbcanpIrmExL5WKT1ajvHlRE/pjYADW5gzlmF7is19";

    fn ring(keys: &[(&str, &str)], declared: &[&str], keys_file: Option<&str>) -> Keyring {
        let parent: Vec<(OsString, OsString)> =
            keys.iter().map(|(n, v)| (n.into(), v.into())).collect();
        let declared = declared.iter().map(|d| d.to_string()).collect();
        Keyring::new(
            &parent,
            Path::new("/app/.env.keys"),
            keys_file,
            declared,
            &Trials::default(),
        )
    }

    #[test]
    fn opens_what_dotenvx_wrote() {
        for keyring in [
            ring(&[("DOTENV_PRIVATE_KEY", PRIVATE)], &[PUBLIC], None),
            ring(
                &[],
                &[PUBLIC],
                Some(&format!("# keys\nDOTENV_PRIVATE_KEY=\"{PRIVATE}\"\n")),
            ),
            // Several keys in one variable; none declared: whichever opens it.
            ring(
                &[("DOTENV_PRIVATE_KEY_CI", &format!("{OTHER},{PRIVATE}"))],
                &[],
                None,
            ),
        ] {
            assert_eq!(
                keyring.open(HELLO, &Trials::default()).unwrap().expose(),
                "world canary-dx-1"
            );
        }
    }

    #[test]
    fn wrong_missing_and_altered_fail_closed() {
        let none = ring(&[], &[PUBLIC], None);
        assert_eq!(
            none.open(HELLO, &Trials::default()).unwrap_err(),
            Failure::NoKey
        );
        // A key that is not the declared one is not even tried.
        let other = ring(&[("DOTENV_PRIVATE_KEY", OTHER)], &[PUBLIC], None);
        assert_eq!(
            other.open(HELLO, &Trials::default()).unwrap_err(),
            Failure::NoKey
        );
        let undeclared = ring(&[("DOTENV_PRIVATE_KEY", OTHER)], &[], None);
        assert_eq!(
            undeclared.open(HELLO, &Trials::default()).unwrap_err(),
            Failure::WrongKeyOrTampered
        );
        let right = ring(&[("DOTENV_PRIVATE_KEY", PRIVATE)], &[PUBLIC], None);
        // One byte of the cipher text changed: authentication fails.
        let mut altered = HELLO.to_owned();
        let at = altered.len() - 6;
        let flipped = if &altered[at..=at] == "A" { "B" } else { "A" };
        altered.replace_range(at..=at, flipped);
        assert_eq!(
            right.open(&altered, &Trials::default()).unwrap_err(),
            Failure::WrongKeyOrTampered
        );
        assert_eq!(
            right
                .open("encrypted:not base64!", &Trials::default())
                .unwrap_err(),
            Failure::Malformed
        );
        assert_eq!(
            right
                .open("encrypted:AAAA", &Trials::default())
                .unwrap_err(),
            Failure::Malformed
        );
    }
}
