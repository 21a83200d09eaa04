//! What the stores share beyond the HTTP policy of [`super::http`]: the header that
//! carries a credential, how hard a store's read is tried and how many are in flight,
//! the runtime a fetch runs on, and what the machine's firmware says about the cloud
//! it runs on. What stays in each store is its protocol: paths, bodies, the meaning
//! of its statuses, its credentials' sources.

use std::path::Path;
use std::time::Duration;

use reqwest::header::HeaderValue;
use zeroize::Zeroizing;

use super::http::Retry;
use crate::error::{Failure, Kind};
use crate::escape::Escaped;

/// How hard every request to a store is tried (a read, a token, a probe): two
/// attempts after the first, as the AWS SDK's standard mode and Vault's
/// `VAULT_MAX_RETRIES` do by default, ten seconds each at most, all inside the
/// launch's one deadline. Vault's settings may change both for Vault.
pub const RETRY: Retry = Retry {
    max_retries: 2,
    per_attempt: Duration::from_secs(10),
};

/// Reads in flight at once, per store: a launch needs no more, and the stores'
/// quotas are per minute.
pub const IN_FLIGHT: usize = 32;

/// The header that carries a credential: `Bearer TOKEN` when `scheme` is
/// `Some("Bearer")`, else the token as it is. Marked sensitive, so that no debug
/// output of the HTTP client shows it; built in memory of exactly its size, zeroed
/// after. `None` when the text cannot be a header value (a control character).
pub fn credential_header(scheme: Option<&str>, token: &str) -> Option<HeaderValue> {
    let prefix = scheme.map_or(0, |s| s.len() + 1);
    let mut text = Zeroizing::new(String::with_capacity(prefix + token.len()));
    if let Some(scheme) = scheme {
        text.push_str(scheme);
        text.push(' ');
    }
    text.push_str(token);
    let mut value = HeaderValue::from_str(&text).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// Where a credentials file came from: named by the user (a pipe works, as
/// `<(command)` gives one), or found where a tool leaves it (a regular file only: a
/// FIFO planted there would hold the launch).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FileOrigin {
    Named,
    Found,
}

/// A credential from a file (a token, a secret id, a credentials document): read
/// with the bound every file secretrun reads has, UTF-8, its line end trimmed, in
/// memory zeroed when dropped. `what` names it in the error, never its text.
pub fn read_credential(
    path: &Path,
    what: &str,
    origin: FileOrigin,
) -> anyhow::Result<Zeroizing<String>> {
    let failed = |e: String| {
        Failure::new(
            Kind::Config,
            format!(
                "reading {what} from `{}`: {e}",
                Escaped(&path.to_string_lossy())
            ),
        )
    };
    let bytes = match origin {
        FileOrigin::Named => crate::encrypted::read_file(path),
        FileOrigin::Found => crate::encrypted::read_regular_file(path),
    }
    .map_err(|e| failed(crate::encrypted::read_failure(&e)))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| failed("not UTF-8 text".into()))?;
    Ok(Zeroizing::new(
        text.trim_end_matches(['\n', '\r']).to_owned(),
    ))
}

/// What to do about a store that was still throttling the launch at its deadline.
pub const THROTTLED_HINT: &str = "the store limits how many requests it takes a second: the \
     launch waited as long as its deadline allowed (`--timeout` gives a fleet starting at once \
     longer)";

/// What a store's unwanted status says, in the words every store uses: `WHAT:
/// SERVICE refused access (403)` (denied, with `grant` as the hint: what the
/// identity needs), `WHAT: not found on SERVICE`, else `WHAT: SERVICE answered
/// CODE` (unreachable when the server is busy or failing, else a configuration
/// problem). A store names what only it knows before it comes here: a disabled
/// secret, a destroyed version.
pub fn status_failure(what: &str, service: &str, status: u16, grant: Option<&str>) -> Failure {
    match status {
        401 | 403 => {
            let failure = Failure::new(
                Kind::Denied,
                format!("{what}: {service} refused access ({status})"),
            );
            match grant {
                Some(grant) => failure.with_hint(grant),
                None => failure,
            }
        }
        404 => Failure::new(Kind::Config, format!("{what}: not found on {service}")),
        429 => Failure::new(
            Kind::Unreachable,
            format!("{what}: {service} answered 429 (too many requests)"),
        )
        .with_hint(THROTTLED_HINT),
        code => Failure::new(
            super::http::status_kind(code),
            format!("{what}: {service} answered {code}"),
        ),
    }
}

/// Who did not answer: the store (`Vault at `…``), what sets its address, and
/// what names the CA its certificate is checked against.
pub struct Unanswered<'a> {
    pub service: &'a str,
    pub address: &'a str,
    pub ca: &'a str,
}

/// A store that did not answer, in the words every store uses (`WHAT: SERVICE
/// WHY`), with what to check: the CA setting when the server's certificate was not
/// trusted, else what sets the address and the time the launch gives it.
pub fn unreachable_failure(what: &str, why: &str, to: Unanswered<'_>) -> Failure {
    let Unanswered {
        service,
        address,
        ca,
    } = to;
    let hint = if why.contains("certificate") {
        format!(
            "the server's certificate is not trusted here: {ca} names a file with the CA that signed it"
        )
    } else {
        format!(
            "check {address} and that the server is up; a slow server gets longer with `--timeout 30s`"
        )
    };
    Failure::new(Kind::Unreachable, format!("{what}: {service} {why}")).with_hint(hint)
}

/// The runtime a fetch runs on: one thread (the caller's), timers and sockets.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// What the machine's firmware says of itself (`/sys/class/dmi/id/FIELD`, read
/// without any request), in lower case; empty when the kernel does not say. How the
/// vendors' own libraries tell their cloud's machines before they ask a metadata
/// service that nobody answers elsewhere.
pub fn firmware(field: &str) -> String {
    std::fs::read_to_string(format!("/sys/class/dmi/id/{field}"))
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_header_is_sensitive_and_refuses_control_characters() {
        let bearer = credential_header(Some("Bearer"), "tok").unwrap();
        assert_eq!(bearer.to_str().unwrap(), "Bearer tok");
        assert!(bearer.is_sensitive());
        let raw = credential_header(None, "s.token").unwrap();
        assert_eq!(raw.to_str().unwrap(), "s.token");
        assert!(raw.is_sensitive());
        assert!(credential_header(Some("Bearer"), "a\nb").is_none());
    }

    #[test]
    fn an_untrusted_certificate_points_at_the_ca_setting_else_at_the_address() {
        let to = || Unanswered {
            service: "Vault at `v`",
            address: "VAULT_ADDR",
            ca: "VAULT_CACERT",
        };
        let tls = unreachable_failure(
            "reading `x`",
            "is unreachable: invalid peer certificate",
            to(),
        );
        assert_eq!(tls.kind, Kind::Unreachable);
        assert_eq!(
            tls.to_string(),
            "reading `x`: Vault at `v` is unreachable: invalid peer certificate"
        );
        assert!(tls.hint().unwrap().contains("VAULT_CACERT names"));
        let down = unreachable_failure("reading `x`", "is unreachable: connection refused", to());
        assert!(down.hint().unwrap().starts_with("check VAULT_ADDR"));
    }

    #[test]
    fn statuses_read_the_same_for_every_store() {
        let denied = status_failure("reading `x`", "Vault at `v`", 403, Some("grant it"));
        assert_eq!(denied.kind, Kind::Denied);
        assert_eq!(
            denied.to_string(),
            "reading `x`: Vault at `v` refused access (403)"
        );
        assert_eq!(denied.hint(), Some("grant it"));
        let missing = status_failure("reading `x`", "Vault at `v`", 404, Some("grant it"));
        assert_eq!(missing.kind, Kind::Config);
        assert_eq!(
            missing.to_string(),
            "reading `x`: not found on Vault at `v`"
        );
        assert_eq!(missing.hint(), None);
        let busy = status_failure("reading `x`", "Vault at `v`", 503, None);
        assert_eq!(busy.kind, Kind::Unreachable);
        assert_eq!(busy.to_string(), "reading `x`: Vault at `v` answered 503");
        let throttled = status_failure("reading `x`", "Vault at `v`", 429, None);
        assert_eq!(throttled.kind, Kind::Unreachable);
        assert!(throttled.hint().unwrap().contains("--timeout"));
        let wrong = status_failure("reading `x`", "Vault at `v`", 400, None);
        assert_eq!(wrong.kind, Kind::Config);
    }
}
