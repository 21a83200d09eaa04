//! Vault's transport: the HTTP client with the TLS settings, one request retried
//! with jittered backoff inside the deadline, answers read up to a bound, and the
//! redirect rule that keeps the token at its origin.

use std::time::Duration;

use anyhow::Result;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::time::Instant;
use zeroize::Zeroizing;

use super::{Client, Settings};
use crate::address;
use crate::error::{Failure, Kind, chain, fail};
use crate::escape::Escaped;

/// How a request failed, before it becomes a [`Failure`] naming the path.
pub(super) enum HttpError {
    Status(StatusCode),
    Unreachable(String),
}

impl Client {
    /// One request, retried on connection errors, 429 and 5xx other than 501, with
    /// jittered exponential backoff, never past the deadline.
    pub(super) async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        deadline: Instant,
    ) -> Result<Vec<u8>, HttpError> {
        let url = format!("{}/v1/{path}", self.base);
        let mut attempt = 0;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(HttpError::Unreachable(
                    "did not answer before the deadline".into(),
                ));
            }
            let mut req = self
                .http
                .request(method.clone(), &url)
                .timeout(self.client_timeout.min(deadline - now))
                .header("X-Vault-Request", "true");
            if !self.token.is_empty() {
                req = req.header("X-Vault-Token", self.token.clone());
            }
            if let Some(ns) = &self.namespace {
                req = req.header("X-Vault-Namespace", ns.clone());
            }
            if let Some(body) = body {
                req = req.json(body);
            }
            let error = match tokio::time::timeout_at(deadline, req.send()).await {
                Err(_) => {
                    return Err(HttpError::Unreachable(
                        "did not answer before the deadline".into(),
                    ));
                }
                Ok(Ok(resp)) if resp.status().is_success() => match read_capped(resp).await {
                    Ok(bytes) => return Ok(bytes),
                    Err(Some(e)) => HttpError::Unreachable(format!(
                        "broke off its answer: {}",
                        chain(&e.without_url())
                    )),
                    Err(None) => {
                        return Err(HttpError::Unreachable(format!(
                            "answered with more than {} MiB, more than any secret; secretrun \
                             stops reading there",
                            MAX_ANSWER >> 20
                        )));
                    }
                },
                Ok(Ok(resp)) => HttpError::Status(resp.status()),
                Ok(Err(e)) if e.is_redirect() => {
                    return Err(HttpError::Unreachable(format!(
                        "redirected where secretrun will not follow: {}",
                        chain(&e.without_url())
                    )));
                }
                Ok(Err(_)) if Instant::now() >= deadline => {
                    return Err(HttpError::Unreachable(
                        "did not answer before the deadline".into(),
                    ));
                }
                Ok(Err(e)) => {
                    HttpError::Unreachable(format!("is unreachable: {}", chain(&e.without_url())))
                }
            };
            let retryable = match &error {
                HttpError::Status(s) => {
                    *s == StatusCode::TOO_MANY_REQUESTS
                        || (s.is_server_error() && *s != StatusCode::NOT_IMPLEMENTED)
                }
                HttpError::Unreachable(_) => true,
            };
            let pause = backoff(attempt);
            if !retryable || attempt >= self.max_retries || Instant::now() + pause >= deadline {
                return Err(error);
            }
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }
}

/// The most an answer may hold. A KV secret is at most a few MiB (Vault's own
/// request size limit is 32 MiB; real secrets are kilobytes): a server that sends
/// more is not read to the end, so it cannot fill the memory.
const MAX_ANSWER: usize = 16 << 20;

/// Reads an answer's body up to [`MAX_ANSWER`]: `Err(None)` past it.
async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, Option<reqwest::Error>> {
    if resp.content_length().is_some_and(|n| n > MAX_ANSWER as u64) {
        return Err(None);
    }
    let mut body = Zeroizing::new(Vec::with_capacity(
        resp.content_length().unwrap_or(0) as usize
    ));
    while let Some(chunk) = resp.chunk().await.map_err(Some)? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(None);
        }
        if body.capacity() - body.len() < chunk.len() {
            // Grow by hand, so that the smaller buffer is zeroed, not just freed.
            let mut grown = Zeroizing::new(Vec::with_capacity((body.len() + chunk.len()) * 2));
            grown.extend_from_slice(&body);
            body = grown;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(std::mem::take(&mut *body))
}

/// 100 ms doubling per attempt, up to 2 s, with full jitter so that many clients
/// retrying at once spread out.
pub fn backoff(attempt: u32) -> Duration {
    let ceiling = Duration::from_millis(100)
        .saturating_mul(1 << attempt.min(5))
        .min(Duration::from_secs(2));
    let nanos = ceiling.as_nanos() as u64;
    Duration::from_nanos(nanos / 2 + random_u64() % (nanos / 2 + 1))
}

fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    hasher.finish()
}

/// Why a redirect is not followed. The token travels in a header of every request,
/// so a redirect is followed only within the origin it was configured for (scheme,
/// host and port), at most three hops: never to another host or port, and never
/// down from https to http. Vault's standby nodes forward requests to the active
/// node themselves (request forwarding, on by default); a standby that redirects
/// instead is refused, and the message tells to point VAULT_ADDR at the active node.
fn redirect_refusal(previous: &[reqwest::Url], next: &reqwest::Url) -> Option<String> {
    let first = previous.first()?;
    if first.origin() != next.origin() {
        Some(format!(
            "a redirect to another origin (`{}`): secretrun sends the Vault token only to \
             the configured address; point VAULT_ADDR at the node that answers (a standby \
             redirects to the active node when request forwarding is off)",
            address::shown(next.as_str())
        ))
    } else if previous.len() > 3 {
        Some("too many redirects".into())
    } else {
        None
    }
}

fn config_error(what: &str, e: &dyn std::fmt::Display) -> Failure {
    Failure::new(Kind::Config, format!("{what}: {e}"))
}

/// The reqwest client with the TLS settings, and the base URL to use. With a TLS
/// server name, the URL's host becomes that name (so it is both sent as SNI and
/// verified) and the name is resolved to the configured host's address.
pub(super) fn build_http(settings: &Settings) -> Result<(reqwest::Client, String)> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::custom(
            |attempt| match redirect_refusal(attempt.previous(), attempt.url()) {
                Some(why) => attempt.error(why),
                None => attempt.follow(),
            },
        ))
        .user_agent(concat!("secretrun/", env!("CARGO_PKG_VERSION")));
    let certs = custom_roots(settings)?;
    if !certs.is_empty() {
        // A custom CA replaces the system roots, as the Vault CLI does.
        builder = builder.tls_certs_only(certs);
    } else if settings.addr.starts_with("http://") {
        // No TLS: skip loading the system's CA store, which takes milliseconds
        // (a bundle and a directory of some 150 files) on every launch.
        builder = builder.tls_certs_only(Vec::new());
    } else if let Some(bundle) = crate::source::tls::system_bundle_pem()
        .and_then(|pem| reqwest::Certificate::from_pem_bundle(&pem).ok())
    {
        builder = builder.tls_certs_only(bundle);
    }
    if let Some(identity) = client_identity(settings)? {
        builder = builder.identity(identity);
    }
    if settings.skip_verify {
        builder = builder.danger_accept_invalid_certs(true);
    }
    let mut base = settings.addr.clone();
    if let Some(name) = &settings.tls_server_name {
        let (addrs, rewritten) = server_name_override(&settings.addr, name)?;
        builder = builder.resolve_to_addrs(name, &addrs);
        base = rewritten;
    }
    let http = builder
        .build()
        .map_err(|e| config_error("building the HTTP client", &chain(&e.without_url())))?;
    Ok((http, base))
}

/// The CA certificates of VAULT_CACERT and VAULT_CAPATH (empty: the system's).
fn custom_roots(settings: &Settings) -> Result<Vec<reqwest::Certificate>> {
    let mut certs = Vec::new();
    if let Some(path) = &settings.cacert {
        let pem = std::fs::read(path).map_err(|e| {
            let shown = Escaped(&path.to_string_lossy()).to_string();
            config_error(&format!("reading VAULT_CACERT `{shown}`"), &e)
        })?;
        certs.extend(
            reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| config_error("VAULT_CACERT holds no PEM certificate", &e))?,
        );
    }
    if let Some(dir) = &settings.capath {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            let shown = Escaped(&dir.to_string_lossy()).to_string();
            config_error(&format!("reading VAULT_CAPATH `{shown}`"), &e)
        })?;
        for entry in entries.flatten() {
            if let Ok(pem) = std::fs::read(entry.path())
                && let Ok(found) = reqwest::Certificate::from_pem_bundle(&pem)
            {
                certs.extend(found);
            }
        }
    }
    Ok(certs)
}

/// The client certificate and key of VAULT_CLIENT_CERT and VAULT_CLIENT_KEY; the
/// key's bytes are zeroed once parsed.
fn client_identity(settings: &Settings) -> Result<Option<reqwest::Identity>> {
    let (cert, key) = match (&settings.client_cert, &settings.client_key) {
        (Some(cert), Some(key)) => (cert, key),
        (None, None) => return Ok(None),
        _ => {
            return fail(
                Kind::Config,
                "VAULT_CLIENT_CERT and VAULT_CLIENT_KEY go together",
            );
        }
    };
    let mut pem = std::fs::read(cert).map_err(|e| config_error("reading VAULT_CLIENT_CERT", &e))?;
    pem.push(b'\n');
    pem.extend(
        Zeroizing::new(
            std::fs::read(key).map_err(|e| config_error("reading VAULT_CLIENT_KEY", &e))?,
        )
        .iter(),
    );
    let pem = Zeroizing::new(pem);
    let identity = reqwest::Identity::from_pem(&pem)
        .map_err(|e| config_error("the Vault client certificate", &e))?;
    Ok(Some(identity))
}

/// For VAULT_TLS_SERVER_NAME: the configured host's addresses, and the base URL with
/// the name as its host.
fn server_name_override(addr: &str, name: &str) -> Result<(Vec<std::net::SocketAddr>, String)> {
    let url = reqwest::Url::parse(addr).map_err(|e| config_error("the Vault address", &e))?;
    let port = url.port_or_known_default().unwrap_or(8200);
    let host = url
        .host_str()
        .unwrap_or("")
        .trim_matches(['[', ']'])
        .to_owned();
    let addrs: Vec<std::net::SocketAddr> =
        std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
            .map_err(|e| {
                Failure::new(
                    Kind::Unreachable,
                    format!("resolving the Vault host `{}`: {e}", Escaped(&host)),
                )
            })?
            .collect();
    let mut rewritten = url.clone();
    rewritten
        .set_host(Some(name))
        .map_err(|e| config_error("VAULT_TLS_SERVER_NAME", &e))?;
    Ok((addrs, rewritten.as_str().trim_end_matches('/').to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_within_the_origin() {
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        let refused = |from: &str, to: &str| redirect_refusal(&[url(from)], &url(to)).is_some();
        assert!(refused("https://a:8200/v1/x", "http://a:8200/v1/x"));
        assert!(refused("https://a/v1/x", "https://b/v1/x"));
        assert!(refused("http://a/v1/x", "http://b/v1/x"));
        assert!(refused("http://a:8200/v1/x", "http://a:8201/v1/x"));
        assert!(!refused("http://a:8200/v1/x", "http://a:8200/v1/y"));
        assert!(!refused("https://a/v1/x", "https://a:443/v1/y"));
        let why = redirect_refusal(&[url("http://a/")], &url("http://u:PW@b/?token=T")).unwrap();
        assert!(!why.contains("PW") && !why.contains("token=T"), "{why}");
        let many = vec![url("https://a/"); 4];
        assert_eq!(
            redirect_refusal(&many, &url("https://a/x")).as_deref(),
            Some("too many redirects")
        );
    }

    #[test]
    fn backoff_grows_with_jitter_and_a_cap() {
        for attempt in 0..10 {
            let b = backoff(attempt);
            let ceiling =
                Duration::from_millis(100 * (1 << attempt.min(5))).min(Duration::from_secs(2));
            assert!(b >= ceiling / 2 && b <= ceiling, "{attempt}: {b:?}");
        }
    }
}
