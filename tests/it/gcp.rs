//! The Google Secret Manager source against stub servers: no emulator installs from
//! the registries here. The stubs follow the documented REST protocols strictly
//! enough to fail a wrong client:
//!
//! - OAuth 2.0 token endpoint (`POST /token`, a form body): the service-account
//!   JWT bearer grant, whose JWT the stub **verifies** with the test key's public
//!   key (RS256, `iss` the account, `scope` cloud-platform, `aud` this endpoint,
//!   `iat`/`exp` current and at most an hour apart); the refresh-token grant; and
//!   STS's token exchange (audience, subject token and its type, requested type).
//! - IAM Credentials' `generateAccessToken` (impersonation), with the STS token.
//! - Secret Manager: only `GET /v1/projects/P/secrets/S/versions/V:access` with a
//!   bearer token it issued; the payload base64 with its `dataCrc32c` (int64 as a
//!   string), Google's error shapes (`NOT_FOUND`, `PERMISSION_DENIED`,
//!   `FAILED_PRECONDITION` for a disabled version).
//! - The metadata server: `Metadata-Flavor: Google` required, as the real one
//!   requires it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::cloud::{contacts_nothing, got_v, parse_form, reads_v};

/// The arguments of a launch that would print `RAN` with `source` as `X`.
fn reads_x(source: &str) -> Vec<String> {
    ["--from", &format!("{source}?as=X"), "--", "echo", "RAN"]
        .map(str::to_owned)
        .to_vec()
}
use crate::conformance::{self, Backend};
use crate::stub::{self, InFlight, Request, Stub};
use crate::trace::{FILE_CALLS, assert_nothing_written, strace};
use crate::util::{CANARY, Test, redact};

const PROJECT: &str = "test-project";
const EMAIL: &str = "reader@test-project.iam.gserviceaccount.com";
const NO_ACCESS_EMAIL: &str = "noaccess@test-project.iam.gserviceaccount.com";
const TOKEN: &str = "ya29.gcp-token-CANARY";
const NO_ACCESS_TOKEN: &str = "ya29.no-access-CANARY";
const STS_TOKEN: &str = "ya29.sts-token-CANARY";
const REFRESH: &str = "1//refresh-CANARY";
const USER_SECRET: &str = "user-client-secret-CANARY";
const SUBJECT: &str = "eyJhbGciOiJSUzI1NiJ9.subject-CANARY.sig";
const AUDIENCE: &str =
    "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k";

/// A CRC-32C written apart from secretrun's (bit by bit, no table), so the two
/// cannot agree by sharing a mistake.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0x82F6_3B78 & mask);
        }
    }
    !crc
}

struct Version {
    data: Vec<u8>,
    enabled: bool,
    /// Send a wrong checksum (a payload damaged on the way).
    damaged: bool,
}

#[derive(Default)]
struct Manager {
    secrets: Mutex<HashMap<String, Vec<Version>>>,
    in_flight: InFlight,
    /// Secrets whose next read is answered 429 RESOURCE_EXHAUSTED (with
    /// `Retry-After`), as Secret Manager throttles: once each.
    throttle_once: Mutex<Vec<String>>,
}

struct Servers {
    oauth: Stub,
    manager: Stub,
    state: Arc<Manager>,
    /// The service-account key files (one that may read, one that may not).
    reader_file: PathBuf,
    no_access_file: PathBuf,
    /// Kept for as long as the tests run.
    _dir: tempfile::TempDir,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Verifies a service account's JWT as Google's token endpoint does; the account.
fn verified_account(jwt: &str, public_pem: &str, audience: &str) -> Option<String> {
    use rsa::pkcs8::DecodePublicKey;
    use sha2::Digest;
    let parts: Vec<&str> = jwt.split('.').collect();
    let [h, c, sig] = parts.as_slice() else {
        return None;
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: Value = serde_json::from_slice(&b64.decode(h).ok()?).ok()?;
    let claims: Value = serde_json::from_slice(&b64.decode(c).ok()?).ok()?;
    let key = rsa::RsaPublicKey::from_public_key_der(&crate::util::pem_der(public_pem)).ok()?;
    let digest = sha2::Sha256::digest(format!("{h}.{c}"));
    key.verify(
        rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
        &digest,
        &b64.decode(sig).ok()?,
    )
    .ok()?;
    let (iat, exp) = (claims["iat"].as_i64()?, claims["exp"].as_i64()?);
    let current = iat <= now() + 5 && exp > now() && exp - iat <= 3600;
    (header["alg"] == "RS256"
        && header["kid"] == "key-1"
        && claims["scope"] == "https://www.googleapis.com/auth/cloud-platform"
        && claims["aud"] == audience
        && current)
        .then(|| claims["iss"].as_str().unwrap_or("").to_owned())
}

fn oauth_error(status: u16, code: &str) -> (u16, String) {
    (
        status,
        json!({"error": code, "error_description": "stub"}).to_string(),
    )
}

fn token(token: &str) -> (u16, String) {
    (
        200,
        json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"}).to_string(),
    )
}

/// The OAuth token endpoint, STS and IAM Credentials in one stub.
fn oauth(request: &Request, body: &str, public_pem: &str) -> (u16, String) {
    let here = format!("http://{}", request.header("host").unwrap_or(""));
    if request.method == "POST"
        && request.path == "/v1/projects/-/serviceAccounts/reader@x:generateAccessToken"
    {
        let asked: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let ok = request.header("authorization") == Some(&format!("Bearer {STS_TOKEN}"))
            && asked["scope"] == json!(["https://www.googleapis.com/auth/cloud-platform"]);
        return if ok {
            (
                200,
                json!({"accessToken": TOKEN, "expireTime": "2099-01-01T00:00:00Z"}).to_string(),
            )
        } else {
            (
                403,
                json!({"error": {"code": 403, "status": "PERMISSION_DENIED"}}).to_string(),
            )
        };
    }
    if request.method != "POST" || request.path != "/token" {
        return (404, "{}".into());
    }
    if request.header("content-type") != Some("application/x-www-form-urlencoded") {
        return oauth_error(400, "invalid_request");
    }
    let form = parse_form(body);
    let field = |n: &str| form.get(n).map(String::as_str).unwrap_or("");
    match field("grant_type") {
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => {
            match verified_account(field("assertion"), public_pem, &format!("{here}/token"))
                .as_deref()
            {
                Some(EMAIL) => token(TOKEN),
                Some(NO_ACCESS_EMAIL) => token(NO_ACCESS_TOKEN),
                _ => oauth_error(400, "invalid_grant"),
            }
        }
        "refresh_token" => {
            let ok = field("client_id") == "user-client.apps.googleusercontent.com"
                && field("client_secret") == USER_SECRET
                && field("refresh_token") == REFRESH;
            if ok {
                token(TOKEN)
            } else {
                oauth_error(400, "invalid_grant")
            }
        }
        "urn:ietf:params:oauth:grant-type:token-exchange" => {
            let ok = field("audience") == AUDIENCE
                && field("subject_token") == SUBJECT
                && field("subject_token_type") == "urn:ietf:params:oauth:token-type:jwt"
                && field("requested_token_type") == "urn:ietf:params:oauth:token-type:access_token"
                && field("scope") == "https://www.googleapis.com/auth/cloud-platform";
            if ok {
                token(STS_TOKEN)
            } else {
                oauth_error(400, "invalid_grant")
            }
        }
        _ => oauth_error(400, "unsupported_grant_type"),
    }
}

fn google_error(code: u16, status: &str, message: &str) -> (u16, String) {
    (
        code,
        json!({"error": {"code": code, "message": message, "status": status}}).to_string(),
    )
}

impl Manager {
    fn answer(&self, request: &Request) -> (u16, String) {
        let slow = request.path.contains("/secrets/slow-");
        let _guard = slow.then(|| {
            let guard = self.in_flight.enter();
            std::thread::sleep(Duration::from_millis(150));
            guard
        });
        if request.method != "GET" {
            return google_error(405, "METHOD_NOT_ALLOWED", "stub");
        }
        match request.header("authorization") {
            Some(a) if a == format!("Bearer {TOKEN}") => {}
            Some(a) if a == format!("Bearer {NO_ACCESS_TOKEN}") => {
                return google_error(403, "PERMISSION_DENIED", "Permission denied on resource.");
            }
            _ => return google_error(401, "UNAUTHENTICATED", "Request had invalid credentials."),
        }
        let Some(rest) = request
            .path
            .strip_prefix(&format!("/v1/projects/{PROJECT}/secrets/"))
            .and_then(|r| r.strip_suffix(":access"))
        else {
            return google_error(404, "NOT_FOUND", "stub: no such method");
        };
        let Some((secret, version)) = rest.split_once("/versions/") else {
            return google_error(404, "NOT_FOUND", "stub: no such method");
        };
        {
            let mut throttled = self.throttle_once.lock().unwrap();
            if let Some(at) = throttled.iter().position(|t| t == secret) {
                throttled.remove(at);
                return google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.");
            }
        }
        let secrets = self.secrets.lock().unwrap();
        let versions = secrets.get(secret);
        let (n, v) = match (versions, version) {
            (Some(vs), "latest") if !vs.is_empty() => (vs.len(), &vs[vs.len() - 1]),
            (Some(vs), n) => match n.parse::<usize>().ok().filter(|&n| n >= 1 && n <= vs.len()) {
                Some(n) => (n, &vs[n - 1]),
                None => return google_error(404, "NOT_FOUND", "Secret Version not found."),
            },
            (None, _) => {
                return google_error(404, "NOT_FOUND", "Secret not found or has no versions.");
            }
        };
        if !v.enabled {
            // A version not enabled is disabled, or destroyed (named so here).
            let state = if secret.starts_with("destroyed") {
                "DESTROYED"
            } else {
                "DISABLED"
            };
            let message = format!(
                "Secret Version [projects/1/secrets/{secret}/versions/{n}] is in {state} state."
            );
            return google_error(400, "FAILED_PRECONDITION", &message);
        }
        let crc = crc32c(&v.data) ^ u32::from(v.damaged);
        let body = json!({
            "name": format!("projects/1/secrets/{secret}/versions/{n}"),
            "payload": {
                "data": base64::engine::general_purpose::STANDARD.encode(&v.data),
                "dataCrc32c": crc.to_string(),
            },
        });
        (200, body.to_string())
    }

    fn put(&self, name: &str, data: &[u8], enabled: bool, damaged: bool) {
        self.secrets
            .lock()
            .unwrap()
            .entry(name.to_owned())
            .or_default()
            .push(Version {
                data: data.to_vec(),
                enabled,
                damaged,
            });
    }
}

/// A service-account key file as Google writes one.
fn key_file(
    dir: &std::path::Path,
    name: &str,
    email: &str,
    key_pem: &str,
    token_uri: &str,
) -> PathBuf {
    let doc = json!({
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "key-1",
        "private_key": key_pem,
        "client_email": email,
        "client_id": "1",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    });
    let path = dir.join(name);
    std::fs::write(&path, doc.to_string()).unwrap();
    path
}

fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let openssl = |args: &[&str]| {
            let status = std::process::Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(status.success(), "openssl {args:?}");
        };
        openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "key.pem",
        ]);
        openssl(&["pkey", "-in", "key.pem", "-pubout", "-out", "public.pem"]);
        let key = std::fs::read_to_string(dir.path().join("key.pem")).unwrap();
        let public = std::fs::read_to_string(dir.path().join("public.pem")).unwrap();
        let oauth = stub::serve_with_body(move |request, body| oauth(request, body, &public));
        let state = Arc::new(Manager::default());
        let answering = Arc::clone(&state);
        let manager = stub::serve(move |request| answering.answer(request));
        let token_uri = format!("{}/token", oauth.url());
        let reader_file = key_file(dir.path(), "reader.json", EMAIL, &key, &token_uri);
        let no_access_file = key_file(
            dir.path(),
            "noaccess.json",
            NO_ACCESS_EMAIL,
            &key,
            &token_uri,
        );
        Servers {
            oauth,
            manager,
            state,
            reader_file,
            no_access_file,
            _dir: dir,
        }
    })
}

impl Servers {
    fn source(&self, name: &str) -> String {
        format!("gcp-sm://{PROJECT}/{name}")
    }

    fn allowed(&self, test: Test) -> Test {
        test.env("GOOGLE_APPLICATION_CREDENTIALS", &self.reader_file)
            .env("SECRETRUN_GCP_ENDPOINT", self.manager.url())
    }
}

struct GcpBackend;

impl Backend for GcpBackend {
    fn put(&self, name: &str, data: Value) {
        servers()
            .state
            .put(name, data.to_string().as_bytes(), true, false);
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
            .env("GOOGLE_APPLICATION_CREDENTIALS", &servers().no_access_file)
    }

    fn unreachable(&self, test: Test) -> Test {
        servers().allowed(test).env(
            "SECRETRUN_GCP_ENDPOINT",
            format!("http://127.0.0.1:{}", stub::closed_port()),
        )
    }

    fn credentials(&self) -> Vec<(String, String)> {
        vec![(
            "GOOGLE_APPLICATION_CREDENTIALS".into(),
            servers().reader_file.to_string_lossy().into_owned(),
        )]
    }

    fn records_creation(&self) -> bool {
        false
    }
}

#[test]
fn conformance() {
    conformance::run_all(&GcpBackend, "conf");
}

#[track_caller]
fn no_credentials(text: &str) {
    for secret in [
        TOKEN,
        NO_ACCESS_TOKEN,
        STS_TOKEN,
        REFRESH,
        USER_SECRET,
        SUBJECT,
        "PRIVATE KEY",
    ] {
        assert!(
            !text.contains(secret),
            "a credential leaked: {}",
            redact(text)
        );
    }
}

#[test]
fn versions_long_names_and_plain_text() {
    let s = servers();
    s.state.put(
        "stripe",
        format!("{{\"secret_key\":\"{CANARY}\"}}").as_bytes(),
        true,
        false,
    );
    s.state.put(
        "stripe",
        b"{\"secret_key\":\"sk_live_v2_value_000000000\"}",
        true,
        false,
    );
    s.state
        .put("db-password", b"plain-db-password", true, false);
    let run = s
        .allowed(Test::new().file(
            ".env",
            format!(
                "PINNED={}?version=1#secret_key\nDB_PASSWORD={}\n",
                s.source("stripe"),
                s.source("db-password")
            ),
        ))
        .args([
            "--pure",
            "--from",
            ".env",
            "--from",
            &format!("gcp-sm://projects/{PROJECT}/secrets/stripe/versions/latest#secret_key"),
            "--",
            "env",
            "-0",
        ])
        .run();
    run.success();
    let env = run.env0();
    assert_eq!(env["PINNED"], CANARY);
    assert_eq!(env["secret_key"], "sk_live_v2_value_000000000");
    assert_eq!(env["DB_PASSWORD"], "plain-db-password");
    no_credentials(&run.stderr);
    // `explain` names the version Secret Manager answered with: `latest` is 2.
    let latest = format!("gcp-sm://projects/{PROJECT}/secrets/stripe#secret_key");
    for (from, name, version) in [
        (".env", "PINNED", "1"),
        (latest.as_str(), "secret_key", "2"),
    ] {
        let run = s
            .allowed(Test::new().file(
                ".env",
                format!("PINNED={}?version=1#secret_key\n", s.source("stripe")),
            ))
            .args(["--from", from, "explain", name])
            .run();
        run.success()
            .no_canary()
            .stdout_has(&format!(", version {version} ("));
    }
}

#[test]
fn a_disabled_version_and_a_damaged_payload_are_refused() {
    let s = servers();
    s.state.put("disabled", CANARY.as_bytes(), false, false);
    let run = s
        .allowed(Test::new())
        .args(reads_x(&s.source("disabled")))
        .run();
    run.status(78)
        .no_canary()
        .stdout_is("")
        .stderr_has("version `latest` is disabled");
    s.state
        .put("destroyed-one", CANARY.as_bytes(), false, false);
    s.allowed(Test::new())
        .args(reads_x(&s.source("destroyed-one")))
        .run()
        .status(78)
        .no_canary()
        .stdout_is("")
        .stderr_has("version `latest` is destroyed");
    s.state.put("damaged", CANARY.as_bytes(), true, true);
    let run = s
        .allowed(Test::new())
        .args(reads_x(&s.source("damaged")))
        .run();
    run.status(69)
        .no_canary()
        .stdout_is("")
        .stderr_has("CRC32C");
}

#[test]
fn a_service_account_whose_jwt_does_not_verify_is_refused() {
    let s = servers();
    s.state.put("forged", CANARY.as_bytes(), true, false);
    // The same account, another key: the token endpoint's check of the signature
    // refuses it.
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "other.pem",
        ])
        .current_dir(dir.path())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let other = std::fs::read_to_string(dir.path().join("other.pem")).unwrap();
    let file = key_file(
        dir.path(),
        "forged.json",
        EMAIL,
        &other,
        &format!("{}/token", s.oauth.url()),
    );
    let run = s
        .allowed(Test::new())
        .env("GOOGLE_APPLICATION_CREDENTIALS", &file)
        .args([
            "--from",
            &format!("{}?as=X", s.source("forged")),
            "--",
            "true",
        ])
        .run();
    run.status(77).no_canary().stderr_has("`invalid_grant`");
    no_credentials(&run.stderr);
}

#[test]
fn gclouds_user_login_is_found_in_home() {
    let s = servers();
    s.state.put("by-user", b"via-user-login", true, false);
    let adc = json!({
        "type": "authorized_user",
        "client_id": "user-client.apps.googleusercontent.com",
        "client_secret": USER_SECRET,
        "refresh_token": REFRESH,
        "token_uri": format!("{}/token", s.oauth.url()),
    });
    let run = Test::new()
        .file(
            ".config/gcloud/application_default_credentials.json",
            adc.to_string(),
        )
        .env("SECRETRUN_GCP_ENDPOINT", s.manager.url())
        .args(reads_v(&s.source("by-user")))
        .run();
    run.success();
    assert!(run.stdout.starts_with("via-user-login\n"));
    no_credentials(&run.stderr);
}

#[test]
fn workload_identity_federation_exchanges_and_impersonates() {
    let s = servers();
    s.state.put("federated", b"via-federation", true, false);
    let test = Test::new().file("subject.json", json!({ "id_token": SUBJECT }).to_string());
    let external = json!({
        "type": "external_account",
        "audience": AUDIENCE,
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": format!("{}/token", s.oauth.url()),
        "service_account_impersonation_url":
            format!("{}/v1/projects/-/serviceAccounts/reader@x:generateAccessToken", s.oauth.url()),
        "credential_source": {
            "file": test.dir().join("subject.json"),
            "format": {"type": "json", "subject_token_field_name": "id_token"},
        },
    });
    let test = test.file("external.json", external.to_string());
    let file = test.dir().join("external.json");
    let run = test
        .env("GOOGLE_APPLICATION_CREDENTIALS", &file)
        .env("SECRETRUN_GCP_ENDPOINT", s.manager.url())
        .args(reads_v(&s.source("federated")))
        .run();
    got_v(&run, "via-federation", "GOOGLE_");
    no_credentials(&run.stdout);
    // A credential source that is a program is refused, never run.
    let program = json!({
        "type": "external_account",
        "audience": AUDIENCE,
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": format!("{}/token", s.oauth.url()),
        "credential_source": {"executable": {"command": "touch ran-it"}},
    });
    let test = Test::new().file("program.json", program.to_string());
    let file = test.dir().join("program.json");
    let dir = test.dir().to_owned();
    let run = test
        .env("GOOGLE_APPLICATION_CREDENTIALS", &file)
        .env("SECRETRUN_GCP_ENDPOINT", s.manager.url())
        .args([
            "--from",
            &format!("{}?as=V", s.source("federated")),
            "--",
            "true",
        ])
        .run();
    run.status(78).stderr_has("an executable");
    assert!(!dir.join("ran-it").exists());
}

#[test]
fn the_metadata_server_when_named_and_never_off_cloud() {
    let s = servers();
    s.state.put("by-metadata", b"via-metadata", true, false);
    let metadata = stub::serve(|request| {
        let ok = request.method == "GET"
            && request.path == "/computeMetadata/v1/instance/service-accounts/default/token"
            && request.header("metadata-flavor") == Some("Google");
        if ok {
            token(TOKEN)
        } else {
            (403, "Missing Metadata-Flavor:Google header.".into())
        }
    });
    let run = Test::new()
        .env("GCE_METADATA_HOST", metadata.addr.to_string())
        .env("SECRETRUN_GCP_ENDPOINT", s.manager.url())
        .args(["--keep", "GCE_*"])
        .args(reads_v(&s.source("by-metadata")))
        .run();
    run.success();
    assert!(run.stdout.starts_with("via-metadata\n"));
    assert!(
        !run.stdout.contains("GCE_METADATA"),
        "a glob passed GCE_METADATA_HOST"
    );
    // Off Google Cloud, with nothing set: 78 at once, and no connection at all.
    contacts_nothing("X=gcp-sm://my-project/db\n", "no Google credentials");
}

#[test]
fn reads_run_at_once_with_a_bound() {
    let s = servers();
    let mut test = s.allowed(Test::new()).args(["--pure"]);
    for i in 0..40 {
        s.state.put(
            &format!("slow-{i}"),
            format!("value-{i}").as_bytes(),
            true,
            false,
        );
        test = test.args([
            "--from",
            &format!("{}?as=V{i}", s.source(&format!("slow-{i}"))),
        ]);
    }
    let started = Instant::now();
    let run = test.args(["--", "env", "-0"]).run();
    run.success();
    assert_eq!(run.env0().len(), 40);
    let most = s.state.in_flight.max();
    assert!((2..=32).contains(&most), "{most} reads in flight at once");
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// A throttled read (429 RESOURCE_EXHAUSTED, with Retry-After) is waited out and
/// read again within the deadline.
#[test]
fn throttling_is_waited_out() {
    let s = servers();
    s.state
        .put("throttled", b"value-throttled-CANARY", true, false);
    s.state
        .throttle_once
        .lock()
        .unwrap()
        .push("throttled".into());
    let run = s
        .allowed(Test::new())
        .args([
            "--pure",
            "--from",
            &format!("{}?as=V", s.source("throttled")),
        ])
        .args(["--", "env", "-0"])
        .run();
    run.success();
    assert_eq!(run.env0()["V"], "value-throttled-CANARY");
    assert!(
        s.state.throttle_once.lock().unwrap().is_empty(),
        "the stub never throttled"
    );
}

/// An endpoint that accepts and never answers is cut off at the deadline (69),
/// saying so.
#[test]
fn a_stalled_endpoint_is_cut_off_at_the_deadline() {
    let s = servers();
    let addr = stub::stalled_listener();
    let started = Instant::now();
    let run = s
        .allowed(Test::new())
        .env("SECRETRUN_GCP_ENDPOINT", format!("http://{addr}"))
        .args([
            "--timeout",
            "2s",
            "--from",
            &format!("{}?as=X", s.source("x")),
        ])
        .args(["--", "true"])
        .run();
    run.status(69).no_canary().stderr_has("deadline");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_google_launch_writes_nothing_to_disk() {
    let s = servers();
    s.state.put("traced", CANARY.as_bytes(), true, false);
    let test = Test::new().file(".env", format!("X={}\n", s.source("traced")));
    let env = [
        (
            "GOOGLE_APPLICATION_CREDENTIALS",
            s.reader_file.to_string_lossy().into_owned(),
        ),
        ("SECRETRUN_GCP_ENDPOINT", s.manager.url()),
    ];
    for args in [&["--", "true"][..], &["check"], &["list"]] {
        let trace = strace(&test, FILE_CALLS, args, &env);
        assert_nothing_written(&format!("{args:?}"), &trace);
    }
}

/// Round trips: the reads of 1 secret or of 20 are one wave at Secret Manager
/// (`round_trips.rs` counts the waves at a proxy that holds each answer).
#[test]
fn one_wave_of_reads_for_one_secret_or_twenty() {
    use crate::round_trips::{holding_proxy, waves};
    let s = servers();
    let (manager, reads) = holding_proxy(s.manager.url());
    for count in [1, 20] {
        reads.lock().unwrap().clear();
        let mut test = s
            .allowed(Test::new())
            .env("SECRETRUN_GCP_ENDPOINT", manager.url())
            .args(["--timeout", "60s", "--pure"]);
        for i in 0..count {
            let name = format!("trip-{count}-{i}");
            s.state.put(&name, format!("v{i}").as_bytes(), true, false);
            test = test.args(["--from", &format!("{}?as=V{i}", s.source(&name))]);
        }
        let run = test.args(["--", "env", "-0"]).run();
        run.success().no_canary();
        assert_eq!(run.env0().len(), count);
        let reads = reads.lock().unwrap().clone();
        assert_eq!(reads.len(), count, "each secret once");
        assert_eq!(waves(reads), 1, "{count} secrets: one wave of reads");
    }
}

/// A redirect from Secret Manager is not followed: the token would go with it.
#[test]
fn a_redirect_is_not_followed() {
    let s = servers();
    let elsewhere = stub::serve(|_| (200, "{}".into()));
    let to = elsewhere.url();
    let redirecting = stub::serve(move |request| (302, format!("{to}{}", request.path)));
    s.allowed(Test::new())
        .env("SECRETRUN_GCP_ENDPOINT", redirecting.url())
        .args(reads_x(&s.source("anything")))
        .run()
        .status(78)
        .no_canary()
        .stderr_has("answered 302");
    assert_eq!(redirecting.requests.lock().unwrap().len(), 1);
    assert!(
        elsewhere.requests.lock().unwrap().is_empty(),
        "the redirect was followed"
    );
}
