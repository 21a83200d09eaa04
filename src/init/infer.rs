//! What a value's shape says its format is, for the schema `init` writes: a
//! provider's key by its kind, a Django secret key, a database, Redis or web URL, a
//! boolean, a port, a number, an email address, a PEM key, a JWT. A format is kept
//! only when every value seen passes its check.

use crate::detectors::{KeyKind, Provider, detect};
use crate::validate::formats::Format;

/// The format a value's shape suggests, by its schema name.
pub fn format_of(name: &str, value: &str) -> Option<(Format, &'static str)> {
    let upper = name.to_ascii_uppercase();
    if let Some(d) = detect(value) {
        return match (d.provider, d.kind) {
            (Provider::Stripe, KeyKind::SecretKey | KeyKind::RestrictedKey) => {
                Some((Format::StripeSecretKey, "stripe-secret-key"))
            }
            (Provider::Stripe, KeyKind::PublishableKey) => {
                Some((Format::StripePublishableKey, "stripe-publishable-key"))
            }
            (Provider::Stripe, KeyKind::WebhookSecret) => {
                Some((Format::StripeWebhookSecret, "stripe-webhook-secret"))
            }
            (Provider::Aws, _) => Some((Format::AwsAccessKeyId, "aws-access-key-id")),
            (Provider::Pem, _) => Some((Format::PemPrivateKey, "pem-private-key")),
            _ => None,
        };
    }
    if value.starts_with("-----BEGIN") {
        return Some((Format::PemPrivateKey, "pem-private-key"));
    }
    let scheme = value.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some(
            "postgres" | "postgresql" | "pgsql" | "mysql" | "mariadb" | "sqlite" | "oracle"
            | "mssql" | "cockroachdb",
        ) => {
            return Some((Format::DatabaseUrl, "database-url"));
        }
        Some("redis" | "rediss") => return Some((Format::RedisUrl, "redis-url")),
        Some("http" | "https") => return Some((Format::Url, "url")),
        _ => {}
    }
    if upper.contains("SECRET_KEY") && Format::DjangoSecretKey.check(value).is_ok() {
        return Some((Format::DjangoSecretKey, "django-secret-key"));
    }
    if matches!(
        value.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off"
    ) {
        return Some((Format::Bool, "bool"));
    }
    if upper.ends_with("PORT") && Format::Port.check(value).is_ok() {
        return Some((Format::Port, "port"));
    }
    if value.parse::<i64>().is_ok() {
        return Some((Format::Int, "int"));
    }
    if Format::Number.check(value).is_ok() && value.contains('.') {
        return Some((Format::Number, "number"));
    }
    if Format::Jwt.check(value).is_ok() {
        return Some((Format::Jwt, "jwt"));
    }
    if !value.contains("://") && Format::Email.check(value).is_ok() {
        return Some((Format::Email, "email"));
    }
    None
}

/// The format every value fits, if the first value's shape suggests one they all
/// pass.
pub fn format_of_all(name: &str, values: &[&str]) -> Option<&'static str> {
    let (format, text) = format_of(name, values.first()?)?;
    values
        .iter()
        .all(|v| format.check(v).is_ok())
        .then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_name_their_formats() {
        for (name, value, format) in [
            (
                "STRIPE_SECRET_KEY",
                "sk_live_0123456789abcdefghijklmn",
                Some("stripe-secret-key"),
            ),
            (
                "STRIPE_PUBLISHABLE_KEY",
                "pk_test_0123456789abcdefghijklmn",
                Some("stripe-publishable-key"),
            ),
            (
                "STRIPE_WEBHOOK_SECRET",
                "whsec_0123456789abcdefghijklmn",
                Some("stripe-webhook-secret"),
            ),
            (
                "DATABASE_URL",
                "postgres://app:pw@db/app",
                Some("database-url"),
            ),
            ("DATABASE_URL", "sqlite:///:memory:", Some("database-url")),
            ("CACHE_URL", "redis://cache:6379/0", Some("redis-url")),
            ("SITE_URL", "https://example.com", Some("url")),
            ("DEBUG", "False", Some("bool")),
            ("PORT", "8000", Some("port")),
            ("WORKERS", "4", Some("int")),
            ("RATE", "0.25", Some("number")),
            ("ADMIN_EMAIL", "ops@example.com", Some("email")),
            (
                "SECRET_KEY",
                "k3j4h5g6f7d8s9a0q1w2e3r4t5y6u7i8o9p0z1x2c3v4b5n6m7",
                Some("django-secret-key"),
            ),
            ("ALLOWED_HOSTS", "localhost,127.0.0.1", None),
        ] {
            let found = format_of(name, value);
            assert_eq!(found.map(|f| f.1), format, "{name}");
            // The name written is the one the schema reads.
            if let Some((format, text)) = found {
                assert_eq!(format.name(), text);
            }
        }
        // Kept only when every value passes.
        assert_eq!(format_of_all("PORT", &["8000", "80"]), Some("port"));
        assert_eq!(format_of_all("N", &["4", "four"]), None);
    }
}
