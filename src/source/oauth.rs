//! What the cloud stores' token flows share: OAuth 2.0 form bodies, posting them,
//! and reading a token endpoint's answer. A refusal shows the OAuth error code
//! only, never the endpoint's description (which may quote what was sent).

use anyhow::Result;
use serde_json::Value;
use tokio::time::Instant;
use zeroize::Zeroizing;

use crate::error::{Failure, Kind, fail};
use crate::escape::Escaped;
use crate::secret::SecretJson;
use crate::source::http::{self, HttpError};

/// A form body, `application/x-www-form-urlencoded`.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode(&mut out, name);
        out.push('=');
        encode(&mut out, value);
    }
    out
}

fn encode(out: &mut String, text: &str) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// POSTs a form to a token endpoint; the token in `token_field` of the answer.
/// `whose` names the token in messages (`an Azure`, `a Google`).
pub async fn post_form(
    client: &reqwest::Client,
    url: &str,
    body: &Zeroizing<String>,
    deadline: Instant,
    token_field: &str,
    whose: &str,
) -> Result<Zeroizing<String>> {
    let make = || {
        client
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body.as_bytes().to_vec())
    };
    token_answer(
        http::exchange(make, crate::source::rest::RETRY, deadline).await,
        url,
        token_field,
        whose,
    )
}

/// The token of a token endpoint's answer, or what its refusal means: refused
/// credentials (`invalid_client`, `invalid_grant`, 401, 403) are 77; a 400 names
/// its OAuth error; any other status is the store family's reading of it (429:
/// throttled).
pub fn token_answer(
    answer: Result<http::Answer, HttpError>,
    url: &str,
    token_field: &str,
    whose: &str,
) -> Result<Zeroizing<String>> {
    let at = crate::source::address::shown(url);
    let answer = answer.map_err(|e| match e {
        HttpError::Unreachable(why) => Failure::new(
            Kind::Unreachable,
            format!("getting {whose} token: `{at}` {why}"),
        ),
        HttpError::Status(s) => crate::source::rest::status_failure(
            &format!("getting {whose} token"),
            &format!("`{at}`"),
            s.as_u16(),
            None,
        ),
    })?;
    let doc = SecretJson::parse(&answer.body).unwrap_or(SecretJson(Value::Null));
    if answer.status.is_success() {
        return match doc.get(token_field).and_then(Value::as_str) {
            Some(token) if !token.is_empty() => Ok(Zeroizing::new(token.to_owned())),
            _ => fail(
                Kind::Unreachable,
                format!("getting {whose} token: `{at}` answered without a token"),
            ),
        };
    }
    let code = doc
        .get("error")
        .and_then(|e| {
            e.as_str()
                .or_else(|| e.get("status").and_then(Value::as_str))
        })
        .unwrap_or("");
    let kind = match (answer.status.as_u16(), code) {
        (_, "invalid_grant" | "invalid_client" | "unauthorized_client") | (401 | 403, _) => {
            Kind::Denied
        }
        // Not a word about the credentials: throttled (429), or the endpoint failed.
        (status @ (402 | 404..), _) => {
            return Err(crate::source::rest::status_failure(
                &format!("getting {whose} token"),
                &format!("`{at}`"),
                status,
                None,
            )
            .into());
        }
        (status, _) => http::status_kind(status),
    };
    fail(
        kind,
        format!(
            "getting {whose} token: `{at}` refused the credentials ({}{})",
            answer.status.as_u16(),
            if code.is_empty() {
                String::new()
            } else {
                format!(", `{}`", Escaped(code))
            }
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_encoded() {
        assert_eq!(
            form(&[
                ("scope", "https://vault.azure.net/.default"),
                ("a b", "x&y=z")
            ]),
            "scope=https%3A%2F%2Fvault.azure.net%2F.default&a%20b=x%26y%3Dz"
        );
    }

    #[test]
    fn refusals_show_the_code_only() {
        let answer = http::Answer {
            status: reqwest::StatusCode::UNAUTHORIZED,
            body: Zeroizing::new(
                br#"{"error":"invalid_client","error_description":"secret CANARY wrong"}"#.to_vec(),
            ),
        };
        let err = token_answer(Ok(answer), "https://login.example/t", "access_token", "a")
            .err()
            .unwrap();
        assert_eq!(crate::error::exit_code(&err), 77);
        assert!(err.to_string().contains("`invalid_client`"));
        assert!(!err.to_string().contains("CANARY"));
    }

    #[test]
    fn a_throttled_token_request_is_not_refused_credentials() {
        for (status, says, code) in [
            (429, "answered 429 (too many requests)", 69),
            (503, "answered 503", 69),
        ] {
            let answer = http::Answer {
                status: reqwest::StatusCode::from_u16(status).unwrap(),
                body: Zeroizing::new(
                    br#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}"#.to_vec(),
                ),
            };
            let err = token_answer(
                Ok(answer),
                "https://oauth2.example/token",
                "access_token",
                "a Google",
            )
            .err()
            .unwrap();
            let text = err.to_string();
            assert_eq!(crate::error::exit_code(&err), code, "{text}");
            assert!(text.contains(says) && !text.contains("refused"), "{text}");
        }
    }
}
