//! Built-in detectors: what a value is, whatever its name. One table, most specific
//! prefix first; adding a provider is adding a row.

pub use crate::mode::Mode;

/// One known key format.
#[derive(Debug)]
pub struct Detector {
    /// The public prefix, shown in masked values.
    pub prefix: &'static str,
    pub provider: &'static str,
    pub kind: &'static str,
    pub mode: Option<Mode>,
    /// What must hold of the text after the prefix.
    pub rest: fn(&str) -> bool,
}

fn alnum(min: usize) -> impl Fn(&str) -> bool {
    move |s: &str| s.len() >= min && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn token(s: &str) -> bool {
    s.len() >= 16
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn stripe(s: &str) -> bool {
    alnum(16)(s)
}

fn aws_key_id(s: &str) -> bool {
    s.len() == 16
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn hex32(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn sendgrid(s: &str) -> bool {
    s.split_once('.')
        .is_some_and(|(id, secret)| id.len() == 22 && secret.len() == 43)
}

fn google(s: &str) -> bool {
    s.len() == 35
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn private_key(s: &str) -> bool {
    s.contains("PRIVATE KEY-----")
}

fn any(s: &str) -> bool {
    !s.is_empty()
}

macro_rules! row {
    ($prefix:expr, $provider:expr, $kind:expr, $mode:expr, $rest:expr) => {
        Detector {
            prefix: $prefix,
            provider: $provider,
            kind: $kind,
            mode: $mode,
            rest: $rest,
        }
    };
}

const LIVE: Option<Mode> = Some(Mode::Live);
const TEST: Option<Mode> = Some(Mode::Test);

/// Every detector, most specific prefix first.
pub static DETECTORS: &[Detector] = &[
    row!("sk_live_", "Stripe", "secret key", LIVE, stripe),
    row!("sk_test_", "Stripe", "secret key", TEST, stripe),
    row!("rk_live_", "Stripe", "restricted key", LIVE, stripe),
    row!("rk_test_", "Stripe", "restricted key", TEST, stripe),
    row!("pk_live_", "Stripe", "publishable key", LIVE, stripe),
    row!("pk_test_", "Stripe", "publishable key", TEST, stripe),
    row!("whsec_", "Stripe", "webhook secret", None, |s| s.len()
        >= 16),
    row!("AKIA", "AWS", "access key id", None, aws_key_id),
    row!("ASIA", "AWS", "temporary access key id", None, aws_key_id),
    row!("github_pat_", "GitHub", "fine-grained token", None, token),
    row!("ghp_", "GitHub", "personal access token", None, token),
    row!("gho_", "GitHub", "oauth token", None, token),
    row!("ghu_", "GitHub", "user-to-server token", None, token),
    row!("ghs_", "GitHub", "server-to-server token", None, token),
    row!("ghr_", "GitHub", "refresh token", None, token),
    row!("glpat-", "GitLab", "personal access token", None, |s| s
        .len()
        >= 20),
    row!("xoxb-", "Slack", "bot token", None, token),
    row!("xoxp-", "Slack", "user token", None, token),
    row!("xapp-", "Slack", "app token", None, token),
    row!(
        "https://hooks.slack.com/services/",
        "Slack",
        "webhook url",
        None,
        any
    ),
    row!("SG.", "SendGrid", "api key", None, sendgrid),
    row!("AC", "Twilio", "account sid", None, hex32),
    row!("SK", "Twilio", "api key sid", None, hex32),
    row!("sk-ant-", "Anthropic", "api key", None, token),
    row!("sk-proj-", "OpenAI", "project api key", None, token),
    row!("sk-svcacct-", "OpenAI", "service account key", None, token),
    row!("sk-", "OpenAI", "api key", None, |s| alnum(32)(s)),
    row!("AIza", "Google", "api key", None, google),
    row!("-----BEGIN ", "PEM", "private key", None, private_key),
];

/// The detector that recognises this value, if any.
pub fn detect(value: &str) -> Option<&'static Detector> {
    DETECTORS.iter().find(|d| {
        value
            .strip_prefix(d.prefix)
            .is_some_and(|rest| (d.rest)(rest))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made-up values of the right shape; none is a real key.
    #[test]
    fn detects_each_provider() {
        let cases = [
            (
                "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
                "Stripe",
                "secret key",
                LIVE,
            ),
            (
                "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
                "Stripe",
                "secret key",
                TEST,
            ),
            (
                "rk_live_4eC39HqLyjWDarjtT1zdp7dc",
                "Stripe",
                "restricted key",
                LIVE,
            ),
            (
                "pk_test_TYooMQauvdEDq54NiTphI7jx",
                "Stripe",
                "publishable key",
                TEST,
            ),
            (
                "whsec_5fbd0c3a7e4b4f2c9a1d8e6b",
                "Stripe",
                "webhook secret",
                None,
            ),
            ("AKIAIOSFODNN7EXAMPLE", "AWS", "access key id", None),
            (
                "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
                "GitHub",
                "personal access token",
                None,
            ),
            (
                "glpat-aBcDeFgHiJkLmNoPqRsT",
                "GitLab",
                "personal access token",
                None,
            ),
            (
                "xoxb-1234567890-abcdefghijklmnop",
                "Slack",
                "bot token",
                None,
            ),
            (
                "SG.aBcDeFgHiJkLmNoPqRsTuV.aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcdefg",
                "SendGrid",
                "api key",
                None,
            ),
            (
                "AC0123456789abcdef0123456789abcdef",
                "Twilio",
                "account sid",
                None,
            ),
            (
                "sk-ant-api03-aBcDeFgHiJkLmNoPqRsTuVwXyZ",
                "Anthropic",
                "api key",
                None,
            ),
            (
                "sk-proj-aBcDeFgHiJkLmNoPqRsTuVwXyZ",
                "OpenAI",
                "project api key",
                None,
            ),
            (
                "sk-aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
                "OpenAI",
                "api key",
                None,
            ),
            (
                "AIzaSyA-aBcDeFgHiJkLmNoPqRsTuVwXyZ01234",
                "Google",
                "api key",
                None,
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMII\n-----END RSA PRIVATE KEY-----",
                "PEM",
                "private key",
                None,
            ),
        ];
        for (value, provider, kind, mode) in cases {
            let d = detect(value).unwrap_or_else(|| panic!("not detected: {provider} {kind}"));
            assert_eq!((d.provider, d.kind, d.mode), (provider, kind, mode));
        }
    }

    #[test]
    fn ordinary_values_are_not_keys() {
        for value in [
            "hello",
            "sk_live_",
            "sk_live_short",
            "ACME",
            "AKIA123",
            "-----BEGIN CERTIFICATE-----",
            "8000",
        ] {
            assert!(detect(value).is_none(), "false positive");
        }
    }
}
