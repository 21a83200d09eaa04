//! One HTTP policy for every store and for `check --probe`: the system's trust
//! roots (read once, the same way everywhere), the client's common settings, one
//! request retried with jittered backoff inside the deadline, answers read up to a
//! bound, what an HTTP status means for the exit code, and the words of those
//! failures. Each store keeps only its protocol: paths, headers, bodies.
//!
//! The default root loaders read the distribution's CA bundle and then every file of
//! `/etc/ssl/certs` (some 150 files: bench/README.md); where the distribution
//! keeps one bundle file, reading just that file gives the same roots.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::StatusCode;
use tokio::time::Instant;
use zeroize::Zeroizing;

use crate::error::{Kind, chain};
use crate::parent::ParentEnv;

/// The words for a request the deadline cut short, in every message that says so.
pub const LATE: &str = "did not answer before the deadline";

/// The most an answer may hold. A secret is at most a few MiB (Vault's own request
/// size limit is 32 MiB; real secrets are kilobytes): a server that sends more is
/// not read to the end, so it cannot fill the memory.
pub const MAX_ANSWER: usize = 16 << 20;

/// Where distributions keep their bundle of trusted roots.
const BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Where the parent's environment says the CA bundle is (`SSL_CERT_FILE`, as
/// OpenSSL reads it), if it says.
pub fn cert_file(env: ParentEnv<'_>) -> Option<PathBuf> {
    env("SSL_CERT_FILE")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

/// The PEM text of the system's CA bundle (`cert_file` first, then the
/// distributions' places), read once a process, or `None` where there is no bundle
/// file and the default loader must do.
pub fn system_roots_pem(cert_file: Option<&Path>) -> Option<&'static [u8]> {
    static PEM: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    PEM.get_or_init(|| {
        cert_file
            .map(Path::to_path_buf)
            .into_iter()
            .chain(BUNDLES.iter().map(PathBuf::from))
            .find(|p| p.is_file())
            .and_then(|path| std::fs::read(path).ok())
            .filter(|pem| pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----"))
    })
    .as_deref()
}

/// What trusts a server's certificate.
pub enum Roots {
    /// The system's bundle, from the file [`cert_file`] names if any.
    System(Option<PathBuf>),
    /// These certificates only (a store's own CA setting).
    Only(Vec<reqwest::Certificate>),
    /// None: the address is plain `http://`, so loading roots would be wasted time.
    Plain,
}

impl Roots {
    /// The system's roots for an `https://` address; none for a plain `http://` one.
    pub fn for_address(address: &str, cert_file: Option<PathBuf>) -> Roots {
        if address.starts_with("http://") {
            Roots::Plain
        } else {
            Roots::System(cert_file)
        }
    }
}

/// A client builder with what every client of secretrun shares: its user agent,
/// its trust roots, and no redirects unless the store sets its own rule.
pub fn builder(roots: Roots) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder()
        .user_agent(concat!("secretrun/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none());
    match roots {
        Roots::Only(certs) => builder.tls_certs_only(certs),
        Roots::Plain => builder.tls_certs_only(Vec::new()),
        Roots::System(cert_file) => match system_roots_pem(cert_file.as_deref())
            .and_then(|pem| reqwest::Certificate::from_pem_bundle(pem).ok())
        {
            Some(bundle) => builder.tls_certs_only(bundle),
            None => builder,
        },
    }
}

/// The exit kind an unwanted HTTP status stands for: refused credentials are
/// "denied", a busy or failing server "unreachable" (it may answer later), anything
/// else a configuration problem (a wrong path, a wrong request).
pub fn status_kind(status: u16) -> Kind {
    match status {
        401 | 403 => Kind::Denied,
        429 | 500.. => Kind::Unreachable,
        _ => Kind::Config,
    }
}

/// How one request failed, before a store turns it into a failure naming its secret.
#[derive(Debug)]
pub enum HttpError {
    /// The server answered with this unwanted status.
    Status(StatusCode),
    /// No usable answer: the words say why (after "the server …").
    Unreachable(String),
}

impl HttpError {
    /// Worth asking again: no answer, a throttling answer, or a server error that
    /// may pass (not 501, which says the server never will).
    fn retryable(&self) -> bool {
        match self {
            HttpError::Status(s) => {
                *s == StatusCode::TOO_MANY_REQUESTS
                    || (s.is_server_error() && *s != StatusCode::NOT_IMPLEMENTED)
            }
            HttpError::Unreachable(_) => true,
        }
    }
}

/// How hard to try one request.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    /// Attempts after the first.
    pub max_retries: u32,
    /// The most one attempt may take (the deadline may cut it shorter).
    pub per_attempt: Duration,
}

/// Sends the request `make` builds, again on a retryable failure after a jittered
/// backoff, never past the deadline, and reads a successful answer up to
/// [`MAX_ANSWER`]. The body comes back in a buffer that zeroes itself when dropped.
pub async fn send(
    make: impl Fn() -> reqwest::RequestBuilder,
    retry: Retry,
    deadline: Instant,
) -> Result<Zeroizing<Vec<u8>>, HttpError> {
    let answer = exchange(make, retry, deadline).await?;
    if answer.status.is_success() {
        Ok(answer.body)
    } else {
        Err(HttpError::Status(answer.status))
    }
}

/// An answer: its status and body (for a store whose error bodies say more than
/// the status: which secret is disabled).
pub struct Answer {
    pub status: StatusCode,
    pub body: Zeroizing<Vec<u8>>,
}

/// Throttling answers (429) a request may get and still be sent again, besides the
/// [`Retry`]'s other retries: a store that throttles a fleet starting at once is
/// asked again until the deadline, but not more than 12 times plus twice for each
/// second the launch has left when the request is first sent. A throttled request
/// waits half a second or more on average ([`crate::jitter::throttled_wait`]), so
/// the count cuts only an unlucky tail; a count that did not grow with the deadline
/// would end a request the deadline still has room for, and a fleet given a longer
/// `--timeout` to get through would not get through.
pub fn throttled_retries(deadline: Instant) -> u32 {
    let left = deadline.saturating_duration_since(Instant::now()).as_secs();
    u32::try_from(left.saturating_mul(2))
        .unwrap_or(u32::MAX)
        .saturating_add(12)
}

/// How long a request throttled `throttled` times already waits before it is sent
/// again: the store's `Retry-After` plus full jitter ([`crate::jitter::throttled_wait`]),
/// ending before the deadline. `None` when it is not sent again: `limit` reached,
/// or even the `Retry-After` would pass the deadline (the throttling is then the
/// answer, at once).
pub fn throttled_pause(
    throttled: u32,
    limit: u32,
    retry_after: Option<Duration>,
    deadline: Instant,
) -> Option<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    let told = retry_after.unwrap_or_default();
    (throttled < limit)
        .then(|| crate::jitter::throttled_wait(told, throttled, left))
        .flatten()
}

/// As [`send`], but an unwanted status that is not retried (or no longer) comes
/// back as an answer with its body.
///
/// A throttling answer (429) is asked again after its `Retry-After` (seconds) plus
/// a random part of the backoff (full jitter: a fleet told to come back in a second
/// does not come back in one wave), up to [`throttled_retries`] times, while the
/// deadline allows; when the wait would pass the deadline, the 429 is the answer at
/// once, and it is the answer too when a request sent again is still unanswered
/// at the deadline. Other retryable failures get the [`Retry`]'s retries.
pub async fn exchange(
    make: impl Fn() -> reqwest::RequestBuilder,
    retry: Retry,
    deadline: Instant,
) -> Result<Answer, HttpError> {
    let mut attempt = 0;
    let mut throttled = 0;
    let limit = throttled_retries(deadline);
    // Out of time: a request still throttled when the deadline came was throttled,
    // whatever its last try was doing; the 429 is the answer that names the cause.
    let late = |throttled| match throttled {
        0 => Err(HttpError::Unreachable(LATE.into())),
        _ => Ok(Answer {
            status: StatusCode::TOO_MANY_REQUESTS,
            body: Zeroizing::default(),
        }),
    };
    loop {
        let now = Instant::now();
        if now >= deadline {
            return late(throttled);
        }
        let request = make().timeout(retry.per_attempt.min(deadline - now));
        let mut wait = None;
        let error = match tokio::time::timeout_at(deadline, request.send()).await {
            Err(_) => return late(throttled),
            Ok(Ok(resp)) if resp.status() == StatusCode::TOO_MANY_REQUESTS => {
                let told = retry_after(&resp);
                let Some(pause) = throttled_pause(throttled, limit, told, deadline) else {
                    return read_answer(resp).await;
                };
                drop(resp);
                tokio::time::sleep(pause).await;
                throttled += 1;
                continue;
            }
            Ok(Ok(resp)) => {
                let status = resp.status();
                let failed = HttpError::Status(status);
                if status.is_success() || !failed.retryable() || attempt >= retry.max_retries {
                    return read_answer(resp).await;
                }
                wait = retry_after(&resp);
                failed
            }
            Ok(Err(e)) if e.is_redirect() => {
                return Err(HttpError::Unreachable(format!(
                    "redirected where secretrun will not follow: {}",
                    chain(&e.without_url())
                )));
            }
            Ok(Err(_)) if Instant::now() >= deadline => return late(throttled),
            Ok(Err(e)) => {
                HttpError::Unreachable(format!("is unreachable: {}", chain(&e.without_url())))
            }
        };
        let pause = crate::jitter::backoff(attempt).max(wait.unwrap_or_default());
        if !error.retryable() || attempt >= retry.max_retries || Instant::now() + pause >= deadline
        {
            return Err(error);
        }
        tokio::time::sleep(pause).await;
        attempt += 1;
    }
}

/// A throttling answer's `Retry-After`, in seconds (the HTTP-date form is not
/// used by the stores); at most a minute.
fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let text = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    let seconds: u64 = text.trim().parse().ok()?;
    Some(Duration::from_secs(seconds.min(60)))
}

/// Reads an answer of any status, its body capped.
async fn read_answer(resp: reqwest::Response) -> Result<Answer, HttpError> {
    let status = resp.status();
    match read_capped(resp).await {
        Ok(body) => Ok(Answer { status, body }),
        // The body of an unwanted status is a courtesy: its status is the answer.
        Err(_) if !status.is_success() => Ok(Answer {
            status,
            body: Zeroizing::new(Vec::new()),
        }),
        Err(Some(e)) => Err(HttpError::Unreachable(format!(
            "broke off its answer: {}",
            chain(&e.without_url())
        ))),
        Err(None) => Err(HttpError::Unreachable(format!(
            "answered with more than {} MiB, more than any secret; secretrun stops reading \
             there",
            MAX_ANSWER >> 20
        ))),
    }
}

/// Reads an answer's body up to [`MAX_ANSWER`]: `Err(None)` past it.
async fn read_capped(
    mut resp: reqwest::Response,
) -> Result<Zeroizing<Vec<u8>>, Option<reqwest::Error>> {
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
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttled_retries_grow_with_the_time_left() {
        let after = |seconds: u64| Instant::now() + Duration::from_millis(seconds * 1000 + 500);
        assert_eq!(throttled_retries(Instant::now()), 12);
        assert_eq!(throttled_retries(after(10)), 32);
        assert_eq!(throttled_retries(after(35)), 82);
    }

    #[test]
    fn statuses_map_to_exit_kinds() {
        assert_eq!(status_kind(401), Kind::Denied);
        assert_eq!(status_kind(403), Kind::Denied);
        assert_eq!(status_kind(429), Kind::Unreachable);
        assert_eq!(status_kind(500), Kind::Unreachable);
        assert_eq!(status_kind(501), Kind::Unreachable);
        assert_eq!(status_kind(404), Kind::Config);
        assert_eq!(status_kind(400), Kind::Config);
    }

    #[test]
    fn what_is_retried() {
        let status = |s: u16| HttpError::Status(StatusCode::from_u16(s).unwrap()).retryable();
        assert!(status(429) && status(500) && status(503));
        assert!(!status(501) && !status(404) && !status(403) && !status(400));
        assert!(HttpError::Unreachable("x".into()).retryable());
    }
}
