//! Named formats for `format = "…"` in the schema. Each check says why a value fails
//! without quoting it.

use serde::{Deserialize, Serialize};

use crate::boolean::parse_bool;
use crate::detectors::{KeyKind, Provider, detect};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    StripeSecretKey,
    StripePublishableKey,
    StripeWebhookSecret,
    Url,
    PostgresUrl,
    DatabaseUrl,
    RedisUrl,
    Email,
    Int,
    Number,
    Bool,
    Port,
    Base64,
    Hex,
    FernetKey,
    DjangoSecretKey,
    AwsAccessKeyId,
    PemPrivateKey,
    Jwt,
}

/// The outcome of a format check: fine, or why not (never quoting the value).
pub type Check = Result<(), String>;

fn rejected(why: impl Into<String>) -> Check {
    Err(why.into())
}

impl Format {
    /// The name the schema writes it by (`stripe-secret-key`).
    pub fn name(self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(name)) => name,
            _ => format!("{self:?}"),
        }
    }

    /// Whether the format is a kind of number (so min/max read the same value).
    pub fn is_numeric(self) -> bool {
        matches!(self, Format::Int | Format::Number | Format::Port)
    }

    pub fn check(self, value: &str) -> Check {
        match self {
            Format::StripeSecretKey => stripe(
                value,
                &[KeyKind::SecretKey, KeyKind::RestrictedKey],
                "`sk_live_`, `sk_test_`, `rk_live_` or `rk_test_`",
            ),
            Format::StripePublishableKey => stripe(
                value,
                &[KeyKind::PublishableKey],
                "`pk_live_` or `pk_test_`",
            ),
            Format::StripeWebhookSecret => stripe(value, &[KeyKind::WebhookSecret], "`whsec_`"),
            Format::Url => url(value, None),
            Format::PostgresUrl => url(value, Some(&["postgres", "postgresql"])),
            Format::DatabaseUrl => url(
                value,
                Some(&[
                    "postgres",
                    "postgresql",
                    "pgsql",
                    "mysql",
                    "mariadb",
                    "sqlite",
                    "oracle",
                    "mssql",
                    "cockroachdb",
                ]),
            ),
            Format::RedisUrl => url(value, Some(&["redis", "rediss", "unix"])),
            Format::Email => email(value),
            Format::Int => value
                .parse::<i64>()
                .map(drop)
                .or_else(|_| rejected("is not an integer")),
            Format::Number => match value.parse::<f64>() {
                Ok(n) if n.is_finite() => Ok(()),
                _ => rejected("is not a number"),
            },
            Format::Bool => match parse_bool(value) {
                Some(_) => Ok(()),
                None => rejected("is not a boolean (true/false, 1/0, yes/no, on/off)"),
            },
            Format::Port => match port(value) {
                Some(_) => Ok(()),
                None => rejected("is not a port number (1 to 65535, digits only)"),
            },
            Format::Base64 => match base64_decode(value) {
                Some(_) => Ok(()),
                None => rejected("is not base64"),
            },
            Format::Hex => hex(value),
            Format::FernetKey => match base64_decode(value) {
                Some(bytes) if bytes.len() == 32 && !value.contains(['+', '/']) => Ok(()),
                _ => rejected("is not a Fernet key (URL-safe base64 of 32 bytes)"),
            },
            Format::DjangoSecretKey => django_secret_key(value),
            Format::AwsAccessKeyId => match detect(value) {
                Some(d) if d.provider == Provider::Aws => Ok(()),
                _ => rejected("is not an AWS access key id (AKIA or ASIA and 16 characters)"),
            },
            Format::PemPrivateKey => pem(value),
            Format::Jwt => jwt(value),
        }
    }
}

/// An even number of hex digits.
fn hex(value: &str) -> Check {
    if !value.is_empty()
        && value.len().is_multiple_of(2)
        && value.bytes().all(|b| b.is_ascii_hexdigit())
    {
        Ok(())
    } else {
        rejected("is not hex (an even number of 0-9, a-f)")
    }
}

/// What Django's own check asks of SECRET_KEY: 50 characters, 5 different.
fn django_secret_key(value: &str) -> Check {
    let unique = value
        .chars()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if value.chars().count() < 50 || unique < 5 {
        rejected("is not a strong Django secret key (at least 50 characters, 5 different)")
    } else {
        Ok(())
    }
}

/// A port: digits only, no sign and no leading zero, 1 to 65535.
fn port(text: &str) -> Option<u16> {
    if text.is_empty() || text.starts_with('0') || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u16>().ok().filter(|&p| p >= 1)
}

/// A Stripe key of one of `kinds`.
fn stripe(value: &str, kinds: &[KeyKind], prefixes: &str) -> Check {
    match detect(value) {
        Some(d) if d.provider == Provider::Stripe && kinds.contains(&d.kind) => Ok(()),
        Some(d) if d.provider == Provider::Stripe => {
            rejected(format!("is a Stripe {}, not a {}", d.kind, kinds[0]))
        }
        _ => rejected(format!(
            "is not a Stripe {} (starts {prefixes}, then letters and digits)",
            kinds[0]
        )),
    }
}

fn url(value: &str, schemes: Option<&[&str]>) -> Check {
    let Some((scheme, rest)) = value.split_once("://") else {
        return rejected("is not a URL (scheme://host…)");
    };
    let valid_scheme = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
    if !valid_scheme || value.chars().any(char::is_whitespace) {
        return rejected("is not a URL (scheme://host…)");
    }
    if let Some(schemes) = schemes {
        let base = scheme.split('+').next().unwrap_or(scheme);
        if !schemes.contains(&base) {
            return rejected(format!(
                "has the wrong scheme (expected {})",
                schemes
                    .iter()
                    .map(|s| format!("`{s}://`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.is_empty() && !matches!(scheme, "sqlite" | "unix") {
        return rejected("is a URL without a host");
    }
    // `host:port`, `[v6]:port`, or several hosts (`h1:5432,h2:5433`, as libpq takes).
    for one in host.split(',') {
        let after_brackets = match one.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((_, after)) => after,
                None => return rejected("is a URL with an unclosed `[` in its host"),
            },
            None => one,
        };
        if let Some((_, port_text)) = after_brackets.rsplit_once(':')
            && port(port_text).is_none()
        {
            return rejected("is a URL whose port is not a number from 1 to 65535");
        }
    }
    Ok(())
}

fn email(value: &str) -> Check {
    match value.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.chars().any(|c| c.is_whitespace() || c == ',')
                && !domain.contains('@') =>
        {
            Ok(())
        }
        _ => rejected("is not an email address"),
    }
}

fn pem(value: &str) -> Check {
    let value = value.trim();
    let ok = value.starts_with("-----BEGIN ")
        && value
            .lines()
            .next()
            .is_some_and(|l| l.ends_with("PRIVATE KEY-----"))
        && value
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("-----END ") && l.ends_with("PRIVATE KEY-----"))
        && value.lines().count() >= 3;
    let body: String = value.lines().filter(|l| !l.starts_with("-----")).collect();
    if ok && base64_decode(&body).is_some() {
        Ok(())
    } else {
        rejected(
            "is not a PEM private key (-----BEGIN … PRIVATE KEY----- on its own line, base64, -----END …)",
        )
    }
}

fn jwt(value: &str) -> Check {
    let parts: Vec<&str> = value.split('.').collect();
    let header = match parts.as_slice() {
        [header, payload, _signature] if base64_decode(payload).is_some() => base64_decode(header),
        _ => None,
    };
    let has_alg = header
        .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
        .is_some_and(|h| h.get("alg").is_some());
    if has_alg {
        Ok(())
    } else {
        rejected("is not a JWT (three base64url parts, a JSON header with `alg`)")
    }
}

/// Decodes standard or URL-safe base64, padded or not (but not mixed alphabets).
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.trim_end_matches('=');
    if text.len() - trimmed.len() > 2 || trimmed.is_empty() {
        return None;
    }
    if text.len() != trimmed.len() && !text.len().is_multiple_of(4) {
        return None;
    }
    let url_safe = trimmed.contains(['-', '_']);
    if url_safe && trimmed.contains(['+', '/']) {
        return None;
    }
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for b in trimmed.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    // A lone trailing character (6 bits) cannot end valid base64.
    if trimmed.len() % 4 == 1 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Format::*;

    // Made-up samples: none is a real key.
    #[test]
    fn valid_samples() {
        let cases: &[(Format, &str)] = &[
            (StripeSecretKey, "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
            (StripeSecretKey, "rk_test_4eC39HqLyjWDarjtT1zdp7dc"),
            (StripePublishableKey, "pk_test_TYooMQauvdEDq54NiTphI7jx"),
            (StripeWebhookSecret, "whsec_5fbd0c3a7e4b4f2c9a1d8e6b"),
            (Url, "https://example.com/path?q=1"),
            (PostgresUrl, "postgres://user:pw@db.internal:5432/app"),
            (DatabaseUrl, "mysql://u@h/db"),
            (DatabaseUrl, "sqlite:///var/db.sqlite3"),
            (DatabaseUrl, "postgresql+psycopg://u@h/db"),
            (RedisUrl, "rediss://:pw@cache:6380/0"),
            (RedisUrl, "redis://cache"),
            (RedisUrl, "redis://[::1]:6379/0"),
            (PostgresUrl, "postgres://u@db1:5432,db2:65535/app"),
            (Port, "65535"),
            (Email, "ops@example.com"),
            (Int, "-42"),
            (Number, "0.15"),
            (Bool, "False"),
            (Port, "8000"),
            (Base64, "aGVsbG8="),
            (Base64, "aGVsbG8"),
            (Hex, "deadBEEF"),
            (FernetKey, "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4="),
            (
                DjangoSecretKey,
                "k3j4h5g6f7d8s9a0q1w2e3r4t5y6u7i8o9p0z1x2c3v4b5n6m7",
            ),
            (AwsAccessKeyId, "AKIAIOSFODNN7EXAMPLE"),
            (
                PemPrivateKey,
                "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n",
            ),
            (Jwt, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"),
        ];
        for (format, value) in cases {
            assert_eq!(
                format.check(value),
                Ok(()),
                "{format:?} rejected a valid sample"
            );
        }
    }

    #[test]
    fn invalid_samples() {
        let cases: &[(Format, &str)] = &[
            (StripeSecretKey, "pk_live_TYooMQauvdEDq54NiTphI7jx"),
            (StripeSecretKey, "sk_live_short"),
            (StripeSecretKey, "not-a-key"),
            (StripePublishableKey, "sk_test_4eC39HqLyjWDarjtT1zdp7dc"),
            (StripeWebhookSecret, "whsec_abc"),
            (Url, "example.com"),
            (Url, "http://exa mple.com"),
            (Url, "https://"),
            (PostgresUrl, "mysql://u@h/db"),
            (RedisUrl, "http://cache"),
            (Email, "ops@localhost"),
            (Email, "@example.com"),
            (Int, "1.5"),
            (Number, "NaN"),
            (Number, "abc"),
            (Bool, "maybe"),
            (Port, "0"),
            (Port, "65536"),
            (Port, "+80"),
            (Port, "080"),
            (Port, " 80"),
            (PostgresUrl, "postgres://u:p@db:notaport/app"),
            (PostgresUrl, "postgres://db:/app"),
            (RedisUrl, "redis://cache:99999999"),
            (RedisUrl, "redis://[::1:6379"),
            (Base64, "a"),
            (Base64, "ab$c"),
            (Hex, "abc"),
            (Hex, "zz"),
            (FernetKey, "aGVsbG8="),
            (FernetKey, "cw/0x689RpI+jtRR7oE8h/eQsKImvJapLeSbXpwF4e4="),
            (DjangoSecretKey, "short"),
            (DjangoSecretKey, &"a".repeat(60)),
            (AwsAccessKeyId, "AKIA123"),
            (
                PemPrivateKey,
                "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----",
            ),
            (Jwt, "a.b"),
            (Jwt, "aGVsbG8.aGVsbG8.aGVsbG8"),
        ];
        for (format, value) in cases {
            let why = format.check(value).expect_err("accepted an invalid sample");
            // Short samples such as `a` occur in any sentence; longer ones must not.
            assert!(
                value.len() < 5 || !why.contains(value),
                "the reason quotes {value:?}: {why}"
            );
        }
    }

    #[test]
    fn base64_round_trip() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGk").unwrap(), b"hi");
        assert_eq!(base64_decode("-_8").unwrap(), [0xfb, 0xff]);
        assert!(base64_decode("aGVsbG8==").is_none());
    }
}
