//! The Vault/OpenBao source against a real OpenBao dev server.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::bao::{self, ROOT_TOKEN};
use crate::conformance::{self, Backend};
use crate::stub;
use crate::util::{CANARY, Test};

struct VaultBackend;

impl Backend for VaultBackend {
    fn put(&self, name: &str, data: Value) {
        bao::server().put(name, data);
    }

    fn source(&self, name: &str) -> String {
        format!("vault://secret/{name}")
    }

    fn allowed(&self, test: Test) -> Test {
        test.env("VAULT_ADDR", &bao::server().addr)
            .env("VAULT_TOKEN", ROOT_TOKEN)
    }

    fn denied(&self, test: Test) -> Test {
        test.env("VAULT_ADDR", &bao::server().addr)
            .env("VAULT_TOKEN", bao::server().denied_token())
    }

    fn unreachable(&self, test: Test) -> Test {
        test.env(
            "VAULT_ADDR",
            format!("http://127.0.0.1:{}", stub::closed_port()),
        )
        .env("VAULT_TOKEN", ROOT_TOKEN)
    }

    fn credentials(&self) -> Vec<(String, String)> {
        vec![("VAULT_TOKEN".into(), ROOT_TOKEN.into())]
    }
}

#[test]
fn conformance() {
    conformance::run_all(&VaultBackend, "conf");
}

fn vault(test: Test) -> Test {
    VaultBackend.allowed(test)
}

#[test]
fn kv_v1_mount() {
    let server = bao::server();
    server.api(
        "POST",
        "kv1/app",
        Some(json!({"USER": "svc", "PASS": CANARY})),
    );
    let run = vault(Test::new())
        .args(["--pure", "--from", "vault://kv1/app", "--", "env", "-0"])
        .run();
    run.success();
    assert_eq!(run.env0()["PASS"], CANARY);
    assert_eq!(run.env0()["USER"], "svc");
    // Versions exist only in KV v2.
    vault(Test::new())
        .args(["--from", "vault://kv1/app?version=1", "--", "true"])
        .run()
        .status(78)
        .stderr_has("KV v1 mount, which has no versions");
}

#[test]
fn versions_and_listing() {
    let server = bao::server();
    server.put("versioned", json!({"K": "one"}));
    server.put("versioned", json!({"K": "two"}));
    let run = vault(Test::new())
        .args([
            "--pure",
            "--from",
            "vault://secret/versioned?version=1",
            "--from",
            "vault://secret/versioned#K?as=LATEST",
            "--",
            "env",
            "-0",
        ])
        .run();
    run.success();
    assert_eq!(run.env0()["K"], "one");
    assert_eq!(run.env0()["LATEST"], "two");
    vault(Test::new())
        .args([
            "list",
            "--pure",
            "--from",
            "vault://secret/versioned?version=2",
        ])
        .run()
        .success()
        .stdout_is(
            "NAME  ORIGIN                              VALUE\nK     vault://secret/versioned?version=2  …\n",
        );
    // "Not found" says which version was not.
    vault(Test::new())
        .args([
            "--from",
            "vault://secret/versioned?version=99",
            "--",
            "true",
        ])
        .run()
        .status(78)
        .stderr_has("reading `vault://secret/versioned?version=99`: not found on Vault");
}

#[test]
fn nested_objects_need_json() {
    bao::server().put("nested", json!({"conf": {"inner": CANARY}, "flat": "x"}));
    vault(Test::new())
        .args(["--from", "vault://secret/nested", "--", "true"])
        .run()
        .status(78)
        .no_canary()
        .stderr_is("error: `vault://secret/nested`: key `conf` holds a nested object or list; pick a string key, or add `?json` to keep it as JSON text\n");
    let run = vault(Test::new())
        .args([
            "--pure",
            "--from",
            "vault://secret/nested?json",
            "--",
            "env",
            "-0",
        ])
        .run();
    run.success();
    assert_eq!(run.env0()["conf"], format!("{{\"inner\":\"{CANARY}\"}}"));
}

#[test]
fn namespace() {
    let server = bao::server();
    server.api_in(
        Some("team"),
        "POST",
        "secret/data/app",
        Some(json!({"data": {"TEAM_KEY": "in-namespace"}})),
    );
    let run = vault(Test::new())
        .env("VAULT_NAMESPACE", "team")
        .args(["--pure", "--from", "vault://secret/app", "--", "env", "-0"])
        .run();
    run.success();
    assert_eq!(run.env0()["TEAM_KEY"], "in-namespace");
    // Without the namespace the path is not there.
    vault(Test::new())
        .args(["--from", "vault://secret/app#TEAM_KEY", "--", "true"])
        .run()
        .status(78);
}

#[test]
fn approle_login() {
    let server = bao::server();
    server.put("approle", json!({"K": CANARY}));
    let (role_id, secret_id) = server.approle();
    let run = Test::new()
        .env("VAULT_ADDR", &server.addr)
        .env("SECRETRUN_VAULT_AUTH", "approle")
        .env("VAULT_ROLE_ID", &role_id)
        .env("VAULT_SECRET_ID", &secret_id)
        .args([
            "--pure",
            "--from",
            "vault://secret/approle",
            "--",
            "env",
            "-0",
        ])
        .run();
    run.success();
    assert_eq!(run.env0()["K"], CANARY);
    // A wrong secret id is refused.
    Test::new()
        .env("VAULT_ADDR", &server.addr)
        .env("SECRETRUN_VAULT_AUTH", "approle")
        .env("VAULT_ROLE_ID", &role_id)
        .env("VAULT_SECRET_ID", "00000000-0000-0000-0000-000000000000")
        .args(["--from", "vault://secret/approle", "--", "true"])
        .run()
        .status(77)
        .stderr_has("logging in at `auth/approle/login`");
}

#[test]
fn jwt_login_with_a_key_pair_made_here() {
    let server = bao::server();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        key.to_str().unwrap(),
    ]);
    let public = openssl(&["pkey", "-in", key.to_str().unwrap(), "-pubout"]);
    server.api("POST", "sys/auth/jwt-test", Some(json!({"type": "jwt"})));
    server.api(
        "POST",
        "auth/jwt-test/config",
        Some(json!({"jwt_validation_pubkeys": [String::from_utf8(public).unwrap()]})),
    );
    server.api(
        "POST",
        "auth/jwt-test/role/app",
        Some(json!({"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["secretrun"], "token_policies": ["app-read"]})),
    );
    server.put("jwt", json!({"K": "via-jwt"}));

    let b64 = |bytes: &[u8]| base64url(bytes);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = b64(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = b64(
        json!({"sub": "ci", "aud": "secretrun", "iat": now, "exp": now + 300})
            .to_string()
            .as_bytes(),
    );
    let signing_input = format!("{header}.{claims}");
    let input_path = dir.path().join("input");
    std::fs::write(&input_path, &signing_input).unwrap();
    let signature = openssl(&[
        "dgst",
        "-sha256",
        "-sign",
        key.to_str().unwrap(),
        input_path.to_str().unwrap(),
    ]);
    let jwt_path = dir.path().join("jwt");
    std::fs::write(&jwt_path, format!("{signing_input}.{}\n", b64(&signature))).unwrap();

    let run = Test::new()
        .file("secretrun.toml", format!("[vault]\nauth = \"jwt\"\nauth_mount = \"jwt-test\"\nrole = \"app\"\njwt_file = \"{}\"\n", jwt_path.display()))
        .env("VAULT_ADDR", &server.addr)
        // A project's config chooses the login only for a Vault the user trusts.
        .env("SECRETRUN_TRUSTED_ORIGINS", &server.addr)
        .args(["--pure", "--from", "vault://secret/jwt", "--", "env", "-0"])
        .run();
    run.success();
    assert_eq!(run.env0()["K"], "via-jwt");
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let output = std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// The system's CA bundle is the file the parent's `SSL_CERT_FILE` names, as
/// OpenSSL and the vendors' tools take it: with the test server's CA there, the
/// handshake works without `VAULT_CACERT`.
#[test]
fn the_system_bundle_is_where_ssl_cert_file_says() {
    let server = bao::tls_server();
    let ca = server.tls_dir.as_ref().unwrap().join("vault-ca.pem");
    Test::new()
        .env("VAULT_ADDR", &server.addr)
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .env("SSL_CERT_FILE", &ca)
        .args(["--from", "vault://secret/none", "--", "true"])
        .run()
        .status(78)
        .stderr_has("not found on Vault");
}

#[test]
fn tls_needs_the_ca() {
    let server = bao::tls_server();
    let ca = server.tls_dir.as_ref().unwrap().join("vault-ca.pem");
    let without = Test::new()
        .env("VAULT_ADDR", &server.addr)
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .args(["--from", "vault://secret/none", "--", "true"])
        .run();
    without
        .status(69)
        .no_canary()
        .stderr_has("Vault at `https://127.0.0.1:")
        .stderr_has("hint: the server's certificate is not trusted here: VAULT_CACERT names");
    // With the CA the TLS handshake works: the secret is simply not there.
    Test::new()
        .env("VAULT_ADDR", &server.addr)
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .env("VAULT_CACERT", &ca)
        .args(["--from", "vault://secret/none", "--", "true"])
        .run()
        .status(78)
        .stderr_has("not found");
    // A server name the certificate does not hold fails verification.
    Test::new()
        .env("VAULT_ADDR", &server.addr)
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .env("VAULT_CACERT", &ca)
        .env("VAULT_TLS_SERVER_NAME", "not-the-server.example")
        .args(["--from", "vault://secret/none", "--", "true"])
        .run()
        .status(69);
    Test::new()
        .env("VAULT_ADDR", &server.addr)
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .env("VAULT_TLS_SERVER_NAME", "localhost")
        .env("VAULT_CACERT", &ca)
        .args(["--from", "vault://secret/none", "--", "true"])
        .run()
        .status(78);
    let run = Test::new()
        .env("VAULT_ADDR", &server.addr)
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .env("VAULT_SKIP_VERIFY", "true")
        .args(["--from", "vault://secret/none", "--", "true"])
        .run();
    run.status(78)
        .stderr_has("warning: VAULT_SKIP_VERIFY is on");
}

/// The environment of a launch that reads from the TLS server, trusting its CA.
fn tls_env() -> [(&'static str, String); 3] {
    let server = bao::tls_server();
    let ca = server.tls_dir.as_ref().unwrap().join("vault-ca.pem");
    [
        ("VAULT_ADDR", server.addr.clone()),
        ("VAULT_TOKEN", ROOT_TOKEN.to_owned()),
        ("VAULT_CACERT", ca.to_string_lossy().into_owned()),
    ]
}

/// Over https the server offers HTTP/2 (Go's server does), and the reads of every
/// path share the connection the mount lookup opened: five paths on one mount make
/// one connection, where HTTP/1.1 needs one for each read in flight (five), each
/// with its own TLS handshake on both sides.
#[test]
fn paths_on_one_mount_share_one_https_connection() {
    let server = bao::tls_server();
    let ca = server.tls_dir.as_ref().unwrap().join("vault-ca.pem");
    let test = Test::new();
    for i in 0..5 {
        let status = std::process::Command::new(crate::util::tool("bao"))
            .args([
                "kv",
                "put",
                "-mount=secret",
                "-address",
                &server.addr,
                "-ca-cert",
            ])
            .arg(&ca)
            .args([format!("shared/{i}"), format!("SHARED_{i}=value-{i}")])
            .env_clear()
            .env("HOME", test.dir())
            .env("BAO_TOKEN", ROOT_TOKEN)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "bao kv put failed");
    }
    let mut args: Vec<String> = (0..5)
        .flat_map(|i| ["--from".to_owned(), format!("vault://secret/shared/{i}")])
        .collect();
    args.extend(
        [
            "--",
            "sh",
            "-c",
            "test \"$SHARED_0$SHARED_4\" = value-0value-4",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let env = tls_env();
    let trace = crate::trace::strace(&test, "connect", &args, &env);
    let port = server.addr.rsplit(':').next().unwrap();
    let to_server = format!("sin_port=htons({port})");
    let connects = trace.lines().filter(|l| l.contains(&to_server)).count();
    assert_eq!(connects, 1, "connections to the server: {connects}");
}

/// The protocols each TLS ClientHello of a launch reading these paths from the TLS
/// server offers (ALPN, in the clear in the hello), seen with strace: `h2` and
/// `http/1.1`, or `http/1.1` alone.
fn alpn_offers(paths: &[&str]) -> Vec<&'static str> {
    let test = Test::new();
    let args: Vec<&str> = paths
        .iter()
        .flat_map(|p| ["--from", p])
        .chain(["--", "true"])
        .collect();
    let env = tls_env();
    let options = ["-x", "-s", "65536", "-e", "trace=writev,write,sendto"];
    let output = crate::trace::run_traced(&test, &options, &args, &env);
    // strace -x writes a binary string's every byte as \xNN.
    let hex = |bytes: &[u8]| {
        bytes
            .iter()
            .map(|b| format!("\\x{b:02x}"))
            .collect::<String>()
    };
    let (hello, h2, http1) = (
        // A handshake record (0x16) of TLS 1.0 framing (0x0301), as rustls sends a
        // ClientHello, at the start of a write.
        format!("\"{}", hex(b"\x16\x03\x01")),
        hex(b"\x02h2\x08http/1.1"),
        hex(b"\x08http/1.1"),
    );
    let trace = String::from_utf8_lossy(&output.stderr);
    let offers: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains(&hello))
        .map(|l| {
            if l.contains(&h2) {
                "h2 http/1.1"
            } else if l.contains(&http1) {
                "http/1.1"
            } else {
                "neither"
            }
        })
        .collect();
    assert!(!offers.is_empty(), "no TLS ClientHello in the trace");
    offers
}

/// A lone path is a few requests one after another, quicker over HTTP/1.1; several
/// paths are read at once, and offer HTTP/2 so that they can share a connection.
#[test]
fn a_lone_path_offers_http1_and_several_offer_http2() {
    assert_eq!(alpn_offers(&["vault://secret/none"]), ["http/1.1"]);
    assert_eq!(
        alpn_offers(&["vault://secret/none", "vault://secret/other"]),
        ["h2 http/1.1"]
    );
}

#[test]
fn a_listener_that_never_answers_times_out_by_the_deadline() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let started = Instant::now();
    let run = Test::new()
        .env("VAULT_ADDR", format!("http://{addr}"))
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .args([
            "--timeout",
            "2s",
            "--from",
            "vault://secret/x",
            "--",
            "echo",
            "RAN",
        ])
        .run();
    let took = started.elapsed();
    run.status(69)
        .no_canary()
        .stdout_is("")
        .stderr_has("did not answer before the deadline");
    // Not before the deadline; the upper bound is far below what a client without
    // the deadline would wait (Vault's client timeout is 60 s, the AWS SDK's none),
    // and loose enough for a loaded machine.
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(12),
        "took {took:?}"
    );
    drop(listener);
}

#[test]
fn a_503_is_retried() {
    let data_calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let calls = data_calls.clone();
    let stub = stub::serve(move |request| {
        if let Some(answer) = stub::vault_checks(request, 2) {
            return answer;
        }
        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            return (503, r#"{"errors":["standby"]}"#.into());
        }
        (
            200,
            r#"{"data":{"data":{"K":"after-retry"},"metadata":{"version":1}}}"#.into(),
        )
    });
    let run = Test::new()
        .env("VAULT_ADDR", stub.url())
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .args(["--pure", "--from", "vault://secret/app", "--", "env", "-0"])
        .run();
    run.success();
    assert_eq!(run.env0()["K"], "after-retry");
    assert_eq!(data_calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    let requests = stub.requests.lock().unwrap();
    let token = requests
        .iter()
        .map(|r| r.header("x-vault-token"))
        .collect::<Vec<_>>();
    assert!(
        token.iter().all(|t| *t == Some(ROOT_TOKEN)),
        "the token is sent in its header"
    );
}

#[test]
fn errors_that_will_not_pass_are_not_retried() {
    for (status, exit) in [(400u16, 78), (403, 77), (404, 78), (501, 69)] {
        let stub = stub::serve(move |request| {
            if let Some(answer) = stub::vault_checks(request, 2) {
                return answer;
            }
            (status, r#"{"errors":[]}"#.into())
        });
        let run = Test::new()
            .env("VAULT_ADDR", stub.url())
            .env("VAULT_TOKEN", ROOT_TOKEN)
            .args(["--from", "vault://secret/app", "--", "true"])
            .run();
        run.status(exit).no_canary();
        assert_eq!(
            stub.requests.lock().unwrap().len(),
            2,
            "status {status} was retried"
        );
    }
}

#[test]
fn the_token_never_reaches_the_child_or_the_output() {
    bao::server().put("child", json!({"A": "1"}));
    let run = vault(Test::new())
        .env("VAULT_NAMESPACE", "")
        .args([
            "--from",
            "vault://secret/child",
            "--keep",
            "VAULT_*",
            "--",
            "env",
            "-0",
        ])
        .run();
    run.success().no_canary();
    assert!(!run.env0().contains_key("VAULT_TOKEN"));
    assert!(!run.env0().contains_key("VAULT_ADDR"));
}

#[test]
fn token_from_home_file() {
    bao::server().put("homefile", json!({"H": "from-home"}));
    let test = Test::new();
    let home = test.dir().to_path_buf();
    let run = test
        .file(".vault-token", format!("{ROOT_TOKEN}\n"))
        .env("HOME", &home)
        .env("VAULT_ADDR", &bao::server().addr)
        .args([
            "--pure",
            "--from",
            "vault://secret/homefile",
            "--",
            "env",
            "-0",
        ])
        .run();
    run.success();
    assert_eq!(run.env0()["H"], "from-home");
}

#[test]
fn many_paths_are_fetched_concurrently() {
    // Each read waits 300 ms at the stub, long enough for the others to arrive if
    // they are sent at once; the stub counts how many it holds at the same time.
    let gauge = std::sync::Arc::new(stub::InFlight::default());
    let in_stub = gauge.clone();
    let stub = stub::serve(move |request| {
        if let Some(answer) = stub::vault_checks(request, 2) {
            return answer;
        }
        let _reading = in_stub.enter();
        std::thread::sleep(Duration::from_millis(300));
        let name = request.path.rsplit('/').next().unwrap().to_uppercase();
        (200, format!(r#"{{"data":{{"data":{{"{name}":"v"}}}}}}"#))
    });
    let mut test = Test::new()
        .env("VAULT_ADDR", stub.url())
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .args(["--pure"]);
    for i in 0..10 {
        test = test.args(["--from", &format!("vault://secret/p{i}")]);
    }
    let run = test.args(["--", "env", "-0"]).run();
    run.success();
    assert_eq!(run.env0().len(), 10);
    // One after another would be 1 at a time.
    assert!(
        gauge.max() >= 5,
        "at most {} reads were in flight at once",
        gauge.max()
    );
}

#[test]
fn vault_max_retries_zero_does_not_retry() {
    let data_calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let calls = data_calls.clone();
    let stub = stub::serve(move |request| {
        if let Some(answer) = stub::vault_checks(request, 2) {
            return answer;
        }
        calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        (503, r#"{"errors":["standby"]}"#.into())
    });
    Test::new()
        .env("VAULT_ADDR", stub.url())
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .env("VAULT_MAX_RETRIES", "0")
        .args(["--from", "vault://secret/app", "--", "true"])
        .run()
        .status(69)
        .no_canary()
        .stderr_has("answered 503");
    assert_eq!(data_calls.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// KV v2's `delete_version_after` is when a version stops being there: within the
/// warning window it is a warning, its time in `check` and `list`.
#[test]
fn a_version_that_will_be_deleted_is_expiring() {
    let server = bao::server();
    server.api(
        "POST",
        "secret/metadata/expiring",
        Some(json!({ "delete_version_after": "71h" })),
    );
    // Not a provider key, so that the only warning is the expiry.
    server.put("expiring", json!({ "password": "pw-CANARY-plain" }));
    let dotenv = "PW=vault://secret/expiring#password\n";
    let run = vault(Test::new().file(".env", dotenv))
        .args(["check", "--pure", "--format", "json"])
        .run();
    run.success().no_canary();
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let rotation = &doc["variables"][0]["rotation"];
    assert_eq!(rotation["state"], "expiring", "{doc}");
    assert!(rotation["expires"].as_str().unwrap().ends_with('Z'));
    assert_eq!(doc["rotation"]["expiring"], json!(["PW"]));
    assert_eq!(doc["warnings"].as_array().unwrap().len(), 1, "{doc}");
    assert!(
        doc["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("`PW` expires in 2d ("),
        "{doc}"
    );
    // The launch warns and runs; a narrower window says nothing.
    vault(Test::new().file(".env", dotenv))
        .args(["--pure", "--", "true"])
        .run()
        .success()
        .stderr_has("warning: `PW` expires in 2d (");
    vault(Test::new().file(".env", dotenv).file(
        "secretrun.toml",
        "[rotation]\nwarn_before_expiry = \"1d\"\n",
    ))
    .args(["--pure", "--", "true"])
    .run()
    .success()
    .stderr_is("");
}

/// The dates come in the read answer: asking for ages sends no request more.
#[test]
fn max_age_adds_no_request() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let stub = stub::serve(move |request| {
        seen.fetch_add(1, Ordering::SeqCst);
        if let Some(answer) = stub::vault_checks(request, 2) {
            return answer;
        }
        let metadata = r#""metadata":{"created_time":"2024-01-02T03:04:05.5Z","deletion_time":"","version":1}"#;
        (
            200,
            format!(r#"{{"data":{{"data":{{"A":"x"}},{metadata}}}}}"#),
        )
    });
    let requests = |config: &str| {
        count.store(0, Ordering::SeqCst);
        let run = Test::new()
            .env("VAULT_ADDR", stub.url())
            .env("VAULT_TOKEN", "t")
            .file("secretrun.toml", config)
            .args([
                "--pure",
                "--from",
                "vault://secret/a",
                "--from",
                "vault://secret/b",
                "--",
                "true",
            ])
            .run();
        run.success();
        (count.load(Ordering::SeqCst), run.stderr.clone())
    };
    let (without, quiet) = requests("");
    let (with, warned) = requests("[rotation]\nmax_age = \"90d\"\n");
    assert_eq!(
        without, 3,
        "one mount lookup for the mount, and a read for each of two paths"
    );
    assert_eq!(with, without);
    assert_eq!(quiet, "");
    assert!(warned.contains("`A` was written "), "{warned}");
    assert!(warned.contains("over its max_age of 90d"), "{warned}");
}

/// A stub that counts mount lookups and reads: mounts `secret/`, `team/a/` and
/// `team/b/` (KV v2), or, with `old`, no lookup endpoint at all (KV v1 everywhere).
fn counting_vault(old: bool) -> (stub::Stub, std::sync::Arc<std::sync::Mutex<(usize, usize)>>) {
    use std::sync::{Arc, Mutex};
    let counts = Arc::new(Mutex::new((0, 0)));
    let seen = counts.clone();
    let server = stub::serve(move |request| {
        if let Some(path) = request.path.strip_prefix("/v1/sys/internal/ui/mounts/") {
            seen.lock().unwrap().0 += 1;
            if old {
                return (404, r#"{"errors":[]}"#.into());
            }
            let mount = ["secret/", "team/a/", "team/b/"]
                .into_iter()
                .find(|m| path.starts_with(m));
            return match mount {
                Some(m) => (
                    200,
                    format!(
                        r#"{{"data":{{"path":"{m}","type":"kv","options":{{"version":"2"}}}}}}"#
                    ),
                ),
                None => (403, r#"{"errors":["permission denied"]}"#.into()),
            };
        }
        seen.lock().unwrap().1 += 1;
        let name = request
            .path
            .rsplit('/')
            .next()
            .unwrap()
            .to_ascii_uppercase();
        let expected = if old { "/v1/" } else { "/data/" };
        if !request.path.contains(expected) {
            return (404, r#"{"errors":[]}"#.into());
        }
        if old {
            (200, format!(r#"{{"data":{{"{name}":"v"}}}}"#))
        } else {
            (
                200,
                format!(r#"{{"data":{{"data":{{"{name}":"v"}},"metadata":{{"version":1}}}}}}"#),
            )
        }
    });
    (server, counts)
}

/// Twenty paths on one mount cost one mount lookup, not twenty; paths on other
/// mounts still get theirs, and an old server without the lookup endpoint reads
/// them all as KV v1, as before.
#[test]
fn one_mount_lookup_per_mount() {
    let fetch = |server: &stub::Stub, paths: &[String]| {
        let mut test = Test::new()
            .env("VAULT_ADDR", server.url())
            .env("VAULT_TOKEN", "t")
            .args(["--pure"]);
        for path in paths {
            test = test.args(["--from", &format!("vault://{path}")]);
        }
        let run = test.args(["--", "env"]).run();
        run.success();
        run.stdout.lines().count()
    };
    let twenty: Vec<String> = (0..20).map(|i| format!("secret/app/p{i}")).collect();
    let (server, counts) = counting_vault(false);
    assert_eq!(fetch(&server, &twenty), 20);
    assert_eq!(*counts.lock().unwrap(), (1, 20), "(lookups, reads)");

    let mut mixed = twenty.clone();
    mixed.extend([
        "team/a/x".to_owned(),
        "team/b/y".to_owned(),
        "team/a/z".to_owned(),
    ]);
    let (server, counts) = counting_vault(false);
    assert_eq!(fetch(&server, &mixed), 23);
    // secret/ once, team/a/ once (z reuses x's), team/b/ its own: y is not under team/a/.
    assert_eq!(*counts.lock().unwrap(), (3, 23));

    let (server, counts) = counting_vault(true);
    assert_eq!(fetch(&server, &twenty), 20);
    assert_eq!(*counts.lock().unwrap(), (1, 20));
}

#[test]
fn reads_run_at_once_with_a_bound() {
    let in_flight = std::sync::Arc::new(stub::InFlight::default());
    let gauge = in_flight.clone();
    let stub = stub::serve(move |request| {
        if let Some(answer) = stub::vault_checks(request, 2) {
            return answer;
        }
        // The stand-in's latency: reads that overlap show in the gauge.
        let _answering = gauge.enter();
        std::thread::sleep(Duration::from_millis(100));
        let name = request
            .path
            .rsplit('/')
            .next()
            .unwrap_or("")
            .replace('-', "_");
        (
            200,
            json!({"data": {"data": {name.to_uppercase(): "v"}, "metadata": {"version": 1}}})
                .to_string(),
        )
    });
    let mut test = Test::new()
        .env("VAULT_ADDR", stub.url())
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .args(["--pure"]);
    for i in 0..40 {
        test = test.args(["--from", &format!("vault://secret/slow-{i}")]);
    }
    let run = test.args(["--", "env", "-0"]).run();
    run.success();
    assert_eq!(run.env0().len(), 40, "every secret was read");
    let most = in_flight.max();
    assert!((2..=32).contains(&most), "{most} reads in flight at once");
}

/// A value composed from a fetched one (`DATABASE_URL=postgres://app:${DB_PASSWORD}@…`
/// with `DB_PASSWORD` from Vault), and a value expanding the composed one: the
/// command gets them whole; `list` masks them; `--redact` hides the composed value
/// and its part; an operator on a fetched value is refused.
#[test]
fn values_compose_from_fetched_ones() {
    bao::server().put("composed", json!({ "password": CANARY }));
    let dotenv = "DB_PASSWORD=vault://secret/composed#password\n\
                  DATABASE_URL=postgres://app:${DB_PASSWORD}@db/app\n\
                  REPLICA_URL=${DATABASE_URL}?target_session_attrs=read-only\n";
    let run = vault(Test::new().file(".env", dotenv))
        .args([
            "--pure",
            "--",
            "sh",
            "-c",
            "test \"$DATABASE_URL\" = \"postgres://app:$DB_PASSWORD@db/app\" && \
             test \"$REPLICA_URL\" = \"$DATABASE_URL?target_session_attrs=read-only\" && \
             test -n \"$DB_PASSWORD\" && echo composed",
        ])
        .run();
    run.success().no_canary().stdout_is("composed\n");
    let run = vault(Test::new().file(".env", dotenv))
        .args(["list", "--pure"])
        .run();
    run.success()
        .no_canary()
        .stdout_has("DATABASE_URL  .env:2 ")
        .stdout_has(" postgres://…/app\n");
    let run = vault(Test::new().file(".env", dotenv))
        .args([
            "--pure",
            "--redact",
            "--",
            "sh",
            "-c",
            "echo \"$REPLICA_URL\"",
        ])
        .run();
    run.success().no_canary().stdout_is("[REPLICA_URL]\n");
    vault(Test::new().file(
        ".env",
        "DB_PASSWORD=vault://secret/composed#password\nURL=x${DB_PASSWORD:-none}\n",
    ))
    .args(["--", "true"])
    .run()
    .status(65)
    .stderr_has(
        "line 2: the value of `URL` uses `${DB_PASSWORD:-…}`, but `DB_PASSWORD` is fetched",
    );
}
