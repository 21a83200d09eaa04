//! Built-in detectors: what a value is, whatever its name. One table, most specific
//! prefix first; adding a provider is adding a row.

pub use crate::mode::Mode;

/// An enum of names as shown to people and in JSON: the type, `name()` and
/// `Display`, from one list of variants and their texts.
macro_rules! named {
    ($(#[$doc:meta])* $enum:ident { $($variant:ident => $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $enum {
            $($variant,)*
        }

        impl $enum {
            /// As shown to people and in JSON.
            pub fn name(self) -> &'static str {
                match self {
                    $($enum::$variant => $text,)*
                }
            }
        }

        impl std::fmt::Display for $enum {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

named! {
    /// Whose key it is.
    Provider {
        Stripe => "Stripe",
        Aws => "AWS",
        GitHub => "GitHub",
        GitLab => "GitLab",
        Slack => "Slack",
        SendGrid => "SendGrid",
        Twilio => "Twilio",
        Anthropic => "Anthropic",
        OpenAI => "OpenAI",
        Google => "Google",
        Pem => "PEM",
        Age => "age",
    }
}

named! {
    /// What kind of key it is, within its provider.
    KeyKind {
        SecretKey => "secret key",
        RestrictedKey => "restricted key",
        PublishableKey => "publishable key",
        WebhookSecret => "webhook secret",
        AccessKeyId => "access key id",
        TemporaryAccessKeyId => "temporary access key id",
        FineGrainedToken => "fine-grained token",
        PersonalAccessToken => "personal access token",
        OauthToken => "oauth token",
        UserToServerToken => "user-to-server token",
        ServerToServerToken => "server-to-server token",
        RefreshToken => "refresh token",
        BotToken => "bot token",
        UserToken => "user token",
        AppToken => "app token",
        WebhookUrl => "webhook url",
        ApiKey => "api key",
        AccountSid => "account sid",
        ApiKeySid => "api key sid",
        ProjectApiKey => "project api key",
        ServiceAccountKey => "service account key",
        PrivateKey => "private key",
        Identity => "identity",
    }
}

/// One known key format.
#[derive(Debug)]
pub struct Detector {
    /// The public prefix, shown in masked values.
    pub prefix: &'static str,
    pub provider: Provider,
    pub kind: KeyKind,
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

/// The 58 bech32 characters of an age identity, upper-case as age writes them.
fn age_identity(s: &str) -> bool {
    s.len() >= 58
        && s.bytes()
            .take(58)
            .all(|b| b"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L".contains(&b))
}

fn any(s: &str) -> bool {
    !s.is_empty()
}

macro_rules! row {
    ($prefix:expr, $provider:ident, $kind:ident, $mode:expr, $rest:expr) => {
        Detector {
            prefix: $prefix,
            provider: Provider::$provider,
            kind: KeyKind::$kind,
            mode: $mode,
            rest: $rest,
        }
    };
}

const LIVE: Option<Mode> = Some(Mode::Live);
const TEST: Option<Mode> = Some(Mode::Test);

/// Every detector, most specific prefix first.
pub static DETECTORS: &[Detector] = &[
    row!("sk_live_", Stripe, SecretKey, LIVE, stripe),
    row!("sk_test_", Stripe, SecretKey, TEST, stripe),
    row!("rk_live_", Stripe, RestrictedKey, LIVE, stripe),
    row!("rk_test_", Stripe, RestrictedKey, TEST, stripe),
    row!("pk_live_", Stripe, PublishableKey, LIVE, stripe),
    row!("pk_test_", Stripe, PublishableKey, TEST, stripe),
    row!("whsec_", Stripe, WebhookSecret, None, |s| s.len() >= 16),
    row!("AKIA", Aws, AccessKeyId, None, aws_key_id),
    row!("ASIA", Aws, TemporaryAccessKeyId, None, aws_key_id),
    row!("github_pat_", GitHub, FineGrainedToken, None, token),
    row!("ghp_", GitHub, PersonalAccessToken, None, token),
    row!("gho_", GitHub, OauthToken, None, token),
    row!("ghu_", GitHub, UserToServerToken, None, token),
    row!("ghs_", GitHub, ServerToServerToken, None, token),
    row!("ghr_", GitHub, RefreshToken, None, token),
    row!("glpat-", GitLab, PersonalAccessToken, None, |s| s.len()
        >= 20),
    row!("xoxb-", Slack, BotToken, None, token),
    row!("xoxp-", Slack, UserToken, None, token),
    row!("xapp-", Slack, AppToken, None, token),
    row!(
        "https://hooks.slack.com/services/",
        Slack,
        WebhookUrl,
        None,
        any
    ),
    row!("SG.", SendGrid, ApiKey, None, sendgrid),
    row!("AC", Twilio, AccountSid, None, hex32),
    row!("SK", Twilio, ApiKeySid, None, hex32),
    row!("sk-ant-", Anthropic, ApiKey, None, token),
    row!("sk-proj-", OpenAI, ProjectApiKey, None, token),
    row!("sk-svcacct-", OpenAI, ServiceAccountKey, None, token),
    row!("sk-", OpenAI, ApiKey, None, |s| alnum(32)(s)),
    row!("AIza", Google, ApiKey, None, google),
    row!("-----BEGIN ", Pem, PrivateKey, None, private_key),
    row!("AGE-SECRET-KEY-1", Age, Identity, None, age_identity),
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

    /// Made-up values of the right shape; none is a real key.
    const CASES: &[(&str, &str, &str, Option<Mode>)] = &[
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

    #[test]
    fn detects_each_provider() {
        for &(value, provider, kind, mode) in CASES {
            let d = detect(value).unwrap_or_else(|| panic!("not detected: {provider} {kind}"));
            assert_eq!(
                (d.provider.name(), d.kind.name(), d.mode),
                (provider, kind, mode)
            );
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
