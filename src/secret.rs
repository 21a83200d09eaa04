//! Secret values and the set of them a launch collects. A [`SecretValue`] cannot leak
//! by accident: it has no `Serialize`, its `Debug` and `Display` print the masked form,
//! the plain text takes an explicit [`SecretValue::expose`], and its memory is zeroed
//! when it is dropped.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use zeroize::Zeroize;

use crate::detectors::detect;
use crate::escape::Escaped;
use crate::lease::{Lease, Leased};
use crate::timestamp::Seconds;

/// A secret's plain text, zeroed on drop.
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(value: String) -> Self {
        SecretValue(value)
    }

    /// The plain value. Every caller is a place the secret leaves this type: keep them
    /// few (building the child environment, validation, redaction).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The masked form shown to people: `sk_live_…4f2a`.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

impl Drop for SecretValue {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretValue({})", self.masked())
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// URL schemes and other public starts of a value that the masked form keeps. Key
/// prefixes come from the detectors' table. Only exact, public prefixes: a heuristic
/// ("everything up to the last `_`") would print part of a random secret.
const PUBLIC_STARTS: &[&str] = &[
    "postgres://",
    "postgresql://",
    "redis://",
    "rediss://",
    "mysql://",
    "https://",
    "http://",
    "django-insecure-",
];

/// Values shorter than this show no tail at all: four characters of an eight-character
/// password are half of it.
const MIN_LEN_FOR_TAIL: usize = 12;

/// The masked form of a value: a public prefix when it has one, `…`, and the last four
/// characters when the value is long enough for them to give little away. Control
/// characters in the shown parts are escaped.
pub fn mask(value: &str) -> String {
    if value.is_empty() {
        return "(empty)".to_owned();
    }
    let chars = value.chars().count();
    if chars < MIN_LEN_FOR_TAIL {
        return "…".to_owned();
    }
    let prefix = detect(value)
        .map(|d| d.prefix)
        .or_else(|| PUBLIC_STARTS.iter().copied().find(|p| value.starts_with(p)))
        .filter(|p| chars - p.chars().count() >= MIN_LEN_FOR_TAIL)
        .unwrap_or("");
    let tail_start = value.char_indices().nth_back(3).map_or(0, |(i, _)| i);
    format!("{}…{}", Escaped(prefix), Escaped(&value[tail_start..]))
}

/// Appends to a buffer that holds secret text without leaving copies behind: where
/// `String` would reallocate and free the old block as it is, this zeroes it first.
pub fn push_zeroizing(buf: &mut String, s: &str) {
    if buf.capacity() - buf.len() < s.len() {
        let mut grown = String::with_capacity((buf.len() + s.len()).max(buf.capacity() * 2));
        grown.push_str(buf);
        std::mem::swap(buf, &mut grown);
        grown.zeroize();
    }
    buf.push_str(s);
}

/// Reads `reader` to its end into `out` without leaving copies behind: where the
/// buffer must grow, the old block is wiped first. Size `out` to the expected length
/// to read without growing.
pub fn read_to_end_zeroizing(
    reader: &mut impl std::io::Read,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    let mut chunk = Wiped(vec![0u8; 16 * 1024]);
    loop {
        let n = match reader.read(&mut chunk.0[..]) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if out.capacity() - out.len() < n {
            let wanted = (out.len() + n).max(out.capacity() * 2);
            let mut grown = Wiped(Vec::with_capacity(wanted));
            grown.0.extend_from_slice(out);
            std::mem::swap(out, &mut grown.0);
        }
        out.extend_from_slice(&chunk.0[..n]);
    }
}

/// Overwrites all of `buf`'s block, its spare capacity too, with zeros: one memset,
/// kept by the optimiser because the block is then handed to `black_box`, which it
/// must assume reads it. `Zeroizing` writes byte by byte through volatile stores
/// (about a cycle a byte): right for keys, too slow for bulk text such as the files
/// a scan reads, where it cost a third of the scan's CPU.
pub fn wipe(buf: &mut Vec<u8>) {
    buf.fill(0);
    buf.spare_capacity_mut().fill(std::mem::MaybeUninit::new(0));
    std::hint::black_box(buf.as_mut_ptr());
    std::hint::black_box(&mut *buf);
}

/// Bytes that may hold secrets, wiped with [`wipe`] when dropped.
#[derive(Default)]
pub struct Wiped(pub Vec<u8>);

impl Drop for Wiped {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

impl std::ops::Deref for Wiped {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// A JSON document that may hold secrets (a store's answer, a token endpoint's, a
/// credentials file): every string in it is zeroed when it is dropped.
pub struct SecretJson(pub serde_json::Value);

impl SecretJson {
    pub fn parse(bytes: &[u8]) -> serde_json::Result<SecretJson> {
        serde_json::from_slice(bytes).map(SecretJson)
    }
}

impl std::ops::Deref for SecretJson {
    type Target = serde_json::Value;
    fn deref(&self) -> &serde_json::Value {
        &self.0
    }
}

impl std::ops::DerefMut for SecretJson {
    fn deref_mut(&mut self) -> &mut serde_json::Value {
        &mut self.0
    }
}

impl Drop for SecretJson {
    fn drop(&mut self) {
        scrub_json(&mut self.0);
    }
}

/// Zeroes every string of a JSON value (its keys are names, not secrets).
pub fn scrub_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(scrub_json),
        Value::Object(map) => map.values_mut().for_each(scrub_json),
        _ => {}
    }
}

/// Where a variable came from, for `list`, `check` and messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A line of a dotenv file, and how it was kept on disk.
    Dotenv {
        path: PathBuf,
        line: usize,
        at_rest: AtRest,
    },
    /// Passed through from secretrun's own environment.
    Parent,
    /// A secret store, named by `--from`.
    Remote { source: String },
    /// A platform's secret file (`docker-secrets`, `systemd-creds`, `dir:`, a
    /// parent's `NAME_FILE`).
    File { path: PathBuf },
    /// A dotenv line whose value is a store reference.
    Reference {
        path: PathBuf,
        line: usize,
        source: String,
    },
}

impl Origin {
    /// How a dotenv line was kept on disk; `None` for a value from a store or the
    /// parent.
    pub fn at_rest(&self) -> Option<AtRest> {
        match self {
            Origin::Dotenv { at_rest, .. } => Some(*at_rest),
            _ => None,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Dotenv { path, line, .. } => {
                write!(f, "{}:{line}", Escaped(&path.to_string_lossy()))
            }
            Origin::Parent => f.write_str("kept from parent"),
            Origin::Remote { source } => f.write_str(source),
            Origin::File { path } => f.write_str(&crate::escape::os(path.as_os_str())),
            Origin::Reference { path, line, source } => {
                write!(f, "{}:{line} ({source})", Escaped(&path.to_string_lossy()))
            }
        }
    }
}

/// How a dotenv line was kept on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtRest {
    /// Plain text.
    Plain,
    /// The whole file is age-encrypted.
    Age,
    /// The value is a dotenvx `encrypted:` value.
    Dotenvx,
}

impl AtRest {
    pub fn as_str(self) -> &'static str {
        match self {
            AtRest::Plain => "plain",
            AtRest::Age => "age",
            AtRest::Dotenvx => "dotenvx",
        }
    }
}

/// What the store recorded of a secret's life, where it records it: when this
/// version was written, when it stops being valid, and its lease if it is leased. A
/// dotenv value has none of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dates {
    pub created: Option<Seconds>,
    pub expires: Option<Seconds>,
    /// The lease of a dynamic secret, or that it was not read.
    pub leased: Option<Leased>,
    /// Which version the store answered with (KV v2's number, an AWS or Key Vault
    /// version id, Secret Manager's number).
    pub version: Option<Version>,
}

/// A store's name for a version, as the store sent it: printable ASCII of at most
/// [`Version::MAX`] bytes (an AWS version id is 36, a Key Vault one 32), held
/// inline so that [`Dates`] stays `Copy`. Anything else the store sends is no
/// version at all.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Version {
    len: u8,
    bytes: [u8; Version::MAX],
}

impl Version {
    pub const MAX: usize = 64;

    /// The store's text, when it is a version's shape.
    pub fn new(text: &str) -> Option<Version> {
        let fits = !text.is_empty()
            && text.len() <= Version::MAX
            && text.bytes().all(|b| b.is_ascii_graphic());
        fits.then(|| {
            let mut bytes = [0; Version::MAX];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            Version {
                len: text.len() as u8,
                bytes,
            }
        })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "Version({})", self.as_str())
    }
}

impl Dates {
    /// A dynamic secret left unread (a read creates credentials): it has no value to
    /// check.
    pub fn not_read(&self) -> bool {
        self.leased == Some(Leased::NotRead)
    }
}

/// A secret with where it came from.
#[derive(Debug)]
pub struct Secret {
    pub value: SecretValue,
    pub origin: Origin,
    pub dates: Dates,
    /// Where earlier sources defined the same name, first first: the values this
    /// one won over (`explain` shows them).
    pub shadowed: Vec<Origin>,
}

/// Every secret of a launch, by name. Inserting a name again replaces it: later
/// sources win.
#[derive(Debug, Default)]
pub struct SecretSet {
    secrets: BTreeMap<String, Secret>,
    /// The leases the values were read under, each once.
    leases: Vec<Lease>,
}

impl SecretSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// A set of these (name, value) pairs, for tests.
    #[cfg(test)]
    pub fn of(pairs: &[(&str, &str)]) -> SecretSet {
        let mut set = SecretSet::new();
        for (name, value) in pairs {
            let value = SecretValue::new(value.to_string());
            set.insert(name.to_string(), value, Origin::Parent);
        }
        set
    }

    pub fn insert(&mut self, name: String, value: SecretValue, origin: Origin) {
        self.insert_dated(name, value, origin, Dates::default());
    }

    /// Inserts a value from a store that records when it was written.
    pub fn insert_dated(&mut self, name: String, value: SecretValue, origin: Origin, dates: Dates) {
        let shadowed = match self.secrets.remove(&name) {
            Some(earlier) => {
                let mut shadowed = earlier.shadowed.clone();
                shadowed.push(earlier.origin.clone());
                shadowed
            }
            None => Vec::new(),
        };
        let secret = Secret {
            value,
            origin,
            dates,
            shadowed,
        };
        self.secrets.insert(name, secret);
    }

    /// Holds a lease some of the values were read under.
    pub fn add_lease(&mut self, lease: Lease) {
        self.leases.push(lease);
    }

    pub fn leases(&self) -> &[Lease] {
        &self.leases
    }

    /// The leases, for whoever keeps them from now on.
    pub fn take_leases(&mut self) -> Vec<Lease> {
        std::mem::take(&mut self.leases)
    }

    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.secrets.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Secret)> {
        self.secrets
            .iter()
            .map(|(name, secret)| (name.as_str(), secret))
    }
}

#[cfg(test)]
mod tests {
    use super::Version;

    #[test]
    fn a_version_is_short_printable_ascii_or_nothing() {
        let id = "5e7b9c2a-0000-4b1e-9d3a-0123456789ab";
        assert_eq!(Version::new(id).map(|v| v.to_string()).as_deref(), Some(id));
        assert_eq!(
            Version::new("3").map(|v| v.to_string()).as_deref(),
            Some("3")
        );
        for refused in ["", "a b", "v\u{1b}[31m", "é", &"9".repeat(Version::MAX + 1)] {
            assert!(Version::new(refused).is_none(), "{refused:?}");
        }
        assert!(Version::new(&"9".repeat(Version::MAX)).is_some());
    }

    #[test]
    fn a_secret_json_document_leaves_nothing_in_freed_memory() {
        use crate::freed::{MARK, count};
        let text = format!(r#"{{"a":"{MARK}","b":[{{"c":"{MARK}"}}],"n":1}}"#);
        let plain = count(|| drop(serde_json::from_str::<serde_json::Value>(&text)));
        assert!(plain > 0, "the control: a plain `Value` leaves its strings");
        assert_eq!(count(|| drop(SecretJson::parse(text.as_bytes()))), 0);
    }

    #[test]
    fn wiped_bytes_leave_nothing_in_freed_memory() {
        use crate::freed::{MARK, count};
        let made = || {
            let mut bytes = Vec::with_capacity(4 * MARK.len());
            bytes.extend_from_slice(MARK.as_bytes());
            bytes
        };
        assert!(count(|| drop(made())) > 0, "the control leaves the mark");
        assert_eq!(count(|| drop(Wiped(made()))), 0);
        // Grown while read: the block left behind is wiped too.
        let found = count(|| {
            let mut out = made();
            let mut more = std::io::Cursor::new(MARK.repeat(64).into_bytes());
            read_to_end_zeroizing(&mut more, &mut out).unwrap();
            drop(Wiped(out));
        });
        // The cursor's own buffer is the one block left: it is the test's input.
        assert_eq!(found, 1);
    }

    use super::*;

    const CANARY: &str = "sk_live_CANARY0123456789abcdef4f2a";

    #[test]
    fn masks_with_public_prefix_and_tail() {
        assert_eq!(mask(CANARY), "sk_live_…4f2a");
        assert_eq!(mask("averylongrandomvalue9z8y"), "…9z8y");
    }

    #[test]
    fn short_values_show_nothing() {
        assert_eq!(mask("hunter2"), "…");
        assert_eq!(mask(""), "(empty)");
        // The prefix is shown only when enough is left after it.
        assert_eq!(mask("sk_live_abcd"), "…abcd");
    }

    #[test]
    fn mask_escapes_control_characters() {
        assert_eq!(
            mask("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n"),
            "-----BEGIN …---\\n"
        );
    }

    #[test]
    fn debug_and_display_never_show_the_value() {
        let value = SecretValue::new(CANARY.to_owned());
        let shown = format!("{value:?} {value} {value:#?}");
        assert!(
            !shown.contains("CANARY"),
            "{}",
            shown.replace(CANARY, "<leak>")
        );
        assert_eq!(value.expose(), CANARY);
    }

    #[test]
    fn push_zeroizing_grows_and_leaves_no_copy_behind() {
        use crate::freed::{MARK, count};
        let found = count(|| {
            let mut buf = String::with_capacity(2);
            for _ in 0..100 {
                push_zeroizing(&mut buf, MARK);
            }
            assert_eq!(buf.len(), 100 * MARK.len());
            // The final buffer is zeroed by the value that owns it.
            drop(SecretValue::new(buf));
        });
        assert_eq!(
            found, 0,
            "a grown-out-of buffer was freed with the secret in it"
        );
    }

    #[test]
    fn a_dropped_value_leaves_nothing_behind() {
        use crate::freed::{MARK, count};
        assert_eq!(count(|| drop(SecretValue::new(MARK.repeat(3)))), 0);
    }
}
