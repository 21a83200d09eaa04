//! Application Default Credentials, in Google's order: the file named by
//! `GOOGLE_APPLICATION_CREDENTIALS` (a service account key, a user's refresh
//! token, or an external account: workload identity federation), then gcloud's
//! `application_default_credentials.json`, then the metadata server **only on
//! Google Cloud**: `GCE_METADATA_HOST` set, or the machine's firmware naming
//! Google (as Google's libraries check before they ever ask). Elsewhere a launch
//! without credentials fails at once saying what to set; 169.254.169.254 is never
//! waited on.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::{Value, json};
use tokio::time::Instant;
use zeroize::Zeroizing;

use super::document::{endpoint, field, google_token};
use crate::error::{Failure, Kind, fail};
use crate::escape::Escaped;
use crate::parent::ParentEnv;
use crate::secret::SecretJson;
use crate::source::http;
use crate::source::oauth;
use crate::source::rest::{
    FileOrigin::{Found, Named},
    read_credential,
};

const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
const METADATA_HOST: &str = "169.254.169.254";

/// Where a token comes from.
pub enum Credential {
    /// A credentials file, parsed; where it was, for messages.
    File {
        doc: Zeroizing<String>,
        path: PathBuf,
    },
    /// The metadata server at this host.
    Metadata { host: String },
}

impl Credential {
    pub fn find(env: ParentEnv<'_>) -> Result<Credential> {
        let var = |name: &str| env(name).filter(|v| !v.is_empty());
        if let Some(path) = var("GOOGLE_APPLICATION_CREDENTIALS") {
            let path = PathBuf::from(path);
            return Ok(Credential::File {
                doc: read_credential(&path, "GOOGLE_APPLICATION_CREDENTIALS", Named)?,
                path,
            });
        }
        let gcloud = var("CLOUDSDK_CONFIG")
            .map(PathBuf::from)
            .or_else(|| var("HOME").map(|home| Path::new(&home).join(".config/gcloud")))
            .map(|dir| dir.join("application_default_credentials.json"));
        if let Some(path) = gcloud.filter(|p| p.is_file()) {
            return Ok(Credential::File {
                doc: read_credential(&path, "gcloud's application default credentials", Found)?,
                path,
            });
        }
        if let Some(host) = var("GCE_METADATA_HOST") {
            return Ok(Credential::Metadata { host });
        }
        if on_google_cloud() {
            return Ok(Credential::Metadata {
                host: METADATA_HOST.to_owned(),
            });
        }
        fail(
            Kind::Config,
            "no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service account \
             key or workload identity federation file, or run `gcloud auth \
             application-default login`, or run on Google Cloud",
        )
    }

    /// An access token for the cloud-platform scope.
    pub async fn token(
        &self,
        client: &reqwest::Client,
        deadline: Instant,
    ) -> Result<Zeroizing<String>> {
        match self {
            Credential::Metadata { host } => metadata_token(client, host, deadline).await,
            Credential::File { doc, path } => {
                let shown = Escaped(&path.to_string_lossy()).to_string();
                let doc = SecretJson::parse(doc.as_bytes())
                    .map_err(|_| Failure::new(Kind::Config, format!("`{shown}` is not JSON")))?;
                // The document is zeroed when dropped, whatever the outcome.
                match doc.get("type").and_then(Value::as_str) {
                    Some("service_account") => {
                        service_account(client, &doc, &shown, deadline).await
                    }
                    Some("authorized_user") => {
                        authorized_user(client, &doc, &shown, deadline).await
                    }
                    Some("external_account") => {
                        super::federation::exchange(client, &doc, &shown, deadline).await
                    }
                    other => fail(
                        Kind::Config,
                        format!(
                            "`{shown}`: credentials of type `{}` are not supported \
                             (service_account, authorized_user, external_account are)",
                            Escaped(other.unwrap_or("none"))
                        ),
                    ),
                }
            }
        }
    }
}

/// Whether this machine is a Google Cloud VM: its firmware says so (what Google's
/// libraries read on Linux before they ask the metadata server).
fn on_google_cloud() -> bool {
    let says = |field: &str| crate::source::rest::firmware(field).contains("google");
    says("product_name") || says("bios_vendor")
}

/// The token endpoint a credentials file names, else Google's.
fn token_uri<'a>(doc: &'a Value, shown: &str) -> Result<&'a str> {
    endpoint(
        doc.get("token_uri")
            .and_then(Value::as_str)
            .unwrap_or(GOOGLE_TOKEN_URI),
        shown,
    )
}

/// The service account's JWT bearer grant: a JWT signed with its key, exchanged at
/// its `token_uri`.
async fn service_account(
    client: &reqwest::Client,
    doc: &Value,
    shown: &str,
    deadline: Instant,
) -> Result<Zeroizing<String>> {
    let email = field(doc, "client_email", shown)?;
    let key = field(doc, "private_key", shown)?;
    let token_uri = token_uri(doc, shown)?;
    let signer = crate::source::jwt::Signer::from_pem(key)
        .map_err(|why| Failure::new(Kind::Config, format!("`{shown}`: {why}")))?;
    let now = crate::timestamp::now();
    let mut header = json!({ "alg": "RS256", "typ": "JWT" });
    if let Some(kid) = doc.get("private_key_id").and_then(Value::as_str) {
        header["kid"] = json!(kid);
    }
    let claims = json!({
        "iss": email,
        "scope": SCOPE,
        "aud": token_uri,
        "iat": now,
        "exp": now + 3600,
    });
    let assertion = signer.sign(&header, &claims);
    let body = Zeroizing::new(format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={}",
        assertion.as_str()
    ));
    google_token(client, token_uri, &body, deadline).await
}

/// A user's refresh token (gcloud's application default login).
async fn authorized_user(
    client: &reqwest::Client,
    doc: &Value,
    shown: &str,
    deadline: Instant,
) -> Result<Zeroizing<String>> {
    let token_uri = token_uri(doc, shown)?;
    let body = Zeroizing::new(oauth::form(&[
        ("grant_type", "refresh_token"),
        ("client_id", field(doc, "client_id", shown)?),
        ("client_secret", field(doc, "client_secret", shown)?),
        ("refresh_token", field(doc, "refresh_token", shown)?),
    ]));
    google_token(client, token_uri, &body, deadline).await
}

/// The metadata server's token for the VM's service account.
async fn metadata_token(
    client: &reqwest::Client,
    host: &str,
    deadline: Instant,
) -> Result<Zeroizing<String>> {
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
    {
        return fail(Kind::Config, "GCE_METADATA_HOST is not a host[:port]");
    }
    let url = format!("http://{host}/computeMetadata/v1/instance/service-accounts/default/token");
    let make = || client.get(&url).header("Metadata-Flavor", "Google");
    let answer = http::exchange(make, crate::source::rest::RETRY, deadline).await;
    oauth::token_answer(answer, &url, "access_token", "a Google")
}
