//! The Azure Key Vault source against stub servers: no Key Vault emulator installs
//! from the registries here. The stubs follow the documented REST protocols
//! strictly enough to fail a wrong client:
//!
//! - Microsoft Entra's token endpoint: `POST /{tenant}/oauth2/v2.0/token`, a form
//!   body (`application/x-www-form-urlencoded`) with `grant_type=client_credentials`,
//!   the client id, and either the client secret or a `jwt-bearer` client
//!   assertion, and `scope=https://vault.azure.net/.default`; anything else is
//!   answered as Entra answers it (400 `invalid_request`, 401 `invalid_client`).
//! - Key Vault: only `GET /secrets/{name}[/{version}]?api-version=7.x` with
//!   `Authorization: Bearer <a token the token stub issued>`; 401 with a challenge
//!   without it, 403 `Forbidden` for a token without access, 403 with the inner
//!   code `SecretDisabled` for a disabled secret, 404 `SecretNotFound`, and the
//!   secret bundle (`value`, `id`, `attributes.created/enabled/exp`) otherwise.
//! - App Service's managed identity endpoint: `GET ?api-version=2019-08-01&resource=`
//!   with the `X-IDENTITY-HEADER` secret.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cloud::{contacts_nothing, got_v, parse_form, reads_v};
use crate::conformance::{self, Backend};
use crate::stub::{self, InFlight, Request, Stub};
use crate::trace::{FILE_CALLS, assert_nothing_written, strace};
use crate::util::{CANARY, Test, redact};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT_ID: &str = "0e8b1d1e-reader";
/// The client secret: a canary, so that a leak of it shows.
const CLIENT_SECRET: &str = "azure-secret-CANARY-5c1f";
/// A client the token stub knows, whose tokens Key Vault refuses.
const NO_ACCESS_CLIENT: &str = "0e8b1d1e-no-access";
/// The token the stub issues to the reader, and the one for the client without access.
const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.azure-token-CANARY";
const NO_ACCESS_TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.no-access-CANARY";
/// The federated token of workload identity, and App Service's identity header.
const FEDERATED: &str = "eyJhbGciOiJSUzI1NiJ9.federated-CANARY.sig";
const IDENTITY_HEADER: &str = "identity-header-CANARY-77aa";

/// A secret version the Key Vault stub holds.
#[derive(Clone)]
struct Version {
    id: String,
    value: String,
    enabled: bool,
    created: u64,
}

/// The Key Vault stub's state: secrets by name, newest version last.
#[derive(Default)]
struct Vault {
    secrets: Mutex<HashMap<String, Vec<Version>>>,
    /// Reads of `slow-*` secrets in progress: they take 150 ms each, to show that
    /// reads overlap (counted apart from other tests' reads).
    in_flight: InFlight,
    /// Names answered 429 once (with Retry-After) before their value.
    throttle_once: Mutex<Vec<String>>,
}

struct Servers {
    login: Stub,
    vault: Stub,
    state: Arc<Vault>,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The query of a request path, decoded.
fn query(request: &Request) -> HashMap<String, String> {
    parse_form(request.path.split_once('?').map_or("", |(_, q)| q))
}

fn entra_error(status: u16, code: &str) -> (u16, String) {
    (
        status,
        json!({"error": code, "error_description": format!("AADSTS: {code}")}).to_string(),
    )
}

/// Microsoft Entra's token endpoint, as strict as the real one on what it checks.
fn token_endpoint(request: &Request, body: &str) -> (u16, String) {
    if request.method != "POST" || request.path != format!("/{TENANT}/oauth2/v2.0/token") {
        return (404, "{}".into());
    }
    if request.header("content-type") != Some("application/x-www-form-urlencoded") {
        return entra_error(400, "invalid_request");
    }
    let form = parse_form(body);
    let field = |n: &str| form.get(n).map(String::as_str);
    if field("grant_type") != Some("client_credentials")
        || field("scope") != Some("https://vault.azure.net/.default")
    {
        return entra_error(400, "invalid_request");
    }
    let url = format!(
        "http://{}{}",
        request.header("host").unwrap_or(""),
        request.path
    );
    let proven = match (field("client_secret"), field("client_assertion_type")) {
        (Some(secret), None) => secret == CLIENT_SECRET,
        (None, Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")) => {
            let assertion = field("client_assertion").unwrap_or("");
            assertion == FEDERATED
                || certificate_assertion_holds(assertion, field("client_id"), &url)
        }
        _ => return entra_error(400, "invalid_request"),
    };
    let token = match field("client_id") {
        Some(CLIENT_ID) if proven => TOKEN,
        Some(NO_ACCESS_CLIENT) if proven => NO_ACCESS_TOKEN,
        _ => return entra_error(401, "invalid_client"),
    };
    (
        200,
        json!({"token_type": "Bearer", "expires_in": 3599, "access_token": token}).to_string(),
    )
}

/// The certificate a test registered: its public key (PEM) and DER.
static CERTIFICATE: Mutex<Option<(String, Vec<u8>)>> = Mutex::new(None);

/// Verifies a certificate client assertion as Entra does: an RS256 JWT whose
/// signature the registered certificate's key verifies, whose `x5t#S256` is that
/// certificate's SHA-256 thumbprint, issued by and about the client, for this
/// token endpoint, and current.
fn certificate_assertion_holds(jwt: &str, client_id: Option<&str>, url: &str) -> bool {
    use base64::Engine;
    use rsa::pkcs8::DecodePublicKey;
    use sha2::Digest;
    let Some((public, der)) = CERTIFICATE.lock().unwrap().clone() else {
        return false;
    };
    let parts: Vec<&str> = jwt.split('.').collect();
    if parts.len() != 3 {
        return false;
    }
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let decode = |p: &str| -> Option<Value> { serde_json::from_slice(&b64.decode(p).ok()?).ok() };
    let (Some(header), Some(claims), Ok(signature)) =
        (decode(parts[0]), decode(parts[1]), b64.decode(parts[2]))
    else {
        return false;
    };
    let key = rsa::RsaPublicKey::from_public_key_der(&crate::util::pem_der(&public)).unwrap();
    let signed = sha2::Sha256::digest(format!("{}.{}", parts[0], parts[1]));
    let verified = key
        .verify(
            rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            &signed,
            &signature,
        )
        .is_ok();
    let now = now() as i64;
    let exp = claims["exp"].as_i64().unwrap_or(0);
    verified
        && header["alg"] == "RS256"
        && header["x5t#S256"] == b64.encode(sha2::Sha256::digest(&der))
        && claims["aud"] == url
        && client_id.is_some_and(|id| claims["iss"] == id && claims["sub"] == id)
        && claims["nbf"].as_i64().is_some_and(|nbf| nbf <= now + 5)
        && exp > now
        && exp <= now + 3600
}

fn kv_error(status: u16, code: &str, inner: Option<&str>) -> (u16, String) {
    let mut error = json!({"code": code, "message": format!("stub: {code}")});
    if let Some(inner) = inner {
        error["innererror"] = json!({ "code": inner });
    }
    (status, json!({ "error": error }).to_string())
}

impl Vault {
    fn answer(&self, request: &Request, base: &str) -> (u16, String) {
        let (path, _) = request.path.split_once('?').unwrap_or((&request.path, ""));
        let _guard = path.starts_with("/secrets/slow-").then(|| {
            let guard = self.in_flight.enter();
            std::thread::sleep(Duration::from_millis(150));
            guard
        });
        let api = query(request)
            .get("api-version")
            .cloned()
            .unwrap_or_default();
        if request.method != "GET" || !api.starts_with("7.") {
            return kv_error(400, "BadParameter", None);
        }
        match request.header("authorization") {
            Some(a) if a == format!("Bearer {TOKEN}") => {}
            Some(a) if a == format!("Bearer {NO_ACCESS_TOKEN}") => {
                return kv_error(403, "Forbidden", Some("AccessDenied"));
            }
            _ => return kv_error(401, "Unauthorized", None),
        }
        let Some(rest) = path.strip_prefix("/secrets/") else {
            return kv_error(404, "NotFound", None);
        };
        let (name, version) = rest.split_once('/').unwrap_or((rest, ""));
        {
            let mut throttled = self.throttle_once.lock().unwrap();
            if let Some(at) = throttled.iter().position(|n| n == name) {
                throttled.remove(at);
                return (429, json!({"error": {"code": "Throttled"}}).to_string());
            }
        }
        let secrets = self.secrets.lock().unwrap();
        let found = secrets.get(name).and_then(|versions| {
            if version.is_empty() {
                versions.last()
            } else {
                versions.iter().find(|v| v.id == version)
            }
        });
        let Some(v) = found else {
            return kv_error(404, "SecretNotFound", None);
        };
        if !v.enabled {
            return kv_error(403, "Forbidden", Some("SecretDisabled"));
        }
        let bundle = json!({
            "value": v.value,
            "id": format!("{base}/secrets/{name}/{}", v.id),
            "attributes": {"enabled": true, "created": v.created, "updated": v.created},
        });
        (200, bundle.to_string())
    }

    fn put(&self, name: &str, value: &str, enabled: bool) -> String {
        let mut secrets = self.secrets.lock().unwrap();
        let versions = secrets.entry(name.to_owned()).or_default();
        let id = format!("{:032x}", versions.len() + 1);
        versions.push(Version {
            id: id.clone(),
            value: value.to_owned(),
            enabled,
            created: now(),
        });
        id
    }
}

/// The shared stubs.
fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let login = stub::serve_with_body(token_endpoint);
        let state = Arc::new(Vault::default());
        let answering = Arc::clone(&state);
        let vault = stub::serve(move |request| answering.answer(request, "http://vault"));
        Servers {
            login,
            vault,
            state,
        }
    })
}

impl Servers {
    fn source(&self, name: &str) -> String {
        format!("azure-kv://{}/{name}", self.vault.addr)
    }

    /// The environment of a service principal that may read.
    fn allowed(&self, test: Test) -> Test {
        test.env("AZURE_TENANT_ID", TENANT)
            .env("AZURE_CLIENT_ID", CLIENT_ID)
            .env("AZURE_CLIENT_SECRET", CLIENT_SECRET)
            .env("AZURE_AUTHORITY_HOST", self.login.url())
            .env("SECRETRUN_TRUSTED_ORIGINS", self.vault.url())
    }
}

struct AzureBackend;

impl Backend for AzureBackend {
    fn put(&self, name: &str, data: Value) {
        servers().state.put(name, &data.to_string(), true);
    }

    fn source(&self, name: &str) -> String {
        servers().source(name)
    }

    fn allowed(&self, test: Test) -> Test {
        servers().allowed(test)
    }

    fn denied(&self, test: Test) -> Test {
        servers()
            .allowed(test)
            .env("AZURE_CLIENT_ID", NO_ACCESS_CLIENT)
    }

    fn unreachable(&self, test: Test) -> Test {
        servers().allowed(test).env(
            "AZURE_AUTHORITY_HOST",
            format!("http://127.0.0.1:{}", stub::closed_port()),
        )
    }

    fn credentials(&self) -> Vec<(String, String)> {
        vec![
            ("AZURE_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
            ("AZURE_CLIENT_ID".into(), CLIENT_ID.into()),
            ("AZURE_TENANT_ID".into(), TENANT.into()),
        ]
    }
}

#[test]
fn conformance() {
    conformance::run_all(&AzureBackend, "conf");
}

/// A run's stderr holds no credential of these tests.
#[track_caller]
fn no_credentials(text: &str) {
    for secret in [
        CLIENT_SECRET,
        TOKEN,
        NO_ACCESS_TOKEN,
        FEDERATED,
        IDENTITY_HEADER,
    ] {
        assert!(
            !text.contains(secret),
            "a credential leaked: {}",
            redact(text)
        );
    }
}

#[test]
fn plain_secrets_need_a_name_and_versions_are_pinned() {
    let s = servers();
    let first = s.state.put("stripe-key", CANARY, true);
    s.state
        .put("stripe-key", "sk_live_second_version_value_0001", true);
    let source = s.source("stripe-key");
    // A plain secret from --from needs its variable's name: Azure's names cannot be.
    let run = s
        .allowed(Test::new())
        .args(["--from", &source, "--", "true"])
        .run();
    run.status(78)
        .no_canary()
        .stderr_has("name its variable with `?as=NAME`");
    no_credentials(&run.stderr);
    let pinned = format!("{source}?version={first}&as=STRIPE_SECRET_KEY");
    let run = s
        .allowed(Test::new().file(".env", format!("LATEST={source}\n")))
        .args([
            "--pure", "--from", &pinned, "--from", ".env", "--", "env", "-0",
        ])
        .run();
    run.success();
    let env = run.env0();
    assert_eq!(env["STRIPE_SECRET_KEY"], CANARY, "the pinned version");
    assert_eq!(env["LATEST"], "sk_live_second_version_value_0001");
    no_credentials(&run.stderr);
    // `explain` names the version Key Vault answered with (the last part of `id`).
    let run = s
        .allowed(Test::new())
        .args(["--from", &pinned, "explain", "STRIPE_SECRET_KEY"])
        .run();
    run.success()
        .no_canary()
        .stdout_has(&format!(", version {first} ("));
}

#[test]
fn a_disabled_secret_and_a_missing_version_are_configuration_errors_naming_them() {
    let s = servers();
    s.state.put("disabled-one", CANARY, false);
    let run = s
        .allowed(Test::new())
        .args([
            "--from",
            &format!("{}?as=X", s.source("disabled-one")),
            "--",
            "true",
        ])
        .run();
    run.status(78)
        .no_canary()
        .stderr_has("disabled-one")
        .stderr_has("is disabled");
    let run = s
        .allowed(Test::new())
        .args([
            "--from",
            &format!("{}?version=0123abcd&as=X", s.source("disabled-one")),
            "--",
            "true",
        ])
        .run();
    run.status(78)
        .no_canary()
        .stderr_has("version `0123abcd`: not found on Key Vault");
}

#[test]
fn a_wrong_client_secret_is_refused_and_never_shown() {
    let s = servers();
    s.state.put("wrong-secret", CANARY, true);
    let run = s
        .allowed(Test::new())
        .env("AZURE_CLIENT_SECRET", "wrong-CANARY-secret")
        .args([
            "--from",
            &format!("{}?as=X", s.source("wrong-secret")),
            "--",
            "true",
        ])
        .run();
    run.status(77).no_canary().stderr_has("`invalid_client`");
    assert!(!run.stderr.contains("wrong-CANARY-secret"));
}

#[test]
fn the_token_goes_only_to_key_vault_or_a_trusted_origin() {
    let s = servers();
    s.state.put("untrusted", CANARY, true);
    let run = Test::new()
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", CLIENT_ID)
        .env("AZURE_CLIENT_SECRET", CLIENT_SECRET)
        .env("AZURE_AUTHORITY_HOST", s.login.url())
        .file(".env", format!("X={}\n", s.source("untrusted")))
        .args(["--", "true"])
        .run();
    run.status(78)
        .no_canary()
        .stderr_has("not in Azure Key Vault's domains")
        .stderr_has("SECRETRUN_TRUSTED_ORIGINS=https://127.0.0.1:");
    let asked = s
        .vault
        .requests
        .lock()
        .unwrap()
        .iter()
        .any(|r| r.path.contains("/untrusted"));
    assert!(!asked, "the untrusted vault was asked");
}

#[test]
fn workload_identity_sends_the_federated_token_as_the_assertion() {
    let s = servers();
    s.state.put("federated", "via-workload-identity", true);
    let test = Test::new().file("token", FEDERATED);
    let file = test.dir().join("token");
    let run = test
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", CLIENT_ID)
        .env("AZURE_FEDERATED_TOKEN_FILE", &file)
        .env("AZURE_AUTHORITY_HOST", s.login.url())
        .env("SECRETRUN_TRUSTED_ORIGINS", s.vault.url())
        .args(reads_v(&s.source("federated")))
        .run();
    run.success();
    assert!(run.stdout.starts_with("via-workload-identity\n"));
    assert!(
        !run.stdout.contains("AZURE_"),
        "Azure settings reached the command"
    );
    no_credentials(&run.stdout);
    no_credentials(&run.stderr);
}

#[test]
fn app_service_managed_identity() {
    let s = servers();
    s.state.put("managed", "via-managed-identity", true);
    let identity = stub::serve(|request| {
        let q = query(request);
        let ok = request.method == "GET"
            && request.path.starts_with("/msi/token?")
            && request.header("x-identity-header") == Some(IDENTITY_HEADER)
            && q.get("api-version").map(String::as_str) == Some("2019-08-01")
            && q.get("resource").map(String::as_str) == Some("https://vault.azure.net");
        if ok {
            (
                200,
                json!({"access_token": TOKEN, "expires_on": "1795000000", "token_type": "Bearer"})
                    .to_string(),
            )
        } else {
            (400, json!({"error": "invalid_request"}).to_string())
        }
    });
    let run = Test::new()
        .env("IDENTITY_ENDPOINT", format!("{}/msi/token", identity.url()))
        .env("IDENTITY_HEADER", IDENTITY_HEADER)
        .env("SECRETRUN_TRUSTED_ORIGINS", s.vault.url())
        .args(["--keep", "IDENTITY_*"])
        .args(reads_v(&s.source("managed")))
        .run();
    got_v(&run, "via-managed-identity", "IDENTITY_");
    no_credentials(&run.stdout);
}

/// Off Azure and without credentials: a launch fails at once, saying what to set,
/// and nothing is contacted (no metadata endpoint: strace sees no connect at all).
#[test]
fn off_azure_without_credentials_nothing_is_contacted() {
    let run = Test::new()
        .file(".env", "X=azure-kv://my-vault/db-password\n")
        .args(["--", "true"])
        .run();
    run.status(78)
        .stderr_has("no Azure credentials")
        .stderr_has("AZURE_CLIENT_SECRET");
    contacts_nothing(
        "X=azure-kv://my-vault/db-password\n",
        "no Azure credentials",
    );
}

#[test]
fn reads_run_at_once_with_a_bound_and_throttling_is_waited_out() {
    let s = servers();
    let names: Vec<String> = (0..40).map(|i| format!("slow-{i}")).collect();
    for name in &names {
        s.state.put(name, &format!("value-{name}"), true);
    }
    s.state.throttle_once.lock().unwrap().push("slow-3".into());
    let mut test = s.allowed(Test::new()).args(["--pure"]);
    for (i, name) in names.iter().enumerate() {
        test = test.args(["--from", &format!("{}?as=V{i}", s.source(name))]);
    }
    let run = test.args(["--", "env", "-0"]).run();
    run.success();
    let env = run.env0();
    assert_eq!(env.len(), 40);
    assert_eq!(env["V3"], "value-slow-3", "the throttled read was retried");
    let most = s.state.in_flight.max();
    assert!((2..=32).contains(&most), "{most} reads in flight at once");
}

#[test]
fn a_stalled_vault_is_cut_off_at_the_deadline() {
    let s = servers();
    let addr = stub::stalled_listener();
    let started = Instant::now();
    let run = s
        .allowed(Test::new())
        .env("SECRETRUN_TRUSTED_ORIGINS", format!("http://{addr}"))
        .args([
            "--timeout",
            "2s",
            "--from",
            &format!("azure-kv://{addr}/x?as=X"),
            "--",
            "true",
        ])
        .run();
    run.status(69).no_canary().stderr_has("deadline");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn an_azure_launch_writes_nothing_to_disk() {
    let s = servers();
    s.state.put("traced", CANARY, true);
    let test = Test::new().file(".env", format!("X={}\n", s.source("traced")));
    let env = [
        ("AZURE_TENANT_ID", TENANT.to_owned()),
        ("AZURE_CLIENT_ID", CLIENT_ID.to_owned()),
        ("AZURE_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ("AZURE_AUTHORITY_HOST", s.login.url()),
        ("SECRETRUN_TRUSTED_ORIGINS", s.vault.url()),
    ];
    for args in [&["--", "true"][..], &["check"], &["list"]] {
        let trace = strace(&test, FILE_CALLS, args, &env);
        assert_nothing_written(&format!("{args:?}"), &trace);
    }
}

/// A certificate credential: the token endpoint verifies the client assertion's
/// signature with the certificate's public key, its thumbprint and its claims.
#[test]
fn a_certificate_credential_signs_a_client_assertion() {
    let s = servers();
    s.state.put("by-certificate", "via-certificate", true);
    let keys = tempfile::tempdir().unwrap();
    let dir = keys.path().to_owned();
    let openssl = |args: &[&str]| {
        let status = std::process::Command::new("openssl")
            .args(args)
            .current_dir(&dir)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "openssl {args:?}");
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
        "-subj",
        "/CN=secretrun-test",
        "-days",
        "1",
    ]);
    openssl(&[
        "x509",
        "-in",
        "cert.pem",
        "-pubkey",
        "-noout",
        "-out",
        "public.pem",
    ]);
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let cert = read("cert.pem");
    let der = {
        use base64::Engine;
        let body: String = cert.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    };
    *CERTIFICATE.lock().unwrap() = Some((read("public.pem"), der));
    std::fs::write(dir.join("both.pem"), format!("{}{}", read("key.pem"), cert)).unwrap();
    let with_certificate = |file: &str| {
        Test::new()
            .env("AZURE_TENANT_ID", TENANT)
            .env("AZURE_CLIENT_ID", CLIENT_ID)
            .env("AZURE_CLIENT_CERTIFICATE_PATH", dir.join(file))
            .env("AZURE_AUTHORITY_HOST", s.login.url())
            .env("SECRETRUN_TRUSTED_ORIGINS", s.vault.url())
    };
    let run = with_certificate("both.pem")
        .args(reads_v(&s.source("by-certificate")))
        .run();
    run.success();
    assert!(run.stdout.starts_with("via-certificate\n"));
    // Another key, same certificate: the signature does not verify.
    openssl(&["genrsa", "-out", "other.pem", "2048"]);
    std::fs::write(
        dir.join("wrong.pem"),
        format!("{}{}", read("other.pem"), cert),
    )
    .unwrap();
    let run = with_certificate("wrong.pem")
        .args([
            "--from",
            &format!("{}?as=V", s.source("by-certificate")),
            "--",
            "true",
        ])
        .run();
    run.status(77).stderr_has("`invalid_client`");
}

/// The Azure CLI's login, last in the chain: `az account get-access-token` for the
/// vault's resource. A stand-in `az` on PATH checks its arguments and answers as the
/// CLI does.
#[test]
fn the_azure_cli_login_is_the_last_resort() {
    let s = servers();
    s.state.put("by-cli", "via-azure-cli", true);
    let script = format!(
        "#!/bin/sh\n[ \"$*\" = \"account get-access-token --output json --resource https://vault.azure.net\" ] || exit 3\n\
         printf '{{\"accessToken\": \"{TOKEN}\", \"expiresOn\": \"2099-01-01 00:00:00.000000\", \"tokenType\": \"Bearer\"}}'\n"
    );
    let test = Test::new().file("bin/az", script);
    let bin = test.dir().join("bin");
    std::fs::set_permissions(
        bin.join("az"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let run = test
        .env("PATH", format!("{}:{}", bin.display(), crate::util::PATH))
        .env("SECRETRUN_TRUSTED_ORIGINS", s.vault.url())
        .args(reads_v(&s.source("by-cli")))
        .run();
    got_v(&run, "via-azure-cli", "SECRETRUN_");
    no_credentials(&run.stdout);
    no_credentials(&run.stderr);
}

/// One launch asks Entra for one token, reads each distinct secret once however
/// many variables take keys of it, and follows no redirect: a Key Vault that
/// answers 302 to another host is refused, and the other host hears nothing.
#[test]
fn one_token_each_secret_read_once_and_no_redirect_followed() {
    let login = stub::serve_with_body(token_endpoint);
    let state = Arc::new(Vault::default());
    let answering = Arc::clone(&state);
    let vault = stub::serve(move |request| answering.answer(request, "http://vault"));
    state.put(
        "db",
        &json!({"USER": "app", "PASS": "pw"}).to_string(),
        true,
    );
    state.put("api", "key-1", true);
    let source = |name: &str| format!("azure-kv://{}/{name}", vault.addr);
    let env = |test: Test| {
        test.env("AZURE_TENANT_ID", TENANT)
            .env("AZURE_CLIENT_ID", CLIENT_ID)
            .env("AZURE_CLIENT_SECRET", CLIENT_SECRET)
            .env("AZURE_AUTHORITY_HOST", login.url())
            .env("SECRETRUN_TRUSTED_ORIGINS", vault.url())
    };
    let run = env(Test::new())
        .file(
            ".env",
            format!(
                "DB_USER={db}#USER\nDB_PASS={db}#PASS\nAPI={api}\nAPI_AGAIN={api}\n",
                db = source("db"),
                api = source("api")
            ),
        )
        .args(["--", "env", "-0"])
        .run();
    run.success().no_canary();
    let got = run.env0();
    assert_eq!(
        (&got["DB_USER"][..], &got["DB_PASS"][..], &got["API"][..]),
        ("app", "pw", "key-1")
    );
    assert_eq!(login.requests.lock().unwrap().len(), 1, "one token");
    let reads = vault.requests.lock().unwrap();
    for name in ["db", "api"] {
        let of = |r: &&Request| r.path.starts_with(&format!("/secrets/{name}/"));
        assert_eq!(reads.iter().filter(of).count(), 1, "`{name}` read once");
    }
    drop(reads);

    // Key Vault redirects to another host: the token would go with the request.
    let elsewhere = stub::serve(|_| (200, json!({"value": "from-elsewhere"}).to_string()));
    let to = elsewhere.url();
    let redirecting = stub::serve(move |_| (302, format!("{to}/secrets/db?api-version=7.5")));
    Test::new()
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", CLIENT_ID)
        .env("AZURE_CLIENT_SECRET", CLIENT_SECRET)
        .env("AZURE_AUTHORITY_HOST", login.url())
        .env("SECRETRUN_TRUSTED_ORIGINS", redirecting.url())
        .args([
            "--from",
            &format!("azure-kv://{}/db?as=X", redirecting.addr),
            "--",
            "true",
        ])
        .run()
        .status(78)
        .no_canary()
        .stderr_has("answered 302");
    assert!(
        elsewhere.requests.lock().unwrap().is_empty(),
        "the redirect was followed"
    );
    assert_eq!(redirecting.requests.lock().unwrap().len(), 1);
}

/// Round trips: one for the token, one wave for the reads, for 1 secret as for 20
/// (`round_trips.rs` counts the waves at proxies that hold each answer).
#[test]
fn two_round_trips_for_one_secret_or_twenty() {
    use crate::round_trips::{holding_proxy, waves};
    let s = servers();
    let (login, logins) = holding_proxy(s.login.url());
    let (vault, reads) = holding_proxy(s.vault.url());
    for count in [1, 20] {
        logins.lock().unwrap().clear();
        reads.lock().unwrap().clear();
        let mut test = Test::new()
            .env("AZURE_TENANT_ID", TENANT)
            .env("AZURE_CLIENT_ID", CLIENT_ID)
            .env("AZURE_CLIENT_SECRET", CLIENT_SECRET)
            .env("AZURE_AUTHORITY_HOST", login.url())
            .env("SECRETRUN_TRUSTED_ORIGINS", vault.url())
            .args(["--timeout", "60s", "--pure"]);
        for i in 0..count {
            let name = format!("trip-{count}-{i}");
            s.state.put(&name, &format!("v{i}"), true);
            test = test.args([
                "--from",
                &format!("azure-kv://{}/{name}?as=V{i}", vault.addr),
            ]);
        }
        let run = test.args(["--", "env", "-0"]).run();
        run.success().no_canary();
        assert_eq!(run.env0().len(), count);
        let mut all = logins.lock().unwrap().clone();
        assert_eq!(all.len(), 1, "one token");
        let reads = reads.lock().unwrap().clone();
        assert_eq!(reads.len(), count, "each secret once");
        all.extend(reads);
        assert_eq!(
            waves(all),
            2,
            "{count} secrets: the token, then one wave of reads"
        );
    }
}

/// A PKCS #12 certificate (its password set) is refused with the `openssl` line
/// that converts it, and an authority that is plain http off loopback is refused:
/// both 78.
#[test]
fn a_pkcs12_certificate_and_a_plain_http_authority_are_refused() {
    let s = servers();
    Test::new()
        .file("cert.pfx", "not read")
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", CLIENT_ID)
        .env("AZURE_CLIENT_CERTIFICATE_PATH", "cert.pfx")
        .env("AZURE_CLIENT_CERTIFICATE_PASSWORD", "pfx-CANARY-pass")
        .env("AZURE_AUTHORITY_HOST", s.login.url())
        .args(["--from", &format!("{}?as=X", s.source("any")), "--", "true"])
        .run()
        .status(78)
        .no_canary()
        .stderr_has("openssl pkcs12 -in cert.pfx -nodes -out cert.pem");
    Test::new()
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", CLIENT_ID)
        .env("AZURE_CLIENT_SECRET", CLIENT_SECRET)
        .env("AZURE_AUTHORITY_HOST", "http://login.example.com")
        .args(["--from", "azure-kv://my-vault/db?as=X", "--", "true"])
        .run()
        .status(78)
        .no_canary()
        .stderr_has("AZURE_AUTHORITY_HOST `http://login.example.com` is not an https:// address");
}
