//! Vault settings the way Vault users have them: the VAULT_* (and BAO_*) environment
//! first, then `[vault]` in the config. The config is the project's: the settings
//! that decide where and how safely the user's credentials travel (address,
//! skip_verify, CA, server name) are taken from it only for an origin the user
//! trusts (SECRETRUN_TRUSTED_ORIGINS).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::duration::parse_duration;
use crate::error::{Failure, Kind, fail};
use crate::escape::Escaped;
use crate::parent::ParentEnv;
use crate::source::address;
use crate::source::rest::{FileOrigin::Named, read_credential};

/// `[vault]` in secretrun.toml. Environment variables beat these.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub address: Option<String>,
    pub namespace: Option<String>,
    pub cacert: Option<PathBuf>,
    pub capath: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub tls_server_name: Option<String>,
    pub skip_verify: Option<bool>,
    pub max_retries: Option<u32>,
    #[serde(default, deserialize_with = "client_timeout")]
    pub client_timeout: Option<Duration>,
    /// `token` (default), `approle`, `jwt` or `kubernetes`.
    #[serde(default, deserialize_with = "Method::optional")]
    pub auth: Option<Method>,
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

/// `[vault] client_timeout`, parsed when the config is read.
fn client_timeout<'de, D>(deserializer: D) -> std::result::Result<Option<Duration>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    crate::duration::optional(deserializer, "`[vault] client_timeout`")
}

/// A Vault auth method secretrun logs in with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Token,
    AppRole,
    Jwt,
    Kubernetes,
}

impl Method {
    const NAMES: &[(&str, Method)] = &[
        ("token", Method::Token),
        ("approle", Method::AppRole),
        ("jwt", Method::Jwt),
        ("kubernetes", Method::Kubernetes),
    ];

    fn parse(text: &str) -> Option<Method> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == text)
            .map(|(_, m)| *m)
    }

    /// The methods' names, for the message that refuses another.
    fn choices() -> String {
        let names: Vec<&str> = Self::NAMES.iter().map(|(n, _)| *n).collect();
        names.join(", ")
    }

    fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("token", |(n, _)| n)
    }

    /// `[vault] auth`, refused at its line when it names no method (without its
    /// text: a value pasted into the wrong key is not shown).
    fn optional<'de, D>(deserializer: D) -> std::result::Result<Option<Method>, D::Error>
    where
        D: serde::Deserializer<'de>,
    {
        let text: String = Deserialize::deserialize(deserializer)?;
        Method::parse(&text).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`[vault] auth` is not a Vault auth method ({})",
                Method::choices()
            ))
        })
    }
}

const K8S_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// How secretrun gets its token.
#[derive(Clone)]
pub(super) enum Auth {
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
#[derive(Clone)]
pub struct Settings {
    pub(super) addr: String,
    /// Neither VAULT_ADDR nor the config named the address: Vault's default.
    pub(super) addr_defaulted: bool,
    pub(super) namespace: Option<String>,
    pub(super) auth: Auth,
    pub(super) cacert: Option<PathBuf>,
    pub(super) capath: Option<PathBuf>,
    pub(super) client_cert: Option<PathBuf>,
    pub(super) client_key: Option<PathBuf>,
    pub(super) tls_server_name: Option<String>,
    pub skip_verify: bool,
    pub(super) max_retries: u32,
    pub(super) client_timeout: Duration,
    /// The system's CA bundle, when the parent's `SSL_CERT_FILE` names it.
    pub(super) cert_file: Option<PathBuf>,
}

/// The parent's environment, as settings read it: an empty value is no value.
struct Env<'e>(&'e dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    /// The first of `names` that is set and not empty.
    fn var(&self, names: &[&str]) -> Option<String> {
        names
            .iter()
            .find_map(|n| (self.0)(n).filter(|v| !v.is_empty()))
    }

    /// A path from the first of `names`, else from the config.
    fn path(&self, names: &[&str], file: &Option<PathBuf>) -> Option<PathBuf> {
        self.var(names).map(PathBuf::from).or_else(|| file.clone())
    }
}

impl Settings {
    /// Resolves the settings: `env` (the parent's environment) beats `file`.
    pub fn resolve(file: &FileSettings, env: ParentEnv<'_>) -> Result<Settings> {
        let env = Env(env);
        let addr = resolve_address(file, &env)?;
        check_trust(file, &env, &addr)?;
        let skip_verify = match env.var(&["VAULT_SKIP_VERIFY", "BAO_SKIP_VERIFY"]) {
            Some(v) => crate::boolean::parse_bool(&v).ok_or_else(|| {
                Failure::new(
                    Kind::Config,
                    format!("VAULT_SKIP_VERIFY=`{}` is not a boolean", Escaped(&v)),
                )
            })?,
            None => file.skip_verify.unwrap_or(false),
        };
        let max_retries = match env.var(&["VAULT_MAX_RETRIES"]) {
            Some(v) => v
                .parse()
                .map_err(|_| Failure::new(Kind::Config, "VAULT_MAX_RETRIES is not a number"))?,
            None => file
                .max_retries
                .unwrap_or(crate::source::rest::RETRY.max_retries),
        };
        let client_timeout = match env.var(&["VAULT_CLIENT_TIMEOUT"]) {
            Some(v) => parse_duration(&v).ok_or_else(|| {
                Failure::new(
                    Kind::Config,
                    format!(
                        "VAULT_CLIENT_TIMEOUT `{}` is not a duration such as `30s` (at most 100 years)",
                        Escaped(&v)
                    ),
                )
            })?,
            None => file.client_timeout.unwrap_or(Duration::from_secs(60)),
        };
        Ok(Settings {
            addr_defaulted: env.var(&["VAULT_ADDR", "BAO_ADDR"]).is_none()
                && file.address.is_none(),
            addr,
            namespace: env
                .var(&["VAULT_NAMESPACE", "BAO_NAMESPACE"])
                .or_else(|| file.namespace.clone()),
            auth: resolve_auth(file, &env)?,
            cacert: env.path(&["VAULT_CACERT", "BAO_CACERT"], &file.cacert),
            capath: env.path(&["VAULT_CAPATH", "BAO_CAPATH"], &file.capath),
            client_cert: env.path(&["VAULT_CLIENT_CERT", "BAO_CLIENT_CERT"], &file.client_cert),
            client_key: env.path(&["VAULT_CLIENT_KEY", "BAO_CLIENT_KEY"], &file.client_key),
            tls_server_name: env
                .var(&["VAULT_TLS_SERVER_NAME", "BAO_TLS_SERVER_NAME"])
                .or_else(|| file.tls_server_name.clone()),
            skip_verify,
            max_retries,
            client_timeout,
            cert_file: crate::source::http::cert_file(env.0),
        })
    }
}

/// The address: the environment's, else the config's, else Vault's default; an
/// http(s) URL with no user name, password, query or fragment.
fn resolve_address(file: &FileSettings, env: &Env) -> Result<String> {
    let addr = env
        .var(&["VAULT_ADDR", "BAO_ADDR"])
        .or_else(|| file.address.clone())
        .unwrap_or_else(|| "https://127.0.0.1:8200".to_owned());
    let addr = addr.trim_end_matches('/').to_owned();
    if address::origin(&addr).is_none() && !address::has_extras(&addr) {
        return fail(
            Kind::Config,
            format!(
                "the Vault address `{}` is not an http(s) URL such as `https://vault.example:8200`",
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
    Ok(addr)
}

/// The `[vault]` settings that decide where, how safely and as whom the user's
/// credentials travel, each with the variables that beat it. How the user logs in,
/// and with which of their credentials, is the user's: a project's file naming a
/// local file as the secret id or JWT would send that file to the server in place
/// of the user's token.
const GUARDED: [(&str, &[&str]); 14] = [
    ("address", &["VAULT_ADDR", "BAO_ADDR"]),
    ("skip_verify", &["VAULT_SKIP_VERIFY", "BAO_SKIP_VERIFY"]),
    ("cacert", &["VAULT_CACERT", "BAO_CACERT"]),
    ("capath", &["VAULT_CAPATH", "BAO_CAPATH"]),
    (
        "tls_server_name",
        &["VAULT_TLS_SERVER_NAME", "BAO_TLS_SERVER_NAME"],
    ),
    ("client_cert", &["VAULT_CLIENT_CERT", "BAO_CLIENT_CERT"]),
    ("client_key", &["VAULT_CLIENT_KEY", "BAO_CLIENT_KEY"]),
    ("auth", &["SECRETRUN_VAULT_AUTH"]),
    ("auth_mount", &["SECRETRUN_VAULT_AUTH_MOUNT"]),
    ("role", &["SECRETRUN_VAULT_ROLE"]),
    ("role_id", &["VAULT_ROLE_ID"]),
    ("role_id_file", &["VAULT_ROLE_ID", "VAULT_ROLE_ID_FILE"]),
    (
        "secret_id_file",
        &["VAULT_SECRET_ID", "VAULT_SECRET_ID_FILE"],
    ),
    ("jwt_file", &["SECRETRUN_VAULT_JWT_FILE"]),
];

impl FileSettings {
    /// Whether the file sets the [`GUARDED`] setting `name` (`skip_verify` counts
    /// only when it turns verification off).
    fn sets(&self, name: &str) -> bool {
        match name {
            "address" => self.address.is_some(),
            "skip_verify" => self.skip_verify == Some(true),
            "cacert" => self.cacert.is_some(),
            "capath" => self.capath.is_some(),
            "tls_server_name" => self.tls_server_name.is_some(),
            "client_cert" => self.client_cert.is_some(),
            "client_key" => self.client_key.is_some(),
            "auth" => self.auth.is_some(),
            "auth_mount" => self.auth_mount.is_some(),
            "role" => self.role.is_some(),
            "role_id" => self.role_id.is_some(),
            "role_id_file" => self.role_id_file.is_some(),
            "secret_id_file" => self.secret_id_file.is_some(),
            "jwt_file" => self.jwt_file.is_some(),
            _ => false,
        }
    }
}

/// Refuses the config's say over the [`GUARDED`] settings (those it sets that the
/// environment does not) unless the user trusts `addr`.
fn check_trust(file: &FileSettings, env: &Env, addr: &str) -> Result<()> {
    let from_file: Vec<String> = GUARDED
        .into_iter()
        .filter(|(name, names)| file.sets(name) && env.var(names).is_none())
        .map(|(name, _)| format!("`{name}`"))
        .collect();
    if from_file.is_empty()
        || address::is_trusted(addr, env.var(&["SECRETRUN_TRUSTED_ORIGINS"]).as_deref())
    {
        return Ok(());
    }
    fail(
        Kind::Config,
        format!(
            "the config file sets the Vault {} for `{}`; a project's file may not decide \
             where, how safely or as whom your Vault credentials travel. If this is \
             your Vault, trust it in your environment: {} (or set \
             VAULT_ADDR, the VAULT_* TLS variables and the SECRETRUN_VAULT_AUTH* \
             settings yourself)",
            from_file.join(", "),
            address::shown(addr),
            address::trust_hint(addr)
        ),
    )
}

/// How to get a token: `token` (VAULT_TOKEN, else ~/.vault-token), `approle`, `jwt`
/// or `kubernetes`.
fn resolve_auth(file: &FileSettings, env: &Env) -> Result<Auth> {
    let method = match env.var(&["SECRETRUN_VAULT_AUTH"]) {
        Some(text) => Method::parse(&text).ok_or_else(|| {
            Failure::new(
                Kind::Config,
                format!(
                    "SECRETRUN_VAULT_AUTH `{}` is not a Vault auth method ({})",
                    Escaped(&text),
                    Method::choices()
                ),
            )
        })?,
        None => file.auth.unwrap_or(Method::Token),
    };
    let mount = env
        .var(&["SECRETRUN_VAULT_AUTH_MOUNT"])
        .or_else(|| file.auth_mount.clone());
    if let Some(mount) = &mount {
        check_auth_mount(mount)?;
    }
    let name = method.name();
    match method {
        Method::Token => token(env),
        Method::AppRole => Ok(Auth::AppRole {
            mount: mount.unwrap_or_else(|| "approle".into()),
            role_id: approle_role_id(file, env)?,
            secret_id: approle_secret_id(file, env)?,
        }),
        Method::Jwt | Method::Kubernetes => {
            let Some(role) = env
                .var(&["SECRETRUN_VAULT_ROLE"])
                .or_else(|| file.role.clone())
            else {
                return fail(
                    Kind::Config,
                    format!("{name} login needs a role: `[vault] role` or SECRETRUN_VAULT_ROLE"),
                );
            };
            let token_path = match env.path(&["SECRETRUN_VAULT_JWT_FILE"], &file.jwt_file) {
                Some(p) => p,
                None if method == Method::Kubernetes => PathBuf::from(K8S_TOKEN),
                None => {
                    return fail(
                        Kind::Config,
                        "JWT login needs `[vault] jwt_file` or SECRETRUN_VAULT_JWT_FILE",
                    );
                }
            };
            Ok(Auth::Jwt {
                jwt: read_credential(&token_path, "the login token", Named)?,
                mount: mount.unwrap_or_else(|| name.to_owned()),
                role,
            })
        }
    }
}

/// An auth mount becomes part of the login's URL (`auth/MOUNT/login`): checked as a
/// reference's path is, so that `..`, `%2e` or `\\` cannot move the login elsewhere.
fn check_auth_mount(mount: &str) -> Result<()> {
    let plain = mount.trim_matches('/');
    let bad_segment = plain
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..");
    if bad_segment || plain.contains(['%', '\\', '?', '#']) || plain.chars().any(char::is_control) {
        return fail(
            Kind::Config,
            format!(
                "the Vault auth mount `{}` is not a plain path: it may not hold an empty, \
                 `.` or `..` segment, `%`, `\\`, `?`, `#` or a control character",
                Escaped(mount)
            ),
        );
    }
    Ok(())
}

/// VAULT_TOKEN (or BAO_TOKEN), else the token `vault login` wrote to ~/.vault-token.
fn token(env: &Env) -> Result<Auth> {
    if let Some(token) = env.var(&["VAULT_TOKEN", "BAO_TOKEN"]) {
        return Ok(Auth::Token(Zeroizing::new(token)));
    }
    match env
        .var(&["HOME"])
        .map(|home| Path::new(&home).join(".vault-token"))
    {
        Some(file) if file.is_file() => Ok(Auth::Token(read_credential(
            &file,
            "the Vault token",
            Named,
        )?)),
        _ => fail(
            Kind::Config,
            "no Vault token: set VAULT_TOKEN, write ~/.vault-token, or configure `[vault] auth`",
        ),
    }
}

fn approle_role_id(file: &FileSettings, env: &Env) -> Result<Zeroizing<String>> {
    match (
        env.var(&["VAULT_ROLE_ID"]),
        &file.role_id,
        env.path(&["VAULT_ROLE_ID_FILE"], &file.role_id_file),
    ) {
        (Some(id), _, _) => Ok(Zeroizing::new(id)),
        (None, Some(id), _) => Ok(Zeroizing::new(id.clone())),
        (None, None, Some(p)) => read_credential(&p, "the AppRole role id", Named),
        _ => fail(
            Kind::Config,
            "AppRole login needs a role id: VAULT_ROLE_ID, `role_id` or `role_id_file`",
        ),
    }
}

fn approle_secret_id(file: &FileSettings, env: &Env) -> Result<Zeroizing<String>> {
    match (
        env.var(&["VAULT_SECRET_ID"]),
        env.path(&["VAULT_SECRET_ID_FILE"], &file.secret_id_file),
    ) {
        (Some(id), _) => Ok(Zeroizing::new(id)),
        (None, Some(p)) => read_credential(&p, "the AppRole secret id", Named),
        _ => fail(
            Kind::Config,
            "AppRole login needs a secret id: VAULT_SECRET_ID or `secret_id_file`",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let file = FileSettings {
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
            FileSettings {
                skip_verify: Some(true),
                ..Default::default()
            },
            FileSettings {
                cacert: Some("ca.pem".into()),
                ..Default::default()
            },
            FileSettings {
                capath: Some("cas".into()),
                ..Default::default()
            },
            FileSettings {
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
        let file = FileSettings {
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
            let err = Settings::resolve(&FileSettings::default(), &env(pairs))
                .err()
                .unwrap();
            assert_eq!(crate::error::exit_code(&err), 78);
            assert!(!format!("{err:#}").contains("CANARY"), "{addr}");
        }
    }

    #[test]
    fn skip_verify_is_a_boolean() {
        let file = FileSettings::default();
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
        let err = Settings::resolve(&FileSettings::default(), &env(&[("HOME", "/nonexistent")]))
            .err()
            .unwrap();
        assert_eq!(crate::error::exit_code(&err), 78);
    }
}
