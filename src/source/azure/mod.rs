//! Azure Key Vault over its REST API (`GET /secrets/{name}/{version}`), on the
//! shared HTTP policy: a token from the platform's credential chain
//! ([`credential`]), reads of every reference at once with a bound on those in
//! flight, throttling answered by waiting for `Retry-After` inside the deadline.
//! The token travels only in a header marked sensitive, and only to a vault host
//! of Azure's Key Vault domains or an origin the user trusts; nothing follows a
//! redirect.

mod credential;

use std::collections::HashMap;

use anyhow::{Context, Result};
use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::HeaderValue;
use serde_json::Value;
use tokio::time::Instant;
use zeroize::Zeroizing;

use crate::error::{Failure, Kind, fail};
use crate::escape::Escaped;
use crate::parent::ParentEnv;
use crate::secret::SecretJson;
use crate::secret::{Dates, Version};
use crate::source::http::{self, HttpError, Roots};
use crate::source::reference::{Answer, Fetched, RemoteRef};

use credential::Credential;

/// The Key Vault REST API version asked for.
const API_VERSION: &str = "7.5";

/// Reads in flight at once, per store: Key Vault throttles a vault at some
/// thousands of reads per 10 s, and a launch needs no more than this.
use crate::source::rest::{self, IN_FLIGHT};

/// Key Vault's DNS suffixes, by cloud, with the resource a token is asked for.
const CLOUDS: &[(&str, &str)] = &[
    (".vault.azure.net", "https://vault.azure.net"),
    (".vault.azure.cn", "https://vault.azure.cn"),
    (
        ".vault.usgovcloudapi.net",
        "https://vault.usgovcloudapi.net",
    ),
    (
        ".vault.microsoftazure.de",
        "https://vault.microsoftazure.de",
    ),
];

/// Where a vault is, and which token it takes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Vault {
    /// `https://my-vault.vault.azure.net` (no path).
    base: String,
    /// The token's resource: `https://vault.azure.net` for the public cloud.
    resource: &'static str,
}

/// The vault a reference names: a name (`my-vault`, in the public cloud), a host
/// in Key Vault's domains, or any other origin the user trusts in
/// SECRETRUN_TRUSTED_ORIGINS (a reference is a project's text: it may not send the
/// user's token anywhere else).
fn vault_of(r: &RemoteRef, trusted: Option<&str>) -> Result<Vault> {
    let vault = r.path.split('/').next().unwrap_or("").to_ascii_lowercase();
    if !vault.contains(['.', ':']) {
        return Ok(Vault {
            base: format!("https://{vault}.vault.azure.net"),
            resource: CLOUDS[0].1,
        });
    }
    let host = vault.split(':').next().unwrap_or("");
    if let Some((_, resource)) = CLOUDS.iter().find(|(suffix, _)| host.ends_with(suffix)) {
        return Ok(Vault {
            base: format!("https://{vault}"),
            resource,
        });
    }
    for scheme in ["https", "http"] {
        let base = format!("{scheme}://{vault}");
        if crate::source::address::is_trusted(&base, trusted) {
            return Ok(Vault {
                base,
                resource: CLOUDS[0].1,
            });
        }
    }
    fail(
        Kind::Config,
        format!(
            "`{r}`: `{}` is not in Azure Key Vault's domains (*.vault.azure.net and the \
             sovereign clouds'), and your Azure token goes only there; if this vault is \
             yours, trust it in your environment: {}",
            Escaped(&vault),
            crate::source::address::trust_hint(&format!("https://{vault}"))
        ),
    )
}

/// Reads every reference: a token for each cloud they are in, then the secrets.
pub async fn fetch(
    env: ParentEnv<'_>,
    refs: &[&RemoteRef],
    deadline: Instant,
) -> Result<Vec<Result<Answer>>> {
    // A failure here (no credential, no token) is every reference's: it names them.
    let (client, vaults) =
        Client::connect(env, refs, deadline)
            .await
            .with_context(|| match refs {
                [one] => format!("reading `{one}`"),
                [first, others @ ..] => format!("reading `{first}` and {} more", others.len()),
                [] => "reading from Azure Key Vault".to_owned(),
            })?;
    Ok(client.read_all(refs, vaults, deadline).await)
}

/// A Key Vault client with a token for each cloud its references are in.
struct Client {
    http: reqwest::Client,
    retry: http::Retry,
    tokens: HashMap<&'static str, HeaderValue>,
}

impl Client {
    /// Finds the vaults of the references, and gets a token for each of their
    /// clouds. A reference whose vault is refused fails alone.
    async fn connect(
        env: ParentEnv<'_>,
        refs: &[&RemoteRef],
        deadline: Instant,
    ) -> Result<(Client, Vec<Result<Vault>>)> {
        let trusted = env("SECRETRUN_TRUSTED_ORIGINS");
        let vaults: Vec<Result<Vault>> = refs
            .iter()
            .map(|r| vault_of(r, trusted.as_deref()))
            .collect();
        let credential = Credential::find(env)?;
        let http = http::builder(Roots::System(http::cert_file(env)))
            .build()
            .map_err(|e| Failure::new(Kind::Config, format!("building the HTTP client: {e}")))?;
        let retry = rest::RETRY;
        let mut resources: Vec<&'static str> =
            vaults.iter().flatten().map(|v| v.resource).collect();
        resources.sort();
        resources.dedup();
        let got = futures_util::future::join_all(
            resources
                .iter()
                .map(|resource| credential.token(&http, resource, deadline)),
        )
        .await;
        let mut tokens = HashMap::new();
        for (resource, token) in resources.into_iter().zip(got) {
            tokens.insert(resource, bearer(&token?)?);
        }
        Ok((
            Client {
                http,
                retry,
                tokens,
            },
            vaults,
        ))
    }

    /// Reads every reference, at most [`IN_FLIGHT`] at once, in the order given.
    async fn read_all(
        &self,
        refs: &[&RemoteRef],
        vaults: Vec<Result<Vault>>,
        deadline: Instant,
    ) -> Vec<Result<Answer>> {
        futures_util::stream::iter(refs.iter().zip(vaults))
            .map(|(r, vault)| async move { self.read(r, &vault?, deadline).await })
            .buffered(IN_FLIGHT)
            .collect()
            .await
    }

    async fn read(&self, r: &RemoteRef, vault: &Vault, deadline: Instant) -> Result<Answer> {
        let name = r.path.split_once('/').map_or("", |(_, name)| name);
        let version = r.version_id.as_deref().unwrap_or("");
        let url = format!(
            "{}/secrets/{name}/{version}?api-version={API_VERSION}",
            vault.base
        );
        let token = &self.tokens[vault.resource];
        let make = || {
            self.http
                .get(&url)
                .header(reqwest::header::AUTHORIZATION, token.clone())
        };
        let shown = Escaped(&vault.base).to_string();
        let answer = http::exchange(make, self.retry, deadline)
            .await
            .map_err(|e| match e {
                HttpError::Unreachable(why) => rest::unreachable_failure(
                    &format!("reading `{r}`"),
                    &why,
                    rest::Unanswered {
                        service: &format!("Key Vault at `{shown}`"),
                        address: "the vault's name in the reference",
                        ca: "SSL_CERT_FILE",
                    },
                ),
                HttpError::Status(s) => status_failure(r, &shown, s, &[]),
            })?;
        if !answer.status.is_success() {
            return Err(status_failure(r, &shown, answer.status, &answer.body).into());
        }
        into_answer(r, &answer.body)
    }
}

/// A token as the header that carries it, marked sensitive.
fn bearer(token: &Zeroizing<String>) -> Result<HeaderValue> {
    rest::credential_header(Some("Bearer"), token).ok_or_else(|| {
        Failure::new(
            Kind::Unreachable,
            "the Azure token is not a valid header value",
        )
        .into()
    })
}

/// What an unwanted status means. Key Vault answers a disabled secret with 403 and
/// the inner code `SecretDisabled`: that is the secret's state, not a refusal.
fn status_failure(r: &RemoteRef, shown: &str, status: StatusCode, body: &[u8]) -> Failure {
    let doc = SecretJson::parse(body).unwrap_or(SecretJson(Value::Null));
    let code = |pointer: &str| doc.pointer(pointer).and_then(Value::as_str).unwrap_or("");
    let disabled = code("/error/innererror/code") == "SecretDisabled"
        || code("/error/code") == "SecretDisabled";
    let at = format!("Key Vault at `{shown}`");
    let version = r
        .version_id
        .as_deref()
        .map(|v| format!(" version `{}`", Escaped(v)))
        .unwrap_or_default();
    match status.as_u16() {
        403 if disabled => Failure::new(
            Kind::Config,
            format!("reading `{r}`: the secret{version} is disabled on {at}"),
        ),
        code => rest::status_failure(
            &format!("reading `{r}`{version}"),
            &at,
            code,
            Some(
                "the identity needs the `get` permission on the vault's secrets (an access policy, or the role Key Vault Secrets User)",
            ),
        ),
    }
}

/// A secret bundle: its value (a JSON object is expanded like every store's), when
/// it was created and when it expires (`attributes.created`, `attributes.exp`).
fn into_answer(r: &RemoteRef, body: &[u8]) -> Result<Answer> {
    let mut doc = SecretJson::parse(body).map_err(|_| {
        Failure::new(
            Kind::Unreachable,
            format!("reading `{r}`: Key Vault's answer is not JSON"),
        )
    })?;
    let at = |pointer: &str| doc.pointer(pointer).and_then(Value::as_i64);
    let dates = Dates {
        created: at("/attributes/created"),
        expires: at("/attributes/exp"),
        leased: None,
        // `id` is `{vault}/secrets/{name}/{version}`.
        version: doc
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| id.rsplit_once('/'))
            .and_then(|(_, version)| Version::new(version)),
    };
    match doc.get_mut("value").map(Value::take) {
        Some(Value::String(text)) => Ok(Answer {
            fetched: Fetched::from_text(text),
            dates,
            lease: None,
        }),
        _ => fail(
            Kind::Unreachable,
            format!("reading `{r}`: Key Vault's answer has no value"),
        ),
    }
}

#[cfg(test)]
mod tests {

    /// Key Vault's answer, taken apart into a variable and dropped, leaves no value
    /// in freed memory. (A JSON object arrives escaped inside `value`: serde_json
    /// unescapes it in a buffer of its own, which the process's allocator zeroes;
    /// tests/it/memory.rs reads that from outside.)
    #[test]
    fn an_answer_leaves_no_value_in_freed_memory() {
        use crate::freed::{MARK, count};
        use crate::source::reference::to_vars;
        let body = format!(r#"{{"value":"{MARK}-plain","attributes":{{"created":1}}}}"#);
        let leaked = count(|| {
            let answer = into_answer(&r("azure-kv://v/app?as=P"), body.as_bytes()).unwrap();
            drop(to_vars(&r("azure-kv://v/app?as=P"), &answer.fetched, None));
        });
        assert_eq!(leaked, 0);
    }
    use super::*;

    fn r(text: &str) -> RemoteRef {
        RemoteRef::parse(text).unwrap().unwrap()
    }

    #[test]
    fn vaults_by_name_by_host_and_by_trust_only() {
        let v = vault_of(&r("azure-kv://my-vault/db"), None).unwrap();
        assert_eq!(v.base, "https://my-vault.vault.azure.net");
        assert_eq!(v.resource, "https://vault.azure.net");
        let v = vault_of(&r("azure-kv://my-vault.vault.azure.cn/db"), None).unwrap();
        assert_eq!(v.base, "https://my-vault.vault.azure.cn");
        assert_eq!(v.resource, "https://vault.azure.cn");
        for host in [
            "evil.example",
            "my-vault.vault.azure.net.evil.example",
            "127.0.0.1:8443",
        ] {
            let err = vault_of(&r(&format!("azure-kv://{host}/db")), None).unwrap_err();
            assert_eq!(crate::error::exit_code(&err), 78, "{host}");
            assert!(
                err.to_string().contains("SECRETRUN_TRUSTED_ORIGINS"),
                "{err}"
            );
        }
        let v = vault_of(
            &r("azure-kv://127.0.0.1:8443/db"),
            Some("http://127.0.0.1:8443"),
        )
        .unwrap();
        assert_eq!(v.base, "http://127.0.0.1:8443");
    }

    #[test]
    fn a_disabled_secret_is_its_state_not_a_refusal() {
        let body = br#"{"error":{"code":"Forbidden","message":"Operation get is not allowed on a disabled secret.","innererror":{"code":"SecretDisabled"}}}"#;
        let f = status_failure(
            &r("azure-kv://v/db"),
            "https://v",
            StatusCode::FORBIDDEN,
            body,
        );
        assert!(f.to_string().contains("disabled"), "{f}");
        assert_eq!(crate::error::exit_code(&f.into()), 78);
        let f = status_failure(
            &r("azure-kv://v/db"),
            "https://v",
            StatusCode::FORBIDDEN,
            b"",
        );
        assert_eq!(crate::error::exit_code(&f.into()), 77);
    }
}
