//! HashiCorp Vault and OpenBao over HTTP: settings the way Vault users have them
//! (VAULT_* environment, then `[vault]` in the config), token, AppRole, JWT and
//! Kubernetes login, KV v1 and v2 found out from the mount, retries with jittered
//! backoff inside the one deadline. The token is sent only in a header marked
//! sensitive; messages name the path and the address, never a value or a token.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;
use zeroize::Zeroizing;

use crate::address;
use crate::config::parse_duration;
use crate::error::{Failure, Kind, chain, fail};
use crate::escape::Escaped;
use crate::source::remote::{Fetched, RemoteRef};

/// `[vault]` in secretrun.toml. Environment variables beat these.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultConfig {
    pub address: Option<String>,
    pub namespace: Option<String>,
    pub cacert: Option<PathBuf>,
    pub capath: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub tls_server_name: Option<String>,
    pub skip_verify: Option<bool>,
    pub max_retries: Option<u32>,
    pub client_timeout: Option<String>,
    /// `token` (default), `approle`, `jwt` or `kubernetes`.
    pub auth: Option<String>,
    /// Where the auth method is mounted; default: the method's name.
    pub auth_mount: Option<String>,
    /// The role, for JWT and Kubernetes login.
    pub role: Option<String>,
    pub role_id: Option<String>,
    pub role_id_file: Option<PathBuf>,
    pub secret_id_file: Option<PathBuf>,
    /// The JWT to log in with (Kubernetes: the service account token).
    pub jwt_file: Option<PathBuf>,
}

const K8S_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// Mounts that are never secrets engines: a reference under them is refused even
/// where the server cannot say what is mounted.
const NOT_SECRETS: &[&str] = &["auth", "sys", "identity", "cubbyhole"];

enum Auth {
    Token(Zeroizing<String>),
    AppRole {
        mount: String,
        role_id: Zeroizing<String>,
        secret_id: Zeroizing<String>,
    },
    Jwt {
        mount: String,
        role: String,
        jwt: Zeroizing<String>,
    },
}

/// Everything needed to talk to Vault, resolved.
pub struct Settings {
    addr: String,
    namespace: Option<String>,
    auth: Auth,
    cacert: Option<PathBuf>,
    capath: Option<PathBuf>,
    client_cert: Option<PathBuf>,
    client_key: Option<PathBuf>,
    tls_server_name: Option<String>,
    pub skip_verify: bool,
    max_retries: u32,
    client_timeout: Duration,
}

fn read_secret_file(path: &std::path::Path, what: &str) -> Result<Zeroizing<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::new(
            Kind::Config,
            format!(
                "reading {what} from `{}`: {e}",
                Escaped(&path.to_string_lossy())
            ),
        )
    })?;
    let text = Zeroizing::new(text);
    Ok(Zeroizing::new(
        text.trim_end_matches(['\n', '\r']).to_owned(),
    ))
}

impl Settings {
    /// Resolves the settings: `env` (the parent's environment) beats `file`.
    pub fn resolve(file: &VaultConfig, env: &dyn Fn(&str) -> Option<String>) -> Result<Settings> {
        let var = |names: &[&str]| names.iter().find_map(|n| env(n).filter(|v| !v.is_empty()));
        let path = |names: &[&str], file: &Option<PathBuf>| {
            var(names).map(PathBuf::from).or_else(|| file.clone())
        };
        let env_addr = var(&["VAULT_ADDR", "BAO_ADDR"]);
        let addr = env_addr
            .clone()
            .or_else(|| file.address.clone())
            .unwrap_or_else(|| "https://127.0.0.1:8200".to_owned());
        let addr = addr.trim_end_matches('/').to_owned();
        if !(addr.starts_with("http://") || addr.starts_with("https://")) {
            return fail(
                Kind::Config,
                format!(
                    "the Vault address `{}` is not an http(s) URL",
                    address::shown(&addr)
                ),
            );
        }
        if address::has_extras(&addr) {
            return fail(
                Kind::Config,
                format!(
                    "the Vault address `{}` carries a user name, password, query or fragment, \
                     which Vault does not use: remove them (the token goes in VAULT_TOKEN)",
                    address::shown(&addr)
                ),
            );
        }
        // Which of the settings that decide where, and how safely, the credentials
        // travel come from the project's file (where the environment does not set them).
        let env_sets = |names: &[&str]| var(names).is_some();
        let from_file: Vec<&str> = [
            ("address", file.address.is_some() && env_addr.is_none()),
            (
                "skip_verify",
                file.skip_verify == Some(true)
                    && !env_sets(&["VAULT_SKIP_VERIFY", "BAO_SKIP_VERIFY"]),
            ),
            (
                "cacert",
                file.cacert.is_some() && !env_sets(&["VAULT_CACERT", "BAO_CACERT"]),
            ),
            (
                "capath",
                file.capath.is_some() && !env_sets(&["VAULT_CAPATH", "BAO_CAPATH"]),
            ),
            (
                "tls_server_name",
                file.tls_server_name.is_some()
                    && !env_sets(&["VAULT_TLS_SERVER_NAME", "BAO_TLS_SERVER_NAME"]),
            ),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        if !from_file.is_empty()
            && !address::is_trusted(&addr, env("SECRETRUN_TRUSTED_ORIGINS").as_deref())
        {
            let origin = address::origin(&addr).unwrap_or_else(|| address::shown(&addr));
            return fail(
                Kind::Config,
                format!(
                    "the config file sets the Vault {} for `{}`; a project's file may not decide \
                     where or how safely your Vault credentials travel. If this is your Vault, \
                     trust it in your environment: SECRETRUN_TRUSTED_ORIGINS={} (or set \
                     VAULT_ADDR and the VAULT_* TLS variables yourself)",
                    from_file
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    address::shown(&addr),
                    Escaped(&origin)
                ),
            );
        }
        let skip_verify = match var(&["VAULT_SKIP_VERIFY", "BAO_SKIP_VERIFY"]) {
            Some(v) => crate::validate::formats::parse_bool(&v).ok_or_else(|| {
                Failure::new(
                    Kind::Config,
                    format!("VAULT_SKIP_VERIFY=`{}` is not a boolean", Escaped(&v)),
                )
            })?,
            None => file.skip_verify.unwrap_or(false),
        };
        let max_retries = match var(&["VAULT_MAX_RETRIES"]) {
            Some(v) => v
                .parse()
                .map_err(|_| Failure::new(Kind::Config, "VAULT_MAX_RETRIES is not a number"))?,
            None => file.max_retries.unwrap_or(2),
        };
        let client_timeout =
            match var(&["VAULT_CLIENT_TIMEOUT"]).or_else(|| file.client_timeout.clone()) {
                Some(v) => parse_duration(&v).ok_or_else(|| {
                    Failure::new(Kind::Config, format!("`{}` is not a duration", Escaped(&v)))
                })?,
                None => Duration::from_secs(60),
            };

        let method = var(&["SECRETRUN_VAULT_AUTH"])
            .or_else(|| file.auth.clone())
            .unwrap_or_else(|| "token".into());
        let mount = var(&["SECRETRUN_VAULT_AUTH_MOUNT"]).or_else(|| file.auth_mount.clone());
        let role = var(&["SECRETRUN_VAULT_ROLE"]).or_else(|| file.role.clone());
        let jwt_file = path(&["SECRETRUN_VAULT_JWT_FILE"], &file.jwt_file);
        let auth = match method.as_str() {
            "token" => {
                let token = match var(&["VAULT_TOKEN", "BAO_TOKEN"]) {
                    Some(token) => Zeroizing::new(token),
                    None => match env("HOME") {
                        Some(home)
                            if std::path::Path::new(&home).join(".vault-token").is_file() =>
                        {
                            read_secret_file(
                                &std::path::Path::new(&home).join(".vault-token"),
                                "the Vault token",
                            )?
                        }
                        _ => {
                            return fail(
                                Kind::Config,
                                "no Vault token: set VAULT_TOKEN, write ~/.vault-token, or configure `[vault] auth`",
                            );
                        }
                    },
                };
                Auth::Token(token)
            }
            "approle" => {
                let role_id = match (
                    var(&["VAULT_ROLE_ID"]),
                    &file.role_id,
                    path(&["VAULT_ROLE_ID_FILE"], &file.role_id_file),
                ) {
                    (Some(id), _, _) => Zeroizing::new(id),
                    (None, Some(id), _) => Zeroizing::new(id.clone()),
                    (None, None, Some(p)) => read_secret_file(&p, "the AppRole role id")?,
                    _ => {
                        return fail(
                            Kind::Config,
                            "AppRole login needs a role id: VAULT_ROLE_ID, `role_id` or `role_id_file`",
                        );
                    }
                };
                let secret_id = match (
                    var(&["VAULT_SECRET_ID"]),
                    path(&["VAULT_SECRET_ID_FILE"], &file.secret_id_file),
                ) {
                    (Some(id), _) => Zeroizing::new(id),
                    (None, Some(p)) => read_secret_file(&p, "the AppRole secret id")?,
                    _ => {
                        return fail(
                            Kind::Config,
                            "AppRole login needs a secret id: VAULT_SECRET_ID or `secret_id_file`",
                        );
                    }
                };
                Auth::AppRole {
                    mount: mount.unwrap_or_else(|| "approle".into()),
                    role_id,
                    secret_id,
                }
            }
            "jwt" | "kubernetes" => {
                let Some(role) = role else {
                    return fail(
                        Kind::Config,
                        format!(
                            "{method} login needs a role: `[vault] role` or SECRETRUN_VAULT_ROLE"
                        ),
                    );
                };
                let token_path = match (jwt_file, method.as_str()) {
                    (Some(p), _) => p,
                    (None, "kubernetes") => PathBuf::from(K8S_TOKEN),
                    (None, _) => {
                        return fail(
                            Kind::Config,
                            "JWT login needs `[vault] jwt_file` or SECRETRUN_VAULT_JWT_FILE",
                        );
                    }
                };
                let jwt = read_secret_file(&token_path, "the login token")?;
                Auth::Jwt {
                    mount: mount.unwrap_or_else(|| method.clone()),
                    role,
                    jwt,
                }
            }
            other => {
                return fail(
                    Kind::Config,
                    format!(
                        "`{}` is not a Vault auth method (token, approle, jwt, kubernetes)",
                        Escaped(other)
                    ),
                );
            }
        };
        Ok(Settings {
            addr,
            namespace: var(&["VAULT_NAMESPACE", "BAO_NAMESPACE"])
                .or_else(|| file.namespace.clone()),
            auth,
            cacert: path(&["VAULT_CACERT", "BAO_CACERT"], &file.cacert),
            capath: path(&["VAULT_CAPATH", "BAO_CAPATH"], &file.capath),
            client_cert: path(&["VAULT_CLIENT_CERT", "BAO_CLIENT_CERT"], &file.client_cert),
            client_key: path(&["VAULT_CLIENT_KEY", "BAO_CLIENT_KEY"], &file.client_key),
            tls_server_name: var(&["VAULT_TLS_SERVER_NAME", "BAO_TLS_SERVER_NAME"])
                .or_else(|| file.tls_server_name.clone()),
            skip_verify,
            max_retries,
            client_timeout,
        })
    }
}

/// A Vault client with its token, ready to read.
pub struct Client {
    http: reqwest::Client,
    /// The base URL requests go to (its host may be the TLS server name).
    base: String,
    /// The address as configured, for messages.
    shown: String,
    namespace: Option<HeaderValue>,
    token: HeaderValue,
    max_retries: u32,
    client_timeout: Duration,
}

/// How a request failed, before it becomes a [`Failure`] naming the path.
enum HttpError {
    Status(StatusCode),
    Unreachable(String),
}

impl Client {
    /// Builds the HTTP client and logs in when the auth method asks for it.
    pub async fn connect(settings: Settings, deadline: Instant) -> Result<Client> {
        let shown = address::shown(&settings.addr);
        let (http, base) = build_http(&settings)?;
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
            namespace,
            token: HeaderValue::from_static(""),
            max_retries: settings.max_retries,
            client_timeout: settings.client_timeout,
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
        let mut header = HeaderValue::from_str(&token).map_err(|_| {
            Failure::new(Kind::Config, "the Vault token is not a valid header value")
        })?;
        header.set_sensitive(true);
        client.token = header;
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
        let bytes = Zeroizing::new(bytes);
        let token = serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| {
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

    /// Reads one KV secret. The KV version and mount come from
    /// `sys/internal/ui/mounts`, as `vault kv get` does.
    pub async fn read(&self, r: &RemoteRef, deadline: Instant) -> Result<Fetched> {
        let what = format!("reading `{r}`");
        let preflight = self
            .request(
                Method::GET,
                &format!("sys/internal/ui/mounts/{}", r.path),
                None,
                deadline,
            )
            .await;
        let (mount, version) = match preflight {
            Ok(bytes) => {
                let info: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let text = |pointer: &str| info.pointer(pointer).and_then(Value::as_str);
                let mount = text("/data/path").unwrap_or("").to_owned();
                let kind = text("/data/type").unwrap_or("");
                // A reference reads secrets, never the token's own details
                // (`auth/token/lookup-self`), a login or a system endpoint.
                if !matches!(kind, "kv" | "generic") {
                    return fail(
                        Kind::Config,
                        format!(
                            "`{r}` is not a KV secret: Vault has a `{}` engine there{}, and \
                             references read only KV secrets engines",
                            Escaped(if kind.is_empty() { "unknown" } else { kind }),
                            if mount.is_empty() {
                                String::new()
                            } else {
                                format!(" (mounted at `{}`)", Escaped(&mount))
                            }
                        ),
                    );
                }
                let version = text("/data/options/version").unwrap_or("1").to_owned();
                (mount, version)
            }
            // Old servers have no such endpoint: take the path as a KV v1 path, but
            // never one under the mounts that are not secrets engines.
            Err(HttpError::Status(StatusCode::NOT_FOUND)) => {
                let first = r.path.split('/').next().unwrap_or("");
                if NOT_SECRETS.contains(&first) {
                    return fail(
                        Kind::Config,
                        format!("`{r}` is not a KV secret: references never read `{first}/`"),
                    );
                }
                (String::new(), "1".to_owned())
            }
            Err(HttpError::Status(StatusCode::FORBIDDEN)) => {
                return Err(self.forbidden(r, deadline).await.into());
            }
            Err(e) => return Err(self.failure(e, &what).into()),
        };
        let url_path = if version == "2" {
            let rest = r
                .path
                .strip_prefix(mount.trim_end_matches('/'))
                .unwrap_or(&r.path)
                .trim_start_matches('/');
            let mut p = format!("{}data/{rest}", ensure_slash(&mount));
            if let Some(v) = r.version {
                p.push_str(&format!("?version={v}"));
            }
            p
        } else {
            if r.version.is_some() {
                return fail(
                    Kind::Config,
                    format!("`{r}` is in a KV v1 mount, which has no versions"),
                );
            }
            r.path.clone()
        };
        let bytes = self
            .request(Method::GET, &url_path, None, deadline)
            .await
            .map_err(|e| self.failure(e, &what))?;
        let bytes = Zeroizing::new(bytes);
        let mut doc: Value = serde_json::from_slice(&bytes).map_err(|_| {
            Failure::new(
                Kind::Unreachable,
                format!(
                    "{what} from Vault at `{}`: the answer is not JSON",
                    self.shown
                ),
            )
        })?;
        let data = if version == "2" {
            doc.pointer_mut("/data/data")
        } else {
            doc.pointer_mut("/data")
        };
        match data.map(Value::take) {
            Some(Value::Object(map)) => Ok(Fetched::Object(map.into_iter().collect())),
            // KV v2 answers a deleted or destroyed version with `data: null`.
            _ => fail(
                Kind::Config,
                format!("{what}: not found on Vault at `{}` (deleted?)", self.shown),
            ),
        }
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
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
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
            HttpError::Status(s @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)) => {
                Failure::new(
                    Kind::Denied,
                    format!("{what}: Vault at `{at}` refused access ({})", s.as_u16()),
                )
            }
            HttpError::Status(StatusCode::NOT_FOUND) => Failure::new(
                Kind::Config,
                format!("{what}: not found on Vault at `{at}`"),
            ),
            HttpError::Status(s) if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
                Failure::new(
                    Kind::Unreachable,
                    format!("{what}: Vault at `{at}` answered {}", s.as_u16()),
                )
            }
            HttpError::Status(s) => Failure::new(
                Kind::Config,
                format!("{what}: Vault at `{at}` answered {}", s.as_u16()),
            ),
            HttpError::Unreachable(why) => {
                Failure::new(Kind::Unreachable, format!("{what}: Vault at `{at}` {why}"))
            }
        }
    }

    /// One request, retried on connection errors, 429 and 5xx other than 501, with
    /// jittered exponential backoff, never past the deadline.
    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        deadline: Instant,
    ) -> Result<Vec<u8>, HttpError> {
        let url = format!("{}/v1/{path}", self.base);
        let mut attempt = 0;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(HttpError::Unreachable(
                    "did not answer before the deadline".into(),
                ));
            }
            let mut req = self
                .http
                .request(method.clone(), &url)
                .timeout(self.client_timeout.min(deadline - now))
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
            let error = match tokio::time::timeout_at(deadline, req.send()).await {
                Err(_) => {
                    return Err(HttpError::Unreachable(
                        "did not answer before the deadline".into(),
                    ));
                }
                Ok(Ok(resp)) if resp.status().is_success() => match read_capped(resp).await {
                    Ok(bytes) => return Ok(bytes),
                    Err(Some(e)) => HttpError::Unreachable(format!(
                        "broke off its answer: {}",
                        chain(&e.without_url())
                    )),
                    Err(None) => {
                        return Err(HttpError::Unreachable(format!(
                            "answered with more than {} MiB, more than any secret; secretrun \
                             stops reading there",
                            MAX_ANSWER >> 20
                        )));
                    }
                },
                Ok(Ok(resp)) => HttpError::Status(resp.status()),
                Ok(Err(e)) if e.is_redirect() => {
                    return Err(HttpError::Unreachable(format!(
                        "redirected where secretrun will not follow: {}",
                        chain(&e.without_url())
                    )));
                }
                Ok(Err(_)) if Instant::now() >= deadline => {
                    return Err(HttpError::Unreachable(
                        "did not answer before the deadline".into(),
                    ));
                }
                Ok(Err(e)) => {
                    HttpError::Unreachable(format!("is unreachable: {}", chain(&e.without_url())))
                }
            };
            let retryable = match &error {
                HttpError::Status(s) => {
                    *s == StatusCode::TOO_MANY_REQUESTS
                        || (s.is_server_error() && *s != StatusCode::NOT_IMPLEMENTED)
                }
                HttpError::Unreachable(_) => true,
            };
            let pause = backoff(attempt);
            if !retryable || attempt >= self.max_retries || Instant::now() + pause >= deadline {
                return Err(error);
            }
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }
}

/// The most an answer may hold. A KV secret is at most a few MiB (Vault's own
/// request size limit is 32 MiB; real secrets are kilobytes): a server that sends
/// more is not read to the end, so it cannot fill the memory.
const MAX_ANSWER: usize = 16 << 20;

/// Reads an answer's body up to [`MAX_ANSWER`]: `Err(None)` past it.
async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, Option<reqwest::Error>> {
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
    Ok(std::mem::take(&mut *body))
}

/// 100 ms doubling per attempt, up to 2 s, with full jitter so that many clients
/// retrying at once spread out.
pub fn backoff(attempt: u32) -> Duration {
    let ceiling = Duration::from_millis(100)
        .saturating_mul(1 << attempt.min(5))
        .min(Duration::from_secs(2));
    let nanos = ceiling.as_nanos() as u64;
    Duration::from_nanos(nanos / 2 + random_u64() % (nanos / 2 + 1))
}

fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    hasher.finish()
}

fn ensure_slash(mount: &str) -> String {
    if mount.is_empty() || mount.ends_with('/') {
        mount.to_owned()
    } else {
        format!("{mount}/")
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

/// The reqwest client with the TLS settings, and the base URL to use. With a TLS
/// server name, the URL's host becomes that name (so it is both sent as SNI and
/// verified) and the name is resolved to the configured host's address.
fn build_http(settings: &Settings) -> Result<(reqwest::Client, String)> {
    let config_error =
        |what: &str, e: &dyn std::fmt::Display| Failure::new(Kind::Config, format!("{what}: {e}"));
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::custom(
            |attempt| match redirect_refusal(attempt.previous(), attempt.url()) {
                Some(why) => attempt.error(why),
                None => attempt.follow(),
            },
        ))
        .user_agent(concat!("secretrun/", env!("CARGO_PKG_VERSION")));
    let mut certs = Vec::new();
    if let Some(path) = &settings.cacert {
        let pem = std::fs::read(path).map_err(|e| {
            config_error(
                &format!(
                    "reading VAULT_CACERT `{}`",
                    Escaped(&path.to_string_lossy())
                ),
                &e,
            )
        })?;
        certs.extend(
            reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| config_error("VAULT_CACERT holds no PEM certificate", &e))?,
        );
    }
    if let Some(dir) = &settings.capath {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            config_error(
                &format!("reading VAULT_CAPATH `{}`", Escaped(&dir.to_string_lossy())),
                &e,
            )
        })?;
        for entry in entries.flatten() {
            if let Ok(pem) = std::fs::read(entry.path())
                && let Ok(found) = reqwest::Certificate::from_pem_bundle(&pem)
            {
                certs.extend(found);
            }
        }
    }
    if !certs.is_empty() {
        // A custom CA replaces the system roots, as the Vault CLI does.
        builder = builder.tls_certs_only(certs);
    } else if settings.addr.starts_with("http://") {
        // No TLS: skip loading the system's CA store, which takes milliseconds
        // (a bundle and a directory of some 150 files) on every launch.
        builder = builder.tls_certs_only(Vec::new());
    } else if let Some(bundle) = crate::source::tls::system_bundle_pem()
        .and_then(|pem| reqwest::Certificate::from_pem_bundle(&pem).ok())
    {
        builder = builder.tls_certs_only(bundle);
    }
    match (&settings.client_cert, &settings.client_key) {
        (Some(cert), Some(key)) => {
            let mut pem =
                std::fs::read(cert).map_err(|e| config_error("reading VAULT_CLIENT_CERT", &e))?;
            pem.push(b'\n');
            pem.extend(
                Zeroizing::new(
                    std::fs::read(key).map_err(|e| config_error("reading VAULT_CLIENT_KEY", &e))?,
                )
                .iter(),
            );
            let pem = Zeroizing::new(pem);
            builder = builder.identity(
                reqwest::Identity::from_pem(&pem)
                    .map_err(|e| config_error("the Vault client certificate", &e))?,
            );
        }
        (None, None) => {}
        _ => {
            return fail(
                Kind::Config,
                "VAULT_CLIENT_CERT and VAULT_CLIENT_KEY go together",
            );
        }
    }
    if settings.skip_verify {
        builder = builder.danger_accept_invalid_certs(true);
    }
    let mut base = settings.addr.clone();
    if let Some(name) = &settings.tls_server_name {
        let url = reqwest::Url::parse(&settings.addr)
            .map_err(|e| config_error("the Vault address", &e))?;
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
        builder = builder.resolve_to_addrs(name, &addrs);
        let mut rewritten = url.clone();
        rewritten
            .set_host(Some(name))
            .map_err(|e| config_error("VAULT_TLS_SERVER_NAME", &e))?;
        base = rewritten.as_str().trim_end_matches('/').to_owned();
    }
    let http = builder
        .build()
        .map_err(|e| config_error("building the HTTP client", &chain(&e.without_url())))?;
    Ok((http, base))
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

    #[test]
    fn backoff_grows_with_jitter_and_a_cap() {
        for attempt in 0..10 {
            let b = backoff(attempt);
            let ceiling =
                Duration::from_millis(100 * (1 << attempt.min(5))).min(Duration::from_secs(2));
            assert!(b >= ceiling / 2 && b <= ceiling, "{attempt}: {b:?}");
        }
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn environment_beats_the_config_file() {
        let file = VaultConfig {
            address: Some("http://file:1".into()),
            max_retries: Some(7),
            ..Default::default()
        };
        let s = Settings::resolve(
            &file,
            &env(&[("VAULT_ADDR", "http://env:2/"), ("VAULT_TOKEN", "t")]),
        )
        .unwrap();
        assert_eq!((s.addr.as_str(), s.max_retries), ("http://env:2", 7));
        // The file's address is used only for an origin the user trusts.
        let err = Settings::resolve(&file, &env(&[("VAULT_TOKEN", "t")]))
            .err()
            .unwrap();
        assert_eq!(crate::error::exit_code(&err), 78);
        assert!(
            err.to_string()
                .contains("SECRETRUN_TRUSTED_ORIGINS=http://file:1")
        );
        let s = Settings::resolve(
            &file,
            &env(&[
                ("VAULT_TOKEN", "t"),
                ("SECRETRUN_TRUSTED_ORIGINS", "https://other, http://file:1"),
            ]),
        )
        .unwrap();
        assert_eq!(s.addr, "http://file:1");
    }

    #[test]
    fn a_project_file_cannot_weaken_tls_for_an_untrusted_origin() {
        for file in [
            VaultConfig {
                skip_verify: Some(true),
                ..Default::default()
            },
            VaultConfig {
                cacert: Some("ca.pem".into()),
                ..Default::default()
            },
            VaultConfig {
                capath: Some("cas".into()),
                ..Default::default()
            },
            VaultConfig {
                tls_server_name: Some("x".into()),
                ..Default::default()
            },
        ] {
            let base = [("VAULT_TOKEN", "t"), ("VAULT_ADDR", "https://v:8200")];
            assert!(Settings::resolve(&file, &env(Box::leak(Box::new(base)))).is_err());
            let trusted = [
                ("VAULT_TOKEN", "t"),
                ("VAULT_ADDR", "https://v:8200"),
                ("SECRETRUN_TRUSTED_ORIGINS", "https://v:8200"),
            ];
            assert!(Settings::resolve(&file, &env(Box::leak(Box::new(trusted)))).is_ok());
        }
        // The environment's own setting wins, so the file's does not count.
        let file = VaultConfig {
            skip_verify: Some(true),
            ..Default::default()
        };
        let own = [
            ("VAULT_TOKEN", "t"),
            ("VAULT_ADDR", "https://v:8200"),
            ("VAULT_SKIP_VERIFY", "false"),
        ];
        assert!(Settings::resolve(&file, &env(Box::leak(Box::new(own)))).is_ok());
    }

    #[test]
    fn an_address_with_credentials_is_refused_without_echoing_them() {
        for addr in [
            "http://admin:CANARYpw@h:8200",
            "http://h:8200/?token=CANARY",
        ] {
            let pairs: &'static [(&str, &str)] =
                Box::leak(Box::new([("VAULT_TOKEN", "t"), ("VAULT_ADDR", addr)]));
            let err = Settings::resolve(&VaultConfig::default(), &env(pairs))
                .err()
                .unwrap();
            assert_eq!(crate::error::exit_code(&err), 78);
            assert!(!format!("{err:#}").contains("CANARY"), "{addr}");
        }
    }

    #[test]
    fn skip_verify_is_a_boolean() {
        let file = VaultConfig::default();
        for (value, expected) in [("false", false), ("0", false), ("true", true), ("1", true)] {
            let pairs: &'static [(&str, &str)] = Box::leak(Box::new([
                ("VAULT_TOKEN", "t"),
                ("VAULT_SKIP_VERIFY", value),
            ]));
            assert_eq!(
                Settings::resolve(&file, &env(pairs)).unwrap().skip_verify,
                expected
            );
        }
        assert!(
            Settings::resolve(
                &file,
                &env(&[("VAULT_TOKEN", "t"), ("VAULT_SKIP_VERIFY", "maybe")])
            )
            .is_err()
        );
    }

    #[test]
    fn no_token_is_a_config_error() {
        let err = Settings::resolve(&VaultConfig::default(), &env(&[("HOME", "/nonexistent")]))
            .err()
            .unwrap();
        assert_eq!(crate::error::exit_code(&err), 78);
    }
}
