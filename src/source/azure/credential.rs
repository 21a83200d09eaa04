//! Azure's credential chain, as the platform's own libraries order it: a service
//! principal from the environment (client secret), workload identity (AKS's
//! federated token file), App Service's managed identity, the VM metadata
//! endpoint **only on an Azure VM**, then the Azure CLI's login where `az` is
//! installed. Off Azure, with none of them, a launch fails at once saying what
//! to set: it never waits on 169.254.169.254.

use std::path::PathBuf;

use anyhow::Result;
use serde_json::Value;
use tokio::time::Instant;
use zeroize::Zeroizing;

use crate::error::{Failure, Kind, fail};
use crate::escape::Escaped;
use crate::parent::ParentEnv;
use crate::secret::SecretJson;
use crate::source::http;
use crate::source::oauth;

const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";

/// The VM metadata service's token endpoint.
const IMDS: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// The asset tag every Azure VM's firmware reports (what Azure's own agents check).
const AZURE_ASSET_TAG: &str = "7783-7084-3265-9085-8269-3286-77";

/// How secretrun gets a token.
pub enum Credential {
    /// `AZURE_CLIENT_SECRET`: the client-credentials grant.
    Secret {
        authority: String,
        tenant: String,
        client_id: String,
        secret: Zeroizing<String>,
    },
    /// `AZURE_CLIENT_CERTIFICATE_PATH`: a client assertion signed with the
    /// certificate's key (a PEM file holding both).
    Certificate {
        authority: String,
        tenant: String,
        client_id: String,
        file: PathBuf,
    },
    /// `AZURE_FEDERATED_TOKEN_FILE`: the file's token as the client assertion.
    Federated {
        authority: String,
        tenant: String,
        client_id: String,
        file: PathBuf,
    },
    /// App Service and Functions: `IDENTITY_ENDPOINT` with `IDENTITY_HEADER`.
    AppService {
        endpoint: String,
        header: Zeroizing<String>,
        client_id: Option<String>,
    },
    /// The VM's metadata service.
    Imds { client_id: Option<String> },
    /// `az account get-access-token`.
    Cli,
}

/// What to set, when nothing is.
const WHAT_TO_SET: &str = "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or \
     AZURE_CLIENT_CERTIFICATE_PATH (a service principal), or AZURE_FEDERATED_TOKEN_FILE with the tenant and client ids \
     (workload identity), run on Azure with a managed identity, or log in with `az login`";

impl Credential {
    /// The first credential the environment offers.
    pub fn find(env: ParentEnv<'_>) -> Result<Credential> {
        let var = |name: &str| env(name).filter(|v| !v.is_empty());
        let principal = || principal(env);
        if let Some(secret) = var("AZURE_CLIENT_SECRET") {
            let (authority, tenant, client_id) = principal()?;
            return Ok(Credential::Secret {
                authority,
                tenant,
                client_id,
                secret: Zeroizing::new(secret),
            });
        }
        if let Some(file) = var("AZURE_CLIENT_CERTIFICATE_PATH") {
            if var("AZURE_CLIENT_CERTIFICATE_PASSWORD").is_some() {
                return fail(
                    Kind::Config,
                    "AZURE_CLIENT_CERTIFICATE_PASSWORD is set: secretrun reads an unencrypted \
                     PEM file holding the certificate and its key, not a PKCS #12 (.pfx) file; \
                     convert it with `openssl pkcs12 -in cert.pfx -nodes -out cert.pem`",
                );
            }
            let (authority, tenant, client_id) = principal()?;
            return Ok(Credential::Certificate {
                authority,
                tenant,
                client_id,
                file: PathBuf::from(file),
            });
        }
        if let Some(file) = var("AZURE_FEDERATED_TOKEN_FILE") {
            let (authority, tenant, client_id) = principal()?;
            return Ok(Credential::Federated {
                authority,
                tenant,
                client_id,
                file: PathBuf::from(file),
            });
        }
        if let (Some(endpoint), Some(header)) = (var("IDENTITY_ENDPOINT"), var("IDENTITY_HEADER")) {
            return Ok(Credential::AppService {
                endpoint,
                header: Zeroizing::new(header),
                client_id: var("AZURE_CLIENT_ID"),
            });
        }
        if on_azure_vm() {
            return Ok(Credential::Imds {
                client_id: var("AZURE_CLIENT_ID"),
            });
        }
        if let Some(path) = var("PATH")
            && std::env::split_paths(&path).any(|dir| dir.join("az").is_file())
        {
            return Ok(Credential::Cli);
        }
        fail(Kind::Config, format!("no Azure credentials: {WHAT_TO_SET}"))
    }

    /// A token for `resource` (`https://vault.azure.net`).
    pub async fn token(
        &self,
        client: &reqwest::Client,
        resource: &str,
        deadline: Instant,
    ) -> Result<Zeroizing<String>> {
        let scope = format!("{resource}/.default");
        match self {
            Credential::Secret {
                authority,
                tenant,
                client_id,
                secret,
            } => {
                let url = format!("{authority}/{tenant}/oauth2/v2.0/token");
                let proof = [("client_secret", secret.as_str())];
                entra(client, &url, client_id, &proof, &scope, deadline).await
            }
            Credential::Certificate {
                authority,
                tenant,
                client_id,
                file,
            } => {
                let url = format!("{authority}/{tenant}/oauth2/v2.0/token");
                let assertion = certificate_assertion(file, client_id, &url)?;
                let proof = [
                    ("client_assertion_type", JWT_BEARER),
                    ("client_assertion", assertion.as_str()),
                ];
                entra(client, &url, client_id, &proof, &scope, deadline).await
            }
            Credential::Federated {
                authority,
                tenant,
                client_id,
                file,
            } => {
                let url = format!("{authority}/{tenant}/oauth2/v2.0/token");
                let assertion = read_token_file(file)?;
                let proof = [
                    ("client_assertion_type", JWT_BEARER),
                    ("client_assertion", assertion.as_str()),
                ];
                entra(client, &url, client_id, &proof, &scope, deadline).await
            }
            Credential::AppService {
                endpoint,
                header,
                client_id,
            } => {
                let id = client_id.as_deref();
                app_service_token(client, endpoint, header, id, resource, deadline).await
            }
            Credential::Imds { client_id } => {
                imds_token(client, client_id.as_deref(), resource, deadline).await
            }
            Credential::Cli => cli_token(resource, deadline).await,
        }
    }
}

/// App Service's and Functions' managed identity: the token endpoint and secret
/// header the platform sets (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`).
async fn app_service_token(
    client: &reqwest::Client,
    endpoint: &str,
    header: &str,
    client_id: Option<&str>,
    resource: &str,
    deadline: Instant,
) -> Result<Zeroizing<String>> {
    let url = identity_url(endpoint, "2019-08-01", resource, client_id);
    let value = crate::source::rest::credential_header(None, header)
        .ok_or_else(|| Failure::new(Kind::Config, "IDENTITY_HEADER is not a valid header value"))?;
    let make = || client.get(&url).header("X-IDENTITY-HEADER", value.clone());
    let answer = http::exchange(make, crate::source::rest::RETRY, deadline).await;
    oauth::token_answer(answer, endpoint, "access_token", "a managed identity")
}

/// A managed identity's token URL: the API version, the resource, and the user-
/// assigned identity's client id when one is named.
fn identity_url(endpoint: &str, version: &str, resource: &str, client_id: Option<&str>) -> String {
    let mut query = vec![("api-version", version), ("resource", resource)];
    if let Some(id) = client_id {
        query.push(("client_id", id));
    }
    format!("{endpoint}?{}", oauth::form(&query))
}

/// A VM's managed identity, from the instance metadata service.
async fn imds_token(
    client: &reqwest::Client,
    client_id: Option<&str>,
    resource: &str,
    deadline: Instant,
) -> Result<Zeroizing<String>> {
    let url = identity_url(IMDS, "2018-02-01", resource, client_id);
    let make = || client.get(&url).header("Metadata", "true");
    let answer = http::exchange(make, crate::source::rest::RETRY, deadline).await;
    oauth::token_answer(answer, IMDS, "access_token", "a managed identity")
}

/// How a client assertion is named in the form.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The client-credentials grant at Microsoft Entra's token endpoint, with this
/// proof of the client (its secret, or an assertion).
async fn entra(
    client: &reqwest::Client,
    url: &str,
    client_id: &str,
    proof: &[(&str, &str)],
    scope: &str,
    deadline: Instant,
) -> Result<Zeroizing<String>> {
    let mut fields = vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
    ];
    fields.extend_from_slice(proof);
    fields.push(("scope", scope));
    let body = Zeroizing::new(oauth::form(&fields));
    oauth::post_form(client, url, &body, deadline, "access_token", "an Azure").await
}

/// A service principal's authority, tenant and client id, from the environment.
fn principal(env: ParentEnv<'_>) -> Result<(String, String, String)> {
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    let tenant = var("AZURE_TENANT_ID").ok_or_else(|| {
        Failure::new(
            Kind::Config,
            "AZURE_TENANT_ID is not set (with AZURE_CLIENT_ID)",
        )
    })?;
    if !tenant
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
    {
        return fail(Kind::Config, "AZURE_TENANT_ID is not a tenant id or domain");
    }
    let client_id = var("AZURE_CLIENT_ID").ok_or_else(|| {
        Failure::new(
            Kind::Config,
            "AZURE_CLIENT_ID is not set (with AZURE_TENANT_ID)",
        )
    })?;
    Ok((authority(env)?, tenant, client_id))
}

/// `AZURE_AUTHORITY_HOST`, else the public cloud's. https only, but for loopback.
fn authority(env: ParentEnv<'_>) -> Result<String> {
    let host = env("AZURE_AUTHORITY_HOST")
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_AUTHORITY.to_owned());
    let host = host.trim_end_matches('/').to_owned();
    if crate::source::address::is_https_or_loopback(&host) {
        Ok(host)
    } else {
        fail(
            Kind::Config,
            format!(
                "AZURE_AUTHORITY_HOST `{}` is not an https:// address",
                crate::source::address::shown(&host)
            ),
        )
    }
}

/// Whether this machine is an Azure VM: its firmware says so. Reading two small
/// files, no request.
fn on_azure_vm() -> bool {
    crate::source::rest::firmware("chassis_asset_tag") == AZURE_ASSET_TAG
}

/// The federated token, read as it is now (the platform rotates the file).
fn read_token_file(file: &std::path::Path) -> Result<Zeroizing<String>> {
    use crate::source::rest::{FileOrigin, read_credential};
    let text = read_credential(file, "AZURE_FEDERATED_TOKEN_FILE", FileOrigin::Named)?;
    Ok(Zeroizing::new(text.trim().to_owned()))
}

/// The client assertion of a certificate credential: a JWT for the token endpoint,
/// signed with the certificate's key, naming the certificate by its thumbprints.
fn certificate_assertion(
    file: &std::path::Path,
    client_id: &str,
    audience: &str,
) -> Result<Zeroizing<String>> {
    let shown = Escaped(&file.to_string_lossy()).to_string();
    let bytes = crate::encrypted::read_regular_file(file).map_err(|e| {
        Failure::new(
            Kind::Config,
            format!("reading AZURE_CLIENT_CERTIFICATE_PATH `{shown}`: {e}"),
        )
    })?;
    let pem = Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned());
    let bad = |why: &str| {
        Failure::new(
            Kind::Config,
            format!("AZURE_CLIENT_CERTIFICATE_PATH `{shown}`: {why}"),
        )
    };
    let cert = crate::source::jwt::pem_der(&pem, "CERTIFICATE")
        .ok_or_else(|| bad("it holds no certificate (PEM)"))?;
    let signer = crate::source::jwt::Signer::from_pem(&pem).map_err(bad)?;
    use sha1::Digest as _;
    let header = serde_json::json!({
        "alg": "RS256",
        "typ": "JWT",
        "x5t": crate::source::jwt::b64url(&sha1::Sha1::digest(&cert)),
        "x5t#S256": crate::source::jwt::b64url(&sha2::Sha256::digest(&cert)),
    });
    let now = crate::timestamp::now();
    let claims = serde_json::json!({
        "aud": audience,
        "iss": client_id,
        "sub": client_id,
        "jti": format!("{:016x}{:016x}", crate::jitter::random_u64(), crate::jitter::random_u64()),
        "nbf": now,
        "iat": now,
        "exp": now + 600,
    });
    Ok(signer.sign(&header, &claims))
}

/// The Azure CLI's token: `az account get-access-token`, run on a blocking thread
/// under the deadline.
async fn cli_token(resource: &str, deadline: Instant) -> Result<Zeroizing<String>> {
    let resource = resource.to_owned();
    let run = tokio::task::spawn_blocking(move || {
        std::process::Command::new("az")
            .args([
                "account",
                "get-access-token",
                "--output",
                "json",
                "--resource",
            ])
            .arg(&resource)
            .stdin(std::process::Stdio::null())
            .output()
    });
    let output = match tokio::time::timeout_at(deadline, run).await {
        Err(_) => {
            return fail(
                Kind::Unreachable,
                "`az account get-access-token` did not finish before the deadline",
            );
        }
        Ok(Err(_)) => {
            return fail(
                Kind::Unreachable,
                "`az account get-access-token` could not be run",
            );
        }
        Ok(Ok(Err(e))) => {
            return fail(Kind::Config, format!("running `az`: {e}"));
        }
        Ok(Ok(Ok(output))) => output,
    };
    let stdout = Zeroizing::new(output.stdout);
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        let first = said.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return fail(
            Kind::Denied,
            format!(
                "`az account get-access-token` failed ({}); run `az login`: {}",
                output.status,
                Escaped(first.trim())
            ),
        );
    }
    let doc = SecretJson::parse(&stdout).unwrap_or(SecretJson(Value::Null));
    match doc.get("accessToken").and_then(Value::as_str) {
        Some(token) if !token.is_empty() => Ok(Zeroizing::new(token.to_owned())),
        _ => fail(
            Kind::Unreachable,
            "`az account get-access-token` answered without a token",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authority_is_https_but_for_loopback() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(authority(&env(&[])).unwrap(), DEFAULT_AUTHORITY);
        let sovereign = env(&[("AZURE_AUTHORITY_HOST", "https://login.chinacloudapi.cn/")]);
        assert_eq!(
            authority(&sovereign).unwrap(),
            "https://login.chinacloudapi.cn"
        );
        let local = env(&[("AZURE_AUTHORITY_HOST", "http://127.0.0.1:9999")]);
        assert_eq!(authority(&local).unwrap(), "http://127.0.0.1:9999");
        for bad in [
            "http://login.example",
            "http://127.0.0.1.evil:80",
            "https://u:p@h",
        ] {
            let e = env(Box::leak(Box::new([("AZURE_AUTHORITY_HOST", bad)])));
            assert!(authority(&e).is_err(), "{bad}");
        }
    }
}
