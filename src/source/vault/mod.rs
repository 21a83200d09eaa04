//! HashiCorp Vault and OpenBao over HTTP: settings the way Vault users have them
//! (VAULT_* environment, then `[vault]` in the config), token, AppRole, JWT and
//! Kubernetes login, KV v1 and v2 found out from the mount, retries with jittered
//! backoff inside the one deadline. The token is sent only in a header marked
//! sensitive; messages name the path and the address, never a value or a token.

use std::sync::Arc;

use anyhow::Result;
use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::time::Instant;
use zeroize::Zeroizing;

use futures_util::StreamExt;

use crate::error::{Failure, Kind, fail};
use crate::escape::Escaped;
use crate::secret::SecretJson;
use crate::secret::{Dates, Version};
use crate::source::address;
use crate::source::reference::{Answer, Fetched, RemoteRef};
use crate::source::rest::{self, IN_FLIGHT};
use crate::timestamp;

mod dynamic;
mod settings;
mod transport;

pub use settings::{FileSettings, Settings};

use crate::lease::LeaseStore;
use crate::source::http::{self, HttpError};
use settings::Auth;
use transport::build_http;

/// Mounts that are never secrets engines: a reference under them is refused even
/// where the server cannot say what is mounted.
const NOT_SECRETS: &[&str] = &["auth", "sys", "identity", "cubbyhole"];

/// A Vault client with its token, ready to read.
pub struct Client {
    http: reqwest::Client,
    /// The base URL requests go to (its host may be the TLS server name).
    base: String,
    /// The address as configured, for messages.
    shown: String,
    /// The address is Vault's default: nothing named one.
    addr_defaulted: bool,
    namespace: Option<HeaderValue>,
    token: HeaderValue,
    retry: http::Retry,
    /// Whether a read that creates credentials (a database engine's `creds/`) is
    /// made: a launch does, `check` and `list` only when asked.
    read_dynamic: bool,
    /// Renews and revokes the leases of what this client reads.
    leases: Arc<dyn LeaseStore>,
}

/// How a client's requests go out, which decides the HTTP versions it offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requests {
    /// One after another (one reference, a lease call): HTTP/1.1 only, since a lone
    /// request on a new connection is answered sooner over it than over HTTP/2
    /// (bench/README.md has the figure).
    OneByOne,
    /// Several at once (several references): HTTP/2 where the server offers it (over
    /// TLS, as Vault's Go server does), so that they share one connection and one
    /// TLS handshake rather than each opening its own.
    AtOnce,
}

/// A secrets engine references may read, found out from its mount.
#[derive(Clone, Debug)]
enum Engine {
    /// KV, with its version (`"1"` or `"2"`).
    Kv(String),
    /// The database secrets engine.
    Database,
}

/// Where a reference lands: the mount's path and its engine.
#[derive(Clone, Debug)]
struct Mount {
    path: String,
    engine: Engine,
}

impl Client {
    /// Builds the HTTP client and logs in when the auth method asks for it.
    pub async fn connect(
        settings: Settings,
        read_dynamic: bool,
        requests: Requests,
        deadline: Instant,
    ) -> Result<Client> {
        let shown = address::shown(&settings.addr);
        let mut for_leases = settings.clone();
        let (http, base) = build_http(&settings, requests)?;
        let namespace = match &settings.namespace {
            Some(ns) => Some(HeaderValue::from_str(ns).map_err(|_| {
                Failure::new(Kind::Config, "VAULT_NAMESPACE is not a valid header value")
            })?),
            None => None,
        };
        let mut client = Client {
            http,
            base,
            shown,
            addr_defaulted: settings.addr_defaulted,
            namespace,
            token: HeaderValue::from_static(""),
            retry: http::Retry {
                max_retries: settings.max_retries,
                per_attempt: settings.client_timeout,
            },
            read_dynamic,
            // Replaced once the token is known.
            leases: dynamic::store(settings.clone()),
        };
        let token = match settings.auth {
            Auth::Token(token) => token,
            Auth::AppRole {
                mount,
                role_id,
                secret_id,
            } => {
                let body = json!({ "role_id": role_id.as_str(), "secret_id": secret_id.as_str() });
                client.login(&mount, body, deadline).await?
            }
            Auth::Jwt { mount, role, jwt } => {
                let body = json!({ "role": role, "jwt": jwt.as_str() });
                client.login(&mount, body, deadline).await?
            }
        };
        client.token = crate::source::rest::credential_header(None, &token).ok_or_else(|| {
            Failure::new(Kind::Config, "the Vault token is not a valid header value")
        })?;
        for_leases.auth = Auth::Token(token);
        client.leases = dynamic::store(for_leases);
        Ok(client)
    }

    async fn login(
        &self,
        mount: &str,
        mut body: Value,
        deadline: Instant,
    ) -> Result<Zeroizing<String>> {
        let path = format!("auth/{}/login", mount.trim_matches('/'));
        let result = self
            .request(Method::POST, &path, Some(&body), deadline)
            .await;
        // The body holds the secret id or the JWT.
        if let Value::Object(map) = &mut body {
            for value in map.values_mut() {
                if let Value::String(s) = value {
                    zeroize::Zeroize::zeroize(s);
                }
            }
        }
        let what = format!("logging in at `{}`", Escaped(&path));
        let bytes = result.map_err(|e| match e {
            // Vault answers a wrong secret id or JWT with 400.
            HttpError::Status(StatusCode::BAD_REQUEST) => Failure::new(
                Kind::Denied,
                format!(
                    "{what}: Vault at `{}` refused the credentials (400)",
                    self.shown
                ),
            ),
            e => self.failure(e, &what),
        })?;
        let token = SecretJson::parse(&bytes).ok().and_then(|v| {
            v.pointer("/auth/client_token")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        match token {
            Some(token) => Ok(Zeroizing::new(token)),
            None => fail(
                Kind::Unreachable,
                format!(
                    "logging in at `{}` on Vault at `{}`: no token in the answer",
                    Escaped(&path),
                    self.shown
                ),
            ),
        }
    }

    /// Reads every reference, all at once. The engine and mount come from
    /// `sys/internal/ui/mounts`, as `vault kv get` finds them, asked once per mount:
    /// Vault allows no mount inside another, so the mount a lookup returns holds
    /// every path under it. The first reference of each top-level segment is looked
    /// up; the others of that segment reuse its answer when their path lies under the
    /// mount it names, and are looked up themselves otherwise (a deeper mount, or a
    /// lookup that failed, which may be the path's own policy).
    pub async fn read_all(&self, refs: &[&RemoteRef], deadline: Instant) -> Vec<Result<Answer>> {
        let mut firsts: Vec<usize> = Vec::new();
        for (i, r) in refs.iter().enumerate() {
            if !firsts
                .iter()
                .any(|&f| top_segment(refs[f]) == top_segment(r))
            {
                firsts.push(i);
            }
        }
        let looked_up: Vec<Result<Mount>> = futures_util::stream::iter(firsts.iter())
            .map(|&i| self.mount_of(refs[i], deadline))
            .buffered(IN_FLIGHT)
            .collect()
            .await;
        let shared: Vec<Option<Mount>> =
            looked_up.iter().map(|r| r.as_ref().ok().cloned()).collect();
        let mut own: Vec<Option<Result<Mount>>> = looked_up.into_iter().map(Some).collect();
        // For each reference, its mount when already known (or the error of its own
        // lookup); `None` when it needs a lookup of its own.
        let known: Vec<Option<Result<Mount>>> = refs
            .iter()
            .enumerate()
            .map(|(i, r)| {
                if let Some(at) = firsts.iter().position(|&f| f == i) {
                    return own[at].take();
                }
                let at = firsts
                    .iter()
                    .position(|&f| top_segment(refs[f]) == top_segment(r))?;
                let mount = shared[at].clone()?;
                (mount.path.is_empty() || r.path.starts_with(mount.path.as_str()))
                    .then_some(Ok(mount))
            })
            .collect();
        let reads = refs.iter().zip(known).map(|(r, known)| async move {
            let mount = match known {
                Some(result) => result?,
                None => self.mount_of(r, deadline).await?,
            };
            match &mount.engine {
                Engine::Kv(version) => self.read_at(r, &mount.path, version, deadline).await,
                Engine::Database => self.read_database(r, &mount.path, deadline).await,
            }
        });
        futures_util::stream::iter(reads)
            .buffered(IN_FLIGHT)
            .collect()
            .await
    }

    /// A GET of `path`, its answer as JSON.
    async fn read_json(&self, r: &RemoteRef, path: &str, deadline: Instant) -> Result<SecretJson> {
        let what = format!("reading `{r}`");
        let bytes = self
            .request(Method::GET, path, None, deadline)
            .await
            .map_err(|e| self.failure(e, &what))?;
        Ok(SecretJson::parse(&bytes).map_err(|_| {
            Failure::new(
                Kind::Unreachable,
                format!(
                    "{what} from Vault at `{}`: the answer is not JSON",
                    self.shown
                ),
            )
        })?)
    }

    /// Reads one KV secret at its mount and KV version.
    async fn read_at(
        &self,
        r: &RemoteRef,
        mount: &str,
        version: &str,
        deadline: Instant,
    ) -> Result<Answer> {
        let url_path = data_path(r, mount, version)?;
        let mut doc = self.read_json(r, &url_path, deadline).await?;
        let dates = kv2_dates(&doc);
        // A KV v1 path on a server without the mount lookup may be anything; what
        // came with a lease is held as one.
        let lease = self.lease_of(r, &doc);
        match kv_data(&mut doc, version) {
            Some(fetched) => Ok(Answer {
                fetched,
                dates,
                lease,
            }),
            // KV v2 answers a deleted or destroyed version with `data: null`.
            _ => fail(
                Kind::Config,
                format!(
                    "reading `{r}`: not found on Vault at `{}` (deleted?)",
                    self.shown
                ),
            ),
        }
    }

    /// The mount a reference lands in and its engine. A reference reads secrets,
    /// never the token's own details (`auth/token/lookup-self`), a login or a system
    /// endpoint: anything but a KV or database engine is refused.
    async fn mount_of(&self, r: &RemoteRef, deadline: Instant) -> Result<Mount> {
        let lookup = format!("sys/internal/ui/mounts/{}", r.path);
        let bytes = match self.request(Method::GET, &lookup, None, deadline).await {
            Ok(bytes) => bytes,
            // Old servers have no such endpoint: take the path as a KV v1 path, but
            // never one under the mounts that are not secrets engines.
            Err(HttpError::Status(StatusCode::NOT_FOUND)) => {
                let first = r.path.split('/').next().unwrap_or("");
                if NOT_SECRETS.contains(&first) {
                    return fail(
                        Kind::Config,
                        format!("`{r}` is not a secret: references never read `{first}/`"),
                    );
                }
                return Ok(Mount {
                    path: String::new(),
                    engine: Engine::Kv("1".to_owned()),
                });
            }
            Err(HttpError::Status(StatusCode::FORBIDDEN)) => {
                return Err(self.forbidden(r, deadline).await.into());
            }
            Err(e) => return Err(self.failure(e, &format!("reading `{r}`")).into()),
        };
        let info = SecretJson::parse(&bytes).unwrap_or(SecretJson(Value::Null));
        let text = |pointer: &str| info.pointer(pointer).and_then(Value::as_str);
        let path = text("/data/path").unwrap_or("").to_owned();
        let engine = match text("/data/type").unwrap_or("") {
            "kv" | "generic" => Engine::Kv(text("/data/options/version").unwrap_or("1").to_owned()),
            "database" => Engine::Database,
            kind => {
                let at = if path.is_empty() {
                    String::new()
                } else {
                    format!(" (mounted at `{}`)", Escaped(&path))
                };
                return fail(
                    Kind::Config,
                    format!(
                        "`{r}` is not a secret references may read: Vault has a `{}` engine \
                         there{at}, and references read KV and database secrets engines only",
                        Escaped(if kind.is_empty() { "unknown" } else { kind }),
                    ),
                );
            }
        };
        Ok(Mount { path, engine })
    }

    /// The mount lookup answered 403: Vault says that for a path on no mount, and
    /// for one the token's policy does not allow. The list of mounts the token can
    /// see tells them apart (one more request, on the failure path only).
    async fn forbidden(&self, r: &RemoteRef, deadline: Instant) -> Failure {
        let at = &self.shown;
        let listed = self
            .request(Method::GET, "sys/internal/ui/mounts", None, deadline)
            .await
            .ok()
            .and_then(|bytes| SecretJson::parse(&bytes).ok());
        let Some(mounts) = listed
            .as_ref()
            .and_then(|v| v.pointer("/data/secret"))
            .and_then(Value::as_object)
            // A token that sees no mount at all cannot tell the two apart either.
            .filter(|mounts| !mounts.is_empty())
        else {
            return Failure::new(
                Kind::Denied,
                format!(
                    "reading `{r}`: Vault at `{at}` refused access (403): the token's policy \
                     does not allow it, or no secrets engine is mounted there"
                ),
            );
        };
        let wanted = format!("{}/", r.path);
        if mounts.keys().any(|m| wanted.starts_with(m.as_str())) {
            Failure::new(
                Kind::Denied,
                format!(
                    "reading `{r}`: Vault at `{at}` refused access (403): the token's policy \
                     does not allow it"
                ),
            )
        } else {
            let first = r.path.split('/').next().unwrap_or("");
            Failure::new(
                Kind::Config,
                format!(
                    "reading `{r}`: Vault at `{at}` has no secrets engine mounted at `{}/` that \
                     this token can see (a typo in the path, or a policy that hides the mount)",
                    Escaped(first)
                ),
            )
        }
    }

    fn failure(&self, e: HttpError, what: &str) -> Failure {
        let at = &self.shown;
        match e {
            HttpError::Status(s) => rest::status_failure(
                what,
                &format!("Vault at `{at}`"),
                s.as_u16(),
                Some(
                    "the token's policies must allow `read` on that path (`vault token \
                     capabilities PATH` shows them)",
                ),
            ),
            HttpError::Unreachable(why) => {
                let failure = rest::unreachable_failure(
                    what,
                    &why,
                    rest::Unanswered {
                        service: &format!("Vault at `{at}`"),
                        address: "VAULT_ADDR",
                        ca: "VAULT_CACERT",
                    },
                );
                match self.addr_defaulted && !why.contains("certificate") {
                    true => failure.with_hint(
                        "VAULT_ADDR is not set, so secretrun tried Vault's default address; set \
                         it to your Vault's (`export VAULT_ADDR=https://vault.example:8200`)",
                    ),
                    false => failure,
                }
            }
        }
    }
}

/// The first segment of a reference's path (`secret` of `secret/app/db`).
fn top_segment(r: &RemoteRef) -> &str {
    r.path.split('/').next().unwrap_or("")
}

/// What KV v2 records of a version: when it was written, and when it will be
/// deleted (`delete_version_after`), which is when the value stops being there.
/// KV v1 records neither.
fn kv2_dates(doc: &Value) -> Dates {
    let at = |pointer: &str| {
        doc.pointer(pointer)
            .and_then(Value::as_str)
            .and_then(timestamp::parse)
    };
    Dates {
        created: at("/data/metadata/created_time"),
        expires: at("/data/metadata/deletion_time"),
        leased: None,
        version: doc
            .pointer("/data/metadata/version")
            .and_then(Value::as_u64)
            .and_then(|v| Version::new(&v.to_string())),
    }
}

/// The path to read a reference's data at: `MOUNT/data/REST` on KV v2 (with the
/// pinned version), the path itself on KV v1.
fn data_path(r: &RemoteRef, mount: &str, version: &str) -> Result<String> {
    if version == "2" {
        let rest = r
            .path
            .strip_prefix(mount.trim_end_matches('/'))
            .unwrap_or(&r.path)
            .trim_start_matches('/');
        let mut p = format!("{}data/{rest}", ensure_slash(mount));
        if let Some(v) = r.version {
            p.push_str(&format!("?version={v}"));
        }
        return Ok(p);
    }
    if r.version.is_some() {
        return fail(
            Kind::Config,
            format!("`{r}` is in a KV v1 mount, which has no versions"),
        );
    }
    Ok(r.path.clone())
}

fn ensure_slash(mount: &str) -> String {
    if mount.is_empty() || mount.ends_with('/') {
        mount.to_owned()
    } else {
        format!("{mount}/")
    }
}

/// A KV answer's secret: `data.data` (KV v2) or `data` (v1), when it is an object,
/// taken out of the answer (which is zeroed when dropped, as every answer is).
fn kv_data(doc: &mut Value, version: &str) -> Option<Fetched> {
    let data = if version == "2" {
        doc.pointer_mut("/data/data")
    } else {
        doc.pointer_mut("/data")
    };
    match data.map(Value::take) {
        Some(Value::Object(map)) => Some(Fetched::Object(map.into_iter().collect())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::freed::{MARK, count};
    use crate::source::reference::to_vars;

    /// Vault's answer, taken apart into variables and dropped, leaves no value in
    /// freed memory: not the answer's, not the parse's, not the variables'.
    #[test]
    fn an_answer_leaves_no_value_in_freed_memory() {
        let r = RemoteRef::parse("vault://secret/app").unwrap().unwrap();
        let body = format!(
            r#"{{"data":{{"data":{{"A":"{MARK}-a","N":{{"deep":"{MARK}-n"}}}},"metadata":{{"version":3}}}}}}"#
        );
        let json = RemoteRef::parse("vault://secret/app?json")
            .unwrap()
            .unwrap();
        let leaked = count(|| {
            for r in [&r, &json] {
                let mut doc = SecretJson::parse(body.as_bytes()).unwrap();
                let fetched = kv_data(&mut doc, "2").unwrap();
                drop(to_vars(r, &fetched, None));
            }
        });
        assert_eq!(leaked, 0);
    }
}
