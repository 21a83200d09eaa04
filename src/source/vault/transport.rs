//! Vault's transport: the HTTP client with Vault's TLS settings, Vault's headers
//! on the shared request policy ([`crate::source::http`]), and the redirect rule
//! that keeps the token at its origin.

use anyhow::Result;

use reqwest::Method;
use serde_json::Value;
use tokio::time::Instant;
use zeroize::Zeroizing;

use super::{Client, Requests, Settings};
use crate::error::{Failure, Kind, chain, fail};
use crate::escape::Escaped;
use crate::source::address;
use crate::source::http::{self, HttpError, Roots};

impl Client {
    /// One request with Vault's headers, under the shared retry policy.
    pub(super) async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        deadline: Instant,
    ) -> Result<Zeroizing<Vec<u8>>, HttpError> {
        let url = format!("{}/v1/{path}", self.base);
        let make = || {
            let mut req = self
                .http
                .request(method.clone(), &url)
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
            req
        };
        http::send(make, self.retry, deadline).await
    }
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
pub(super) fn build_http(
    settings: &Settings,
    requests: Requests,
) -> Result<(reqwest::Client, String)> {
    let certs = custom_roots(settings)?;
    let roots = if !certs.is_empty() {
        // A custom CA replaces the system roots, as the Vault CLI does.
        Roots::Only(certs)
    } else {
        Roots::for_address(&settings.addr, settings.cert_file.clone())
    };
    let mut builder = http::builder(roots).redirect(reqwest::redirect::Policy::custom(|attempt| {
        match redirect_refusal(attempt.previous(), attempt.url()) {
            Some(why) => attempt.error(why),
            None => attempt.follow(),
        }
    }));
    if let Some(identity) = client_identity(settings)? {
        builder = builder.identity(identity);
    }
    if settings.skip_verify {
        builder = builder.danger_accept_invalid_certs(true);
    }
    if requests == Requests::OneByOne {
        builder = builder.http1_only();
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
}
