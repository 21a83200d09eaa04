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

/// How hard a store's read is tried (Key Vault's, Secret Manager's): three attempts
/// after the first, ten seconds each at most, inside the launch's one deadline.
pub const READ_RETRY: Retry = Retry {
    max_retries: 3,
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
}
