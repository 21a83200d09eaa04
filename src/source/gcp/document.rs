//! What a Google credentials file's readers share: its fields, the endpoints it
//! names, and Google's token endpoint (the service account's and the federation's
//! exchanges both end there).

use anyhow::Result;
use serde_json::Value;
use tokio::time::Instant;
use zeroize::Zeroizing;

use crate::error::{Failure, Kind, fail};
use crate::source::oauth;

/// A field of a credentials file, or an error naming it.
pub fn field<'a>(doc: &'a Value, name: &str, shown: &str) -> Result<&'a str> {
    doc.get(name)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Failure::new(Kind::Config, format!("`{shown}` has no `{name}`")).into())
}

/// A token endpoint a credentials file names: https, or http on loopback (a test
/// server). The file is the user's own (named by their environment).
pub fn endpoint<'a>(url: &'a str, shown: &str) -> Result<&'a str> {
    if crate::source::address::is_https_or_loopback(url) {
        Ok(url)
    } else {
        fail(
            Kind::Config,
            format!(
                "`{shown}` names the endpoint `{}`, which is not https://",
                crate::source::address::shown(url)
            ),
        )
    }
}

/// A Google token endpoint's `access_token` for this form.
pub async fn google_token(
    client: &reqwest::Client,
    url: &str,
    body: &Zeroizing<String>,
    deadline: Instant,
) -> Result<Zeroizing<String>> {
    oauth::post_form(client, url, body, deadline, "access_token", "a Google").await
}
