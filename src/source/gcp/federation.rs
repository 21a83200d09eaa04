//! Workload identity federation (`"type": "external_account"`): a token the
//! platform gives (a file, as Kubernetes and GitHub Actions write it, or a URL)
//! exchanged at Google's STS for an access token, then, when the file says so,
//! for a service account's token by impersonation. Executable and AWS-sourced
//! credentials are refused, saying so.

use anyhow::Result;
use serde_json::{Value, json};
use tokio::time::Instant;
use zeroize::Zeroizing;

use super::document::{endpoint, field, google_token};
use crate::error::{Failure, Kind, fail};
use crate::escape::Escaped;
use crate::secret::SecretJson;
use crate::source::http;
use crate::source::oauth::{self, form};
use crate::source::rest::RETRY;

pub async fn exchange(
    client: &reqwest::Client,
    doc: &Value,
    shown: &str,
    deadline: Instant,
) -> Result<Zeroizing<String>> {
    let subject = subject_token(client, doc, shown, deadline).await?;
    let token_url = endpoint(field(doc, "token_url", shown)?, shown)?;
    let body = Zeroizing::new(form(&[
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        ("audience", field(doc, "audience", shown)?),
        ("scope", "https://www.googleapis.com/auth/cloud-platform"),
        (
            "requested_token_type",
            "urn:ietf:params:oauth:token-type:access_token",
        ),
        ("subject_token", &subject),
        (
            "subject_token_type",
            field(doc, "subject_token_type", shown)?,
        ),
    ]));
    let federated = google_token(client, token_url, &body, deadline).await?;
    let Some(url) = doc
        .get("service_account_impersonation_url")
        .and_then(Value::as_str)
    else {
        return Ok(federated);
    };
    let url = endpoint(url, shown)?;
    let bearer =
        crate::source::rest::credential_header(Some("Bearer"), &federated).ok_or_else(|| {
            Failure::new(
                Kind::Unreachable,
                "the STS token is not a valid header value",
            )
        })?;
    let body =
        json!({ "scope": ["https://www.googleapis.com/auth/cloud-platform"], "lifetime": "3600s" });
    let make = || {
        client
            .post(url)
            .header(reqwest::header::AUTHORIZATION, bearer.clone())
            .json(&body)
    };
    let answer = http::exchange(make, RETRY, deadline).await;
    oauth::token_answer(answer, url, "accessToken", "a Google")
}

/// The platform's token, from `credential_source`: a file or a URL, as text or as a
/// field of a JSON object.
async fn subject_token(
    client: &reqwest::Client,
    doc: &Value,
    shown: &str,
    deadline: Instant,
) -> Result<Zeroizing<String>> {
    let source = doc.get("credential_source").unwrap_or(&Value::Null);
    let raw = if let Some(file) = source.get("file").and_then(Value::as_str) {
        let bytes =
            crate::encrypted::read_regular_file(std::path::Path::new(file)).map_err(|e| {
                Failure::new(
                    Kind::Config,
                    format!(
                        "`{shown}`: reading its credential source `{}`: {e}",
                        Escaped(file)
                    ),
                )
            })?;
        Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned())
    } else if let Some(url) = source.get("url").and_then(Value::as_str) {
        let headers = source.get("headers").and_then(Value::as_object);
        let make = || {
            let mut request = client.get(url);
            for (name, value) in headers.into_iter().flatten() {
                if let Some(value) = value.as_str() {
                    request = request.header(name.as_str(), value);
                }
            }
            request
        };
        let answer = http::exchange(make, RETRY, deadline).await.map_err(|_| {
            Failure::new(
                Kind::Unreachable,
                format!("`{shown}`: its credential source URL did not answer"),
            )
        })?;
        if !answer.status.is_success() {
            return fail(
                Kind::Unreachable,
                format!(
                    "`{shown}`: its credential source URL answered {}",
                    answer.status.as_u16()
                ),
            );
        }
        Zeroizing::new(String::from_utf8_lossy(&answer.body).into_owned())
    } else {
        let kind = if source.get("executable").is_some() {
            "an executable"
        } else if source.get("environment_id").is_some() {
            "AWS"
        } else {
            "no file or URL"
        };
        return fail(
            Kind::Config,
            format!(
                "`{shown}`: its credential source is {kind}; secretrun reads a file or a URL \
                 (it runs no program a credentials file names)"
            ),
        );
    };
    subject_of(&raw, source, shown)
}

/// The subject token in what the source gave: the text itself, or a field of a
/// JSON object when the source's format says so.
fn subject_of(raw: &str, source: &Value, shown: &str) -> Result<Zeroizing<String>> {
    let format = source.pointer("/format/type").and_then(Value::as_str);
    if format == Some("json") {
        let name = source
            .pointer("/format/subject_token_field_name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let parsed = SecretJson::parse(raw.as_bytes()).unwrap_or(SecretJson(Value::Null));
        return match parsed.get(name).and_then(Value::as_str) {
            Some(token) => Ok(Zeroizing::new(token.to_owned())),
            None => fail(
                Kind::Config,
                format!(
                    "`{shown}`: its credential source has no field `{}`",
                    Escaped(name)
                ),
            ),
        };
    }
    Ok(Zeroizing::new(raw.trim().to_owned()))
}
