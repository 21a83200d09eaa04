//! What a name or a value says of secrecy: a name with `KEY`, `SECRET`, `TOKEN`,
//! `PASSWORD`… in it, a URL carrying a password, a provider's key; and what is
//! provably not a secret, which `list`, `check` and `explain` show in clear: the
//! parent's plumbing (PATH, HOME, LANG…), booleans, small numbers and ports, and
//! values a schema marks `secret = false`, unless the name, the URL or a detector
//! says otherwise. Everything else is masked.

use crate::detectors::detect;

/// Parts of a variable name that say its value is a secret.
const SECRET_WORDS: &[&str] = &[
    "KEY",
    "SECRET",
    "TOKEN",
    "PASSWORD",
    "PASSWD",
    "PASS",
    "PWD",
    "CREDENTIAL",
    "AUTH",
    "PRIVATE",
    "SIGNATURE",
    "SALT",
    "DSN",
    "COOKIE",
    "SESSION",
    "CERT",
];

/// Whether the name says its value is a secret (`STRIPE_SECRET_KEY`, `DB_PASS`).
pub fn name_says_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_WORDS.iter().any(|w| upper.contains(w))
}

/// `scheme://user:password@host…`: the user and password of a URL that carries one.
pub fn url_credentials(value: &str) -> Option<(&str, &str)> {
    let (_, rest) = value.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let (userinfo, _) = authority.rsplit_once('@')?;
    userinfo.split_once(':')
}

/// Whether a value is a URL that carries a password.
pub fn url_with_password(value: &str) -> bool {
    url_credentials(value).is_some()
}

/// Whether a value may be shown in clear: provably not a secret (`plumbing`: the
/// parent's baseline; `marked`: the schema's `secret = false`; or a boolean, or a
/// number of at most six digits), and nothing about it says secret.
pub fn shown_in_clear(name: &str, value: &str, plumbing: bool, marked: bool) -> bool {
    if value.is_empty() || value.len() > 1024 || value.chars().any(char::is_control) {
        return false;
    }
    if name_says_secret(name) || url_with_password(value) || detect(value).is_some() {
        return false;
    }
    plumbing || marked || is_boolean(value) || is_small_number(value)
}

fn is_boolean(value: &str) -> bool {
    crate::boolean::parse_bool(value).is_some()
}

/// `8000`, `-1`, `0.25`: at most six digits before and after a point.
fn is_small_number(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let run = |s: &str, least: usize| {
        (least..=6).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    run(whole, 1) && (fraction.is_empty() && !digits.ends_with('.') || run(fraction, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_settings_show_and_anything_secret_does_not() {
        for (name, value) in [
            ("PORT", "8000"),
            ("DEBUG", "True"),
            ("WORKERS", "4"),
            ("RATE", "0.25"),
            ("OFFSET", "-1"),
            ("VERBOSE", "off"),
        ] {
            assert!(shown_in_clear(name, value, false, false), "{name}={value}");
        }
        for (name, value) in [
            ("ALLOWED_HOSTS", "localhost"),
            ("STRIPE_SECRET_KEY", "1234"),
            ("API_TOKEN", "true"),
            ("DB_PASS", "42"),
            ("PIN", "1234567"),
            ("RATE", "1."),
            ("RATE", ".5"),
            ("N", "12345678901234567890"),
            ("EMPTY", ""),
        ] {
            assert!(!shown_in_clear(name, value, false, false), "{name}={value}");
        }
        // Plumbing and `secret = false` show, unless something says secret.
        assert!(shown_in_clear("LANG", "C.UTF-8", true, false));
        assert!(shown_in_clear("ALLOWED_HOSTS", "localhost", false, true));
        assert!(!shown_in_clear(
            "DATABASE_URL",
            "postgres://u:p@h/db",
            false,
            true
        ));
        assert!(!shown_in_clear(
            "STRIPE",
            "sk_live_0123456789abcdefghijklmn",
            false,
            true
        ));
        assert!(!shown_in_clear("AUTH_HEADER", "x", true, true));
        assert!(!shown_in_clear("TERM", "x\u{1b}[2J", true, false));
    }

    #[test]
    fn url_credentials_are_the_userinfo_of_the_authority() {
        assert_eq!(
            url_credentials("postgres://app:pw@db/app"),
            Some(("app", "pw"))
        );
        assert_eq!(url_credentials("postgres://db/app?x=a:b@c"), None);
        assert_eq!(url_credentials("https://host/path"), None);
    }
}
