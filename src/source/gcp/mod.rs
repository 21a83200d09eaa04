//! Google Secret Manager over its REST API
//! (`GET /v1/projects/P/secrets/S/versions/V:access`), on the shared HTTP policy:
//! a token from Application Default Credentials ([`credential`]), reads of every
//! reference at once with a bound on those in flight, throttling waited out
//! inside the deadline, and every payload checked against its CRC32C.

mod credential;
mod document;
mod federation;

use anyhow::Result;
use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::HeaderValue;
use serde_json::Value;
use tokio::time::Instant;
use zeroize::Zeroizing;

use crate::error::{Failure, Kind, fail};
use crate::parent::ParentEnv;
use crate::secret::{Dates, SecretJson, SecretValue, Version};
use crate::source::http::{self, HttpError, Roots};
use crate::source::reference::{Answer, Fetched, RemoteRef};
use crate::source::rest::{self, IN_FLIGHT, RETRY};

use credential::Credential;

/// Secret Manager's endpoint.
const ENDPOINT: &str = "https://secretmanager.googleapis.com";

/// Reads every reference: one token, then the versions.
pub async fn fetch(
    env: ParentEnv<'_>,
    refs: &[&RemoteRef],
    deadline: Instant,
) -> Result<Vec<Result<Answer>>> {
    let endpoint = endpoint(env)?;
    let credential = Credential::find(env)?;
    let client = http::builder(Roots::System(http::cert_file(env)))
        .build()
        .map_err(|e| Failure::new(Kind::Config, format!("building the HTTP client: {e}")))?;
    let token = credential.token(&client, deadline).await?;
    let bearer = rest::credential_header(Some("Bearer"), &token).ok_or_else(|| {
        Failure::new(
            Kind::Unreachable,
            "the Google token is not a valid header value",
        )
    })?;
    let reader = Reader {
        client,
        endpoint,
        bearer,
    };
    Ok(futures_util::stream::iter(refs)
        .map(|r| reader.access(r, deadline))
        .buffered(IN_FLIGHT)
        .collect()
        .await)
}

/// `SECRETRUN_GCP_ENDPOINT` (the user's own setting: a regional endpoint, a
/// private one, a test server), else Google's.
fn endpoint(env: ParentEnv<'_>) -> Result<String> {
    let Some(set) = env("SECRETRUN_GCP_ENDPOINT").filter(|v| !v.is_empty()) else {
        return Ok(ENDPOINT.to_owned());
    };
    if crate::source::address::origin(&set).is_none() || crate::source::address::has_extras(&set) {
        return fail(
            Kind::Config,
            format!(
                "SECRETRUN_GCP_ENDPOINT `{}` is not an http(s) address",
                crate::source::address::shown(&set)
            ),
        );
    }
    Ok(set.trim_end_matches('/').to_owned())
}

struct Reader {
    client: reqwest::Client,
    endpoint: String,
    bearer: HeaderValue,
}

impl Reader {
    async fn access(&self, r: &RemoteRef, deadline: Instant) -> Result<Answer> {
        let (project, secret) = r.path.split_once('/').unwrap_or(("", ""));
        let version = r.version.map_or("latest".to_owned(), |v| v.to_string());
        let url = format!(
            "{}/v1/projects/{project}/secrets/{secret}/versions/{version}:access",
            self.endpoint
        );
        let make = || {
            self.client
                .get(&url)
                .header(reqwest::header::AUTHORIZATION, self.bearer.clone())
        };
        let answer = http::exchange(make, RETRY, deadline)
            .await
            .map_err(|e| match e {
                HttpError::Unreachable(why) => rest::unreachable_failure(
                    &format!("reading `{r}`"),
                    &why,
                    rest::Unanswered {
                        service: &format!(
                            "Secret Manager at `{}`",
                            crate::source::address::shown(&self.endpoint)
                        ),
                        address: "the way out to Google (a proxy, a firewall)",
                        ca: "SSL_CERT_FILE",
                    },
                ),
                HttpError::Status(s) => status_failure(r, &version, s, &[]),
            })?;
        if !answer.status.is_success() {
            return Err(status_failure(r, &version, answer.status, &answer.body).into());
        }
        into_answer(r, &answer.body)
    }
}

/// What an unwanted status means. A disabled or destroyed version is answered
/// with 400 `FAILED_PRECONDITION`: the version's state, named.
fn status_failure(r: &RemoteRef, version: &str, status: StatusCode, body: &[u8]) -> Failure {
    let doc = SecretJson::parse(body).unwrap_or(SecretJson(Value::Null));
    let said = |pointer: &str| doc.pointer(pointer).and_then(Value::as_str).unwrap_or("");
    let state = said("/error/message");
    match status.as_u16() {
        400 if said("/error/status") == "FAILED_PRECONDITION" => {
            let which = if state.contains("DESTROYED") {
                "destroyed"
            } else {
                "disabled"
            };
            Failure::new(
                Kind::Config,
                format!("reading `{r}`: version `{version}` is {which} on Secret Manager"),
            )
        }
        code => rest::status_failure(
            &format!("reading `{r}` version `{version}`"),
            "Secret Manager",
            code,
            Some(
                "the identity needs `secretmanager.versions.access` on the secret (the role Secret Manager Secret Accessor)",
            ),
        ),
    }
}

/// An access answer: `payload.data` (base64), checked against `payload.dataCrc32c`
/// when the server sent one, then taken as text (a JSON object is expanded like
/// every store's).
fn into_answer(r: &RemoteRef, body: &[u8]) -> Result<Answer> {
    use base64::Engine;
    let doc = SecretJson::parse(body).map_err(|_| {
        Failure::new(
            Kind::Unreachable,
            format!("reading `{r}`: Secret Manager's answer is not JSON"),
        )
    })?;
    let data = doc
        .pointer("/payload/data")
        .and_then(Value::as_str)
        .unwrap_or("");
    let bytes = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|_| {
                Failure::new(
                    Kind::Unreachable,
                    format!("reading `{r}`: the payload is not base64"),
                )
            })?,
    );
    if let Some(sent) = doc.pointer("/payload/dataCrc32c") {
        // An int64 in JSON is a string.
        let sent = sent
            .as_str()
            .and_then(|s| s.parse::<u64>().ok())
            .or_else(|| sent.as_u64());
        if sent != Some(u64::from(crc32c(&bytes))) {
            return fail(
                Kind::Unreachable,
                format!(
                    "reading `{r}`: the payload does not match its CRC32C checksum (damaged \
                     on the way); nothing was used"
                ),
            );
        }
    }
    let text = String::from_utf8(bytes.to_vec()).map_err(|e| {
        drop(SecretValue::new(
            String::from_utf8_lossy(e.as_bytes()).into_owned(),
        ));
        Failure::new(
            Kind::Config,
            format!("reading `{r}`: the payload is not UTF-8 text"),
        )
    })?;
    // `name` is `projects/{p}/secrets/{s}/versions/{number}`.
    let version = doc
        .get("name")
        .and_then(Value::as_str)
        .and_then(|name| name.rsplit_once("/versions/"))
        .and_then(|(_, number)| Version::new(number));
    Ok(Answer {
        fetched: Fetched::from_text(text),
        dates: Dates {
            version,
            ..Dates::default()
        },
        lease: None,
    })
}

/// CRC-32C (Castagnoli), as Secret Manager checksums payloads.
pub fn crc32c(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0x82F6_3B78
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    !bytes.iter().fold(!0u32, |crc, &b| {
        TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8)
    })
}

#[cfg(test)]
mod tests {

    /// Secret Manager's answer (base64), taken apart into variables and dropped,
    /// leaves no value in freed memory.
    #[test]
    fn an_answer_leaves_no_value_in_freed_memory() {
        use crate::freed::{MARK, count};
        use crate::source::reference::to_vars;
        use base64::Engine;
        let payload = base64::engine::general_purpose::STANDARD
            .encode(format!(r#"{{"A":"{MARK}-a","N":7}}"#));
        let body = format!(r#"{{"name":"x","payload":{{"data":"{payload}"}}}}"#);
        let leaked = count(|| {
            let answer = into_answer(&r("gcp-sm://p/app"), body.as_bytes()).unwrap();
            drop(to_vars(&r("gcp-sm://p/app"), &answer.fetched, None));
        });
        assert_eq!(leaked, 0);
    }
    use super::*;

    #[test]
    fn crc32c_of_the_check_string() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
    }

    fn r(text: &str) -> RemoteRef {
        RemoteRef::parse(text).unwrap().unwrap()
    }

    #[test]
    fn references_short_and_long() {
        let short = r("gcp-sm://my-project/stripe?version=7#secret_key");
        assert_eq!(
            (short.path.as_str(), short.version),
            ("my-project/stripe", Some(7))
        );
        let long = r("gcp-sm://projects/my-project/secrets/app/versions/latest");
        assert_eq!((long.path.as_str(), long.version), ("my-project/app", None));
        let pinned = r("gcp-sm://projects/p-1/secrets/db_pw/versions/3");
        assert_eq!(pinned.version, Some(3));
        for bad in [
            "gcp-sm://My-Project/s",
            "gcp-sm://p/s/x",
            "gcp-sm://p/s.x",
            "gcp-sm://p/s?version=new",
            "gcp-sm://projects/p/secrets/s/versions/x",
        ] {
            assert!(RemoteRef::parse(bad).unwrap().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_damaged_payload_is_refused() {
        use base64::Engine;
        let data = base64::engine::general_purpose::STANDARD.encode("hunter2-value");
        let good = format!(
            r#"{{"payload":{{"data":"{data}","dataCrc32c":"{}"}}}}"#,
            crc32c(b"hunter2-value")
        );
        assert!(into_answer(&r("gcp-sm://p/s"), good.as_bytes()).is_ok());
        let bad = format!(r#"{{"payload":{{"data":"{data}","dataCrc32c":"12345"}}}}"#);
        let err = into_answer(&r("gcp-sm://p/s"), bad.as_bytes())
            .err()
            .unwrap();
        assert_eq!(crate::error::exit_code(&err), 69);
        assert!(!err.to_string().contains("hunter2"));
    }
}
