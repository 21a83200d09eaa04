//! What the scanner looks for in a text: the values of the configured secrets, as
//! they are and in the encodings a leak usually takes, and provider keys by their
//! shape (the detector table). One Aho-Corasick automaton holds every needle, so a
//! file is read once whatever the number of secrets.

use aho_corasick::{AhoCorasick, MatchKind};
use zeroize::Zeroizing;

use crate::detectors::{DETECTORS, Detector, detect};
use crate::mode::Mode;
use crate::placeholder::is_placeholder;
use crate::secret::{SecretSet, SecretValue};

/// The shortest value looked for. Shorter strings turn up in code by chance (`True`,
/// `8000`, `admin`), and a base64 run shorter than this says little. Eight characters
/// of a random secret are 48 bits or more: no chance match.
pub const MIN_VALUE_LEN: usize = 8;

/// Fewer different characters than this is not a secret's shape (`aaaaaaaa`,
/// `12121212`).
const MIN_DISTINCT: usize = 5;

/// How a value was written where it was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Plain,
    Base64,
    UrlEncoded,
    JsonEscaped,
}

impl Encoding {
    pub fn name(self) -> Option<&'static str> {
        match self {
            Encoding::Plain => None,
            Encoding::Base64 => Some("base64"),
            Encoding::UrlEncoded => Some("url-encoded"),
            Encoding::JsonEscaped => Some("json-escaped"),
        }
    }
}

/// What a hit is.
#[derive(Clone, Debug)]
pub enum Rule {
    /// The value of a configured secret.
    Value { name: String, encoding: Encoding },
    /// A provider key, by its shape.
    Key(&'static Detector),
}

/// One place where something was found: where in the text, what, and the text
/// matched (a secret value: zeroed on drop, masked in `Debug`).
#[derive(Debug)]
pub struct Hit {
    pub offset: usize,
    pub rule: Rule,
    pub matched: SecretValue,
}

/// Detector prefixes shorter than this (Twilio's `AC` and `SK`) stay out of the
/// automaton: its SIMD prefilter fingerprints every pattern by its first bytes, and a
/// two-letter one matches everywhere in text dense in identifiers (minified code,
/// lock files), which made such text cost several times what ripgrep pays. They are
/// found by a search of their own, which such text does not slow.
const MIN_AUTOMATON_PREFIX: usize = 3;

/// The needles of a scan, built once: one automaton holds the value needles, then
/// the detectors' prefixes of three bytes or more, so a text is read in one pass;
/// the shorter prefixes have a finder each.
pub struct Matchers {
    automaton: AhoCorasick,
    /// The detectors' prefixes too short for the automaton.
    short: Vec<memchr::memmem::Finder<'static>>,
    /// For each value needle: the variable and the encoding.
    rules: Vec<(String, Encoding)>,
    /// The secret text of each needle, zeroed when the scan ends.
    needles: Vec<Zeroizing<String>>,
}

impl Matchers {
    /// The values worth looking for (see [`is_worth_finding`]) in every encoding, and
    /// every detector's prefix.
    pub fn new(secrets: &SecretSet) -> Matchers {
        let mut needles: Vec<Zeroizing<String>> = Vec::new();
        let mut rules = Vec::new();
        for (name, secret) in secrets.iter() {
            let value = secret.value.expose();
            if !is_worth_finding(name, value) {
                continue;
            }
            for (encoding, needle) in encodings(value) {
                if needle.len() >= MIN_VALUE_LEN && !needles.iter().any(|n| **n == *needle) {
                    needles.push(needle);
                    rules.push((name.to_owned(), encoding));
                }
            }
        }
        // Longest first: where two values start at one place, the longer is the
        // finding. Values come before the prefixes, so that a configured value that is
        // also a key is reported as the value.
        let mut order: Vec<usize> = (0..needles.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(needles[i].len()));
        let needles: Vec<Zeroizing<String>> = order.iter().map(|&i| needles[i].clone()).collect();
        let rules = order.iter().map(|&i| rules[i].clone()).collect();
        // A prefix only says where a key may start: the detector table then tries
        // every detector on the token there, so the leftmost match a place is
        // enough, and lets the automaton skip ahead with its SIMD prefilter.
        let (long, short): (Vec<&Detector>, Vec<&Detector>) = DETECTORS
            .iter()
            .partition(|d| d.prefix.len() >= MIN_AUTOMATON_PREFIX);
        let patterns = needles
            .iter()
            .map(|n| n.as_bytes())
            .chain(long.iter().map(|d| d.prefix.as_bytes()));
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(patterns)
            .expect("literal needles build");
        let mut short: Vec<&str> = short.iter().map(|d| d.prefix).collect();
        short.dedup();
        Matchers {
            automaton,
            short: short
                .into_iter()
                .map(|p| memchr::memmem::Finder::new(p.as_bytes()))
                .collect(),
            rules,
            needles,
        }
    }

    /// How many value needles there are (every encoding counted).
    pub fn value_needles(&self) -> usize {
        self.needles.len()
    }

    /// Every hit in `text`, in order of offset. A key that is also a configured
    /// value is reported once, as the value.
    pub fn find(&self, text: &[u8]) -> Vec<Hit> {
        let mut hits = Vec::new();
        for m in self.automaton.find_iter(text) {
            let (pattern, start) = (m.pattern().as_usize(), m.start());
            if let Some((name, encoding)) = self.rules.get(pattern) {
                hits.push(Hit {
                    offset: start,
                    rule: Rule::Value {
                        name: name.clone(),
                        encoding: *encoding,
                    },
                    matched: SecretValue::new(self.needles[pattern].to_string()),
                });
            } else if starts_token(text, start)
                && let Some(hit) = key_at(text, start)
            {
                hits.push(hit);
            }
        }
        self.short_keys(text, &mut hits);
        hits
    }

    /// The keys whose prefixes are too short for the automaton, added to `hits` in
    /// order of offset. One that starts inside a hit already found is not another
    /// (the automaton, leftmost-first, would not have reported it either).
    fn short_keys(&self, text: &[u8], hits: &mut Vec<Hit>) {
        let found = hits.len();
        for finder in &self.short {
            // The automaton's hits are in order and apart: one cursor walks them.
            let mut at = 0;
            for start in finder.find_iter(text) {
                while at < found && hits[at].offset + hits[at].matched.len() <= start {
                    at += 1;
                }
                let inside = at < found && hits[at].offset <= start;
                if !inside
                    && starts_token(text, start)
                    && let Some(hit) = key_at(text, start)
                {
                    hits.push(hit);
                }
            }
        }
        if hits.len() > found {
            hits.sort_by_key(|h| h.offset);
        }
    }
}

/// Whether a configured variable's value is looked for: long enough, varied enough,
/// not a placeholder, and secret by what it is (a provider key) or by its name
/// (`…KEY`, `…SECRET`, `…TOKEN`, `…PASSWORD`, a URL with a password). Plain settings
/// (`DEBUG=False`, `ALLOWED_HOSTS=localhost`) would be found in every settings file.
pub fn is_worth_finding(name: &str, value: &str) -> bool {
    let distinct = value
        .chars()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if value.len() < MIN_VALUE_LEN || distinct < MIN_DISTINCT || is_placeholder(value) {
        return false;
    }
    if detect(value).is_some() || crate::secrecy::url_with_password(value) {
        return true;
    }
    crate::secrecy::name_says_secret(name)
}

/// A value in every form worth looking for: as it is, JSON-escaped and URL-encoded
/// (where those differ), and base64 (standard and URL-safe) at each of the three
/// alignments it can take inside a longer encoded text.
fn encodings(value: &str) -> Vec<(Encoding, Zeroizing<String>)> {
    let mut out = vec![(Encoding::Plain, Zeroizing::new(value.to_owned()))];
    let quoted = Zeroizing::new(serde_json::to_string(value).unwrap_or_default());
    let inside = quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or("");
    let json = Zeroizing::new(inside.to_owned());
    if *json != value {
        out.push((Encoding::JsonEscaped, json));
    }
    let url = url_encode(value);
    if *url != value {
        out.push((Encoding::UrlEncoded, url));
    }
    for offset in 0..3 {
        let inner = base64_inner(value.as_bytes(), offset);
        let safe = Zeroizing::new(inner.replace('+', "-").replace('/', "_"));
        if *safe != *inner {
            out.push((Encoding::Base64, safe));
        }
        out.push((Encoding::Base64, inner));
    }
    out
}

/// Percent-encodes every byte but RFC 3986's unreserved characters.
fn url_encode(value: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(value.len() * 3));
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The base64 characters that depend on `value` alone when it starts `offset`
/// bytes into an encoded run: those before it carry bits of the bytes before, the
/// last partial one bits of the bytes after.
fn base64_inner(value: &[u8], offset: usize) -> Zeroizing<String> {
    let mut bytes = Zeroizing::new(vec![0u8; offset]);
    bytes.extend_from_slice(value);
    let mut encoded = Zeroizing::new(String::with_capacity(bytes.len() * 4 / 3 + 4));
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            encoded.push(BASE64[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    let start = (offset * 8).div_ceil(6);
    let end = bytes.len() * 8 / 6;
    Zeroizing::new(encoded.get(start..end).unwrap_or("").to_owned())
}

/// Whether a key may start at `start`: not in the middle of a word.
fn starts_token(text: &[u8], start: usize) -> bool {
    start == 0 || !is_token_byte(text[start - 1])
}

/// Bytes that continue a key in text.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')
}

/// The provider key that starts at `start`, if the text there is one: the run of
/// key characters after the prefix, checked by the detector table. Placeholders and
/// the example keys of providers' documentation are not keys.
fn key_at(text: &[u8], start: usize) -> Option<Hit> {
    let rest = &text[start..];
    let end = if rest.starts_with(b"-----BEGIN ") {
        // A PEM block: up to its end line, or the line's end.
        let line_end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        find(rest, b"-----END ")
            .and_then(|at| Some(at + 9 + find(&rest[at + 9..], b"-----")? + 5))
            .unwrap_or(line_end)
    } else {
        rest.iter()
            .position(|&b| !(is_token_byte(b) || matches!(b, b'.' | b'/' | b':')))
            .unwrap_or(rest.len())
    };
    let mut token = std::str::from_utf8(&rest[..end]).ok()?;
    // Trailing punctuation of the sentence or the path around the key.
    let detector = loop {
        if let Some(d) = detect(token) {
            break d;
        }
        token = token.strip_suffix(['.', '/', ':'])?;
    };
    if is_placeholder(token) || is_documented_example(token) {
        return None;
    }
    Some(Hit {
        offset: start,
        rule: Rule::Key(detector),
        matched: SecretValue::new(token.to_owned()),
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Keys that providers print in their own documentation, and keys that say they are
/// examples.
fn is_documented_example(token: &str) -> bool {
    const EXAMPLES: &[&str] = &[
        "AKIAIOSFODNN7EXAMPLE",
        "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "pk_test_TYooMQauvdEDq54NiTphI7jx",
        "sk_test_BQokikJOvBiI2HlWgH4olfQ2",
    ];
    EXAMPLES.contains(&token) || token.contains("EXAMPLE") || token.contains("example")
}

/// How a hit ranks: live keys first (a configured value that is one too), then
/// configured values, then other keys, then test keys.
pub fn rank(hit: &Hit) -> u8 {
    let mode = match &hit.rule {
        Rule::Key(d) => d.mode,
        Rule::Value { .. } => detect(hit.matched.expose()).and_then(|d| d.mode),
    };
    match (&hit.rule, mode) {
        (_, Some(Mode::Live)) => 0,
        (Rule::Value { .. }, _) => 1,
        (Rule::Key(_), Some(Mode::Test)) => 3,
        (Rule::Key(_), _) => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: &str = "sk_live_4eC39HqLyjWDarjtT1zdp7dcQq";

    fn set(pairs: &[(&str, &str)]) -> SecretSet {
        SecretSet::of(pairs)
    }

    #[test]
    fn base64_at_every_alignment() {
        let value = "s3cr3t-Passw0rd!";
        for prefix in ["", "u", "us", "user:"] {
            let text = format!("{prefix}{value}trailer");
            let encoded = std_base64(text.as_bytes());
            let found =
                (0..3).any(|o| encoded.contains(base64_inner(value.as_bytes(), o).as_str()));
            assert!(found, "prefix {prefix:?}: {encoded}");
        }
    }

    /// An independent encoder for the test: the standard alphabet, padded.
    fn std_base64(bytes: &[u8]) -> String {
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(BASE64[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[test]
    fn values_in_their_encodings() {
        let m = Matchers::new(&set(&[("DB_PASSWORD", "p@ss w\"rd/42")]));
        let found = |text: &str| {
            m.find(text.as_bytes())
                .into_iter()
                .map(|h| match h.rule {
                    Rule::Value { encoding, .. } => encoding,
                    Rule::Key(_) => panic!("a key"),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(found("pw = 'p@ss w\"rd/42'"), [Encoding::Plain]);
        assert_eq!(found(r#"{"pw": "p@ss w\"rd/42"}"#), [Encoding::JsonEscaped]);
        assert_eq!(
            found("postgres://u:p%40ss%20w%22rd%2F42@h/db"),
            [Encoding::UrlEncoded]
        );
        let b64 = std_base64(b"Authorization: p@ss w\"rd/42");
        assert_eq!(found(&b64), [Encoding::Base64]);
        assert_eq!(found("nothing here"), []);
    }

    #[test]
    fn which_values_are_looked_for() {
        assert!(is_worth_finding("STRIPE_SECRET_KEY", LIVE));
        assert!(is_worth_finding("DB_PASSWORD", "hunter2hunter2"));
        assert!(is_worth_finding(
            "DATABASE_URL",
            "postgres://app:s3cretpw@db/app"
        ));
        assert!(
            is_worth_finding("ANYTHING", LIVE),
            "a provider key, whatever its name"
        );
        assert!(!is_worth_finding("ALLOWED_HOSTS", "localhost,127.0.0.1"));
        assert!(!is_worth_finding("DATABASE_URL", "postgres://db/app"));
        assert!(!is_worth_finding("API_KEY", "short"));
        assert!(!is_worth_finding("API_KEY", "aaaaaaaaaaaa"));
        assert!(!is_worth_finding("API_KEY", "your-api-key-here"));
    }

    #[test]
    fn keys_by_shape() {
        let m = Matchers::new(&SecretSet::new());
        let keys = |text: &str| {
            m.find(text.as_bytes())
                .into_iter()
                .map(|h| (h.offset, h.matched.expose().to_owned()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            keys(&format!("stripe.api_key = \"{LIVE}\"")),
            [(18, LIVE.to_owned())]
        );
        assert_eq!(keys(&format!("see {LIVE}.")), [(4, LIVE.to_owned())]);
        assert_eq!(keys(&format!("x{LIVE}")), [], "inside a longer word");
        assert_eq!(keys("AKIAIOSFODNN7EXAMPLE"), [], "AWS's documented example");
        assert_eq!(
            keys("sk_live_YOUR_NEW_SECRET_KEY_HERE"),
            [],
            "a placeholder"
        );
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n";
        assert_eq!(keys(pem), [(0, pem.trim_end().to_owned())]);
    }

    /// Twilio's two-letter prefixes are found beside the automaton, in order with its
    /// hits, at a word's start only, and not inside a hit already found.
    #[test]
    fn keys_with_two_letter_prefixes() {
        let sid = format!("AC{}", "0123456789abcdef".repeat(2));
        let key = format!("SK{}", "fedcba9876543210".repeat(2));
        let m = Matchers::new(&set(&[("DB_PASSWORD", "pw-Zq81kPw-x")]));
        let found = |text: &str| {
            m.find(text.as_bytes())
                .into_iter()
                .map(|h| (h.offset, h.matched.expose().to_owned()))
                .collect::<Vec<_>>()
        };
        let text = format!("{key} pw-Zq81kPw-x {LIVE} {sid}.");
        assert_eq!(
            found(&text),
            [
                (0, key.clone()),
                (35, "pw-Zq81kPw-x".to_owned()),
                (48, LIVE.to_owned()),
                (48 + LIVE.len() + 1, sid.clone())
            ]
        );
        assert_eq!(found(&format!("x{sid}")), [], "inside a longer word");
        // A configured value that holds the SID at a word's start: the value only.
        let m = Matchers::new(&set(&[("TWILIO_AUTH", &format!("tok/{sid}"))]));
        let hits = m.find(format!("= tok/{sid}").as_bytes());
        assert_eq!(hits.len(), 1);
        assert!(matches!(&hits[0].rule, Rule::Value { .. }));
    }

    #[test]
    fn a_value_that_is_a_key_is_reported_once_as_the_value() {
        let m = Matchers::new(&set(&[("STRIPE_SECRET_KEY", LIVE)]));
        let hits = m.find(format!("k={LIVE}").as_bytes());
        assert_eq!(hits.len(), 1);
        assert!(matches!(&hits[0].rule, Rule::Value { name, .. } if name == "STRIPE_SECRET_KEY"));
    }

    #[test]
    fn a_hit_never_shows_its_text_in_debug() {
        let m = Matchers::new(&set(&[("STRIPE_SECRET_KEY", LIVE)]));
        let hits = m.find(format!("k={LIVE}").as_bytes());
        let shown = format!("{hits:?}");
        assert!(
            !shown.contains("4eC39HqLyjWDarjtT1zdp7dcQq"),
            "{}",
            shown.replace(LIVE, "<leak>")
        );
    }
}
