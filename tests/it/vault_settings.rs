//! Vault settings the README promises, each shown from outside: where requests go,
//! what they carry, when they are retried, and what is never loaded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::bao::ROOT_TOKEN;
use crate::stub::{self, Request};
use crate::util::{CANARY, Test};

/// The logins a stub saw: (path, body).
type Logins = Arc<Mutex<Vec<(String, String)>>>;

/// A KV v2 stub that also answers AppRole, JWT and Kubernetes logins at any mount,
/// recording each login's path and body; the token it hands out is `issued`.
fn vault_with_logins() -> (stub::Stub, Logins) {
    let logins = Arc::new(Mutex::new(Vec::new()));
    let seen = logins.clone();
    let server = stub::serve_with_body(move |request: &Request, body: &str| {
        if request.method == "POST" && request.path.ends_with("/login") {
            seen.lock()
                .unwrap()
                .push((request.path.clone(), body.to_owned()));
            return (200, r#"{"auth":{"client_token":"issued"}}"#.into());
        }
        if let Some(answer) = stub::vault_checks(request, 2) {
            return answer;
        }
        if request.header("x-vault-token") != Some("issued") {
            return (403, r#"{"errors":["permission denied"]}"#.into());
        }
        (200, r#"{"data":{"data":{"K":"v"}}}"#.into())
    });
    (server, logins)
}

fn read(test: Test) -> crate::util::Run {
    test.args(["--from", "vault://secret/app", "--", "true"])
        .run()
}

#[test]
fn the_default_address_is_https_localhost_8200() {
    // In a network namespace of its own: a Vault this machine runs on 8200 is neither
    // reached nor sent the token.
    let test = Test::new().env("VAULT_TOKEN", ROOT_TOKEN).args([
        "--timeout",
        "3s",
        "--from",
        "vault://secret/app",
        "--",
        "true",
    ]);
    let run = crate::util::Run::from(
        crate::util::without_network(&test.command())
            .output()
            .unwrap(),
    );
    run.status(69)
        .no_canary()
        .stderr_has("Vault at `https://127.0.0.1:8200`");
}

#[test]
fn bao_names_work_like_vault_names() {
    let server = stub::serve(|request| {
        if let Some(answer) = stub::vault_checks(request, 2) {
            return answer;
        }
        (200, r#"{"data":{"data":{"K":"v"}}}"#.into())
    });
    read(
        Test::new()
            .env("BAO_ADDR", server.url())
            .env("BAO_TOKEN", "bao-token")
            .env("BAO_NAMESPACE", "team"),
    )
    .success();
    let requests = server.requests.lock().unwrap();
    assert!(
        requests
            .iter()
            .all(|r| r.header("x-vault-token") == Some("bao-token"))
    );
    assert!(
        requests
            .iter()
            .all(|r| r.header("x-vault-namespace") == Some("team"))
    );
}

#[test]
fn the_configs_namespace_is_sent() {
    let server = stub::serve(|request| {
        stub::vault_checks(request, 2).unwrap_or((200, r#"{"data":{"data":{"K":"v"}}}"#.into()))
    });
    read(
        Test::new()
            .file("secretrun.toml", "[vault]\nnamespace = \"team/app\"\n")
            .env("VAULT_ADDR", server.url())
            .env("VAULT_TOKEN", "t"),
    )
    .success();
    let requests = server.requests.lock().unwrap();
    assert!(!requests.is_empty());
    assert!(
        requests
            .iter()
            .all(|r| r.header("x-vault-namespace") == Some("team/app"))
    );
}

#[test]
fn approle_ids_from_files_and_the_env_forms_of_the_auth_settings() {
    let (server, logins) = vault_with_logins();
    // From files named in the environment, at a custom mount named there too.
    let test = Test::new()
        .file("role-id", "role-from-file\n")
        .file("secret-id", "secret-from-file\n");
    let dir = test.dir().to_path_buf();
    read(
        test.env("VAULT_ADDR", server.url())
            .env("SECRETRUN_VAULT_AUTH", "approle")
            .env("SECRETRUN_VAULT_AUTH_MOUNT", "team-approle")
            .env("VAULT_ROLE_ID_FILE", dir.join("role-id"))
            .env("VAULT_SECRET_ID_FILE", dir.join("secret-id")),
    )
    .success();
    // From files named in the config, for a Vault the user trusts.
    read(
        Test::new()
            .file("r", "role-2\n")
            .file("s", "secret-2\n")
            .file(
                "secretrun.toml",
                "[vault]\nauth = \"approle\"\nrole_id_file = \"r\"\nsecret_id_file = \"s\"\n",
            )
            .env("VAULT_ADDR", server.url())
            .env("SECRETRUN_TRUSTED_ORIGINS", server.url()),
    )
    .success();
    let logins = logins.lock().unwrap();
    assert_eq!(logins[0].0, "/v1/auth/team-approle/login");
    let body: serde_json::Value = serde_json::from_str(&logins[0].1).unwrap();
    assert_eq!(body["role_id"], "role-from-file");
    assert_eq!(body["secret_id"], "secret-from-file");
    assert_eq!(logins[1].0, "/v1/auth/approle/login");
    let body: serde_json::Value = serde_json::from_str(&logins[1].1).unwrap();
    assert_eq!(
        (&body["role_id"], &body["secret_id"]),
        (&"role-2".into(), &"secret-2".into())
    );
}

/// A project's config may not choose how the user logs in, nor which local file is
/// sent as a credential, for a Vault the user does not trust: the login never
/// happens, and nothing is sent.
#[test]
fn a_project_config_cannot_choose_the_login_or_its_credential_files() {
    let (server, logins) = vault_with_logins();
    let configs = [
        "auth = \"approle\"\nrole_id = \"r\"\nsecret_id_file = \"loot\"\n",
        "auth = \"jwt\"\nrole = \"r\"\njwt_file = \"loot\"\n",
        "auth = \"kubernetes\"\nrole = \"r\"\n",
        "auth_mount = \"x\"\n",
        "client_cert = \"loot\"\nclient_key = \"loot\"\n",
        // How safely the token travels is the user's choice too.
        "skip_verify = true\n",
        "cacert = \"loot\"\n",
        "capath = \".\"\n",
        "tls_server_name = \"vault.example\"\n",
    ];
    for config in configs {
        read(
            Test::new()
                .file("loot", format!("{CANARY}\n"))
                .file("secretrun.toml", format!("[vault]\n{config}"))
                .env("VAULT_ADDR", server.url())
                .env("VAULT_TOKEN", "user-token"),
        )
        .status(78)
        .stderr_has("SECRETRUN_TRUSTED_ORIGINS=")
        .no_canary();
    }
    // The user chose the method in the environment; the project names the file.
    for (config, method, extra) in [
        (
            "secret_id_file = \"loot\"\n",
            "approle",
            ("VAULT_ROLE_ID", "r"),
        ),
        (
            "role_id_file = \"loot\"\n",
            "approle",
            ("VAULT_SECRET_ID", "s"),
        ),
        (
            "jwt_file = \"loot\"\n",
            "jwt",
            ("SECRETRUN_VAULT_ROLE", "r"),
        ),
    ] {
        read(
            Test::new()
                .file("loot", format!("{CANARY}\n"))
                .file("secretrun.toml", format!("[vault]\n{config}"))
                .env("VAULT_ADDR", server.url())
                .env("SECRETRUN_VAULT_AUTH", method)
                .env(extra.0, extra.1),
        )
        .status(78)
        .stderr_has("SECRETRUN_TRUSTED_ORIGINS=")
        .no_canary();
    }
    assert!(logins.lock().unwrap().is_empty(), "a login was sent");
    assert!(
        server.requests.lock().unwrap().is_empty(),
        "a request was sent"
    );
}

/// An auth mount is a plain path wherever it comes from: `..` and its encodings
/// cannot move the login to another endpoint.
#[test]
fn an_auth_mount_is_a_plain_path() {
    let (server, logins) = vault_with_logins();
    for mount in [
        "../token",
        "approle/../../sys",
        "a//b",
        "%2e%2e",
        "a\\b",
        "a?x",
        ".",
    ] {
        read(
            Test::new()
                .env("VAULT_ADDR", server.url())
                .env("SECRETRUN_VAULT_AUTH", "approle")
                .env("SECRETRUN_VAULT_AUTH_MOUNT", mount)
                .env("VAULT_ROLE_ID", "r")
                .env("VAULT_SECRET_ID", "s"),
        )
        .status(78)
        .stderr_has("is not a plain path");
    }
    assert!(logins.lock().unwrap().is_empty(), "a login was sent");
}

#[test]
fn jwt_and_kubernetes_logins_take_role_and_token_file_from_the_environment() {
    let (server, logins) = vault_with_logins();
    let test = Test::new().file("sa-token", "jwt-from-file\n");
    let jwt = test.dir().join("sa-token");
    read(
        test.env("VAULT_ADDR", server.url())
            .env("SECRETRUN_VAULT_AUTH", "kubernetes")
            .env("SECRETRUN_VAULT_ROLE", "app")
            .env("SECRETRUN_VAULT_JWT_FILE", &jwt),
    )
    .success();
    let logins = logins.lock().unwrap();
    // Kubernetes auth's mount defaults to `kubernetes`.
    assert_eq!(logins[0].0, "/v1/auth/kubernetes/login");
    let body: serde_json::Value = serde_json::from_str(&logins[0].1).unwrap();
    assert_eq!(
        (&body["role"], &body["jwt"]),
        (&"app".into(), &"jwt-from-file".into())
    );
}

#[test]
fn kubernetes_auth_reads_the_service_account_token_by_default() {
    // No such file on this machine: the message names where it looked.
    Test::new()
        .env("VAULT_ADDR", "http://127.0.0.1:9")
        .env("SECRETRUN_VAULT_AUTH", "kubernetes")
        .env("SECRETRUN_VAULT_ROLE", "app")
        .args(["--from", "vault://secret/app", "--", "true"])
        .run()
        .status(78)
        .stderr_has("/var/run/secrets/kubernetes.io/serviceaccount/token");
}

#[test]
fn vault_client_timeout_bounds_each_request() {
    // A listener that never answers; one attempt; a deadline far away. The client
    // timeout ends the wait, well before the deadline would.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let started = Instant::now();
    Test::new()
        .env(
            "VAULT_ADDR",
            format!("http://{}", listener.local_addr().unwrap()),
        )
        .env("VAULT_TOKEN", "t")
        .env("VAULT_CLIENT_TIMEOUT", "1s")
        .env("VAULT_MAX_RETRIES", "0")
        .args([
            "--timeout",
            "60s",
            "--from",
            "vault://secret/app",
            "--",
            "true",
        ])
        .run()
        .status(69);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(30),
        "took {took:?}"
    );
}

#[test]
fn a_429_is_retried() {
    let reads = Arc::new(AtomicUsize::new(0));
    let count = reads.clone();
    let server = stub::serve(move |request| {
        if let Some(answer) = stub::vault_checks(request, 2) {
            return answer;
        }
        if count.fetch_add(1, Ordering::SeqCst) == 0 {
            return (429, r#"{"errors":["rate limited"]}"#.into());
        }
        (200, r#"{"data":{"data":{"K":"v"}}}"#.into())
    });
    read(
        Test::new()
            .env("VAULT_ADDR", server.url())
            .env("VAULT_TOKEN", "t"),
    )
    .success();
    assert_eq!(reads.load(Ordering::SeqCst), 2);
}

#[test]
fn a_dropped_connection_is_retried() {
    // A front that closes the first connection without a word and passes the rest on.
    let backend = stub::serve(|request| {
        stub::vault_checks(request, 2).unwrap_or((200, r#"{"data":{"data":{"K":"v"}}}"#.into()))
    });
    let front = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let front_addr = front.local_addr().unwrap();
    let to = backend.addr;
    std::thread::spawn(move || {
        for (i, stream) in front.incoming().enumerate() {
            let Ok(client) = stream else { continue };
            if i == 0 {
                drop(client);
                continue;
            }
            std::thread::spawn(move || {
                let server = std::net::TcpStream::connect(to).unwrap();
                let (mut from_client, mut to_server) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let up =
                    std::thread::spawn(move || std::io::copy(&mut from_client, &mut to_server));
                let _ = std::io::copy(&mut { server }, &mut { client });
                let _ = up.join();
            });
        }
    });
    read(
        Test::new()
            .env("VAULT_ADDR", format!("http://{front_addr}"))
            .env("VAULT_TOKEN", "t"),
    )
    .success();
}

#[test]
fn retries_stop_at_the_deadline() {
    let server = stub::serve(|request| {
        stub::vault_checks(request, 2).unwrap_or((503, r#"{"errors":["sealed"]}"#.into()))
    });
    let started = Instant::now();
    Test::new()
        .env("VAULT_ADDR", server.url())
        .env("VAULT_TOKEN", "t")
        .env("VAULT_MAX_RETRIES", "1000")
        .args([
            "--timeout",
            "1s",
            "--from",
            "vault://secret/app",
            "--",
            "true",
        ])
        .run()
        .status(69);
    // A thousand retries with backoff would take minutes.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn each_distinct_secret_is_fetched_once() {
    let server = stub::serve(|request| {
        stub::vault_checks(request, 2)
            .unwrap_or((200, r#"{"data":{"data":{"A":"1","B":"2","C":"3"}}}"#.into()))
    });
    let run = Test::new()
        .env("VAULT_ADDR", server.url())
        .env("VAULT_TOKEN", "t")
        .file(
            ".env",
            "X=vault://secret/app#A\nY=vault://secret/app#B\nZ=vault://secret/app#C\n",
        )
        .args([
            "--from",
            ".env",
            "--from",
            "vault://secret/app",
            "--pure",
            "--",
            "env",
            "-0",
        ])
        .run();
    run.success();
    assert_eq!(run.env0().len(), 6);
    let reads = server
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.path.starts_with("/v1/secret/data/"))
        .count();
    assert_eq!(reads, 1);
}

/// A fetched value composes only as `${NAME}`: an operator on it is refused before
/// any fetch, without a word of the line.
#[test]
fn an_operator_on_a_fetched_value_is_refused() {
    Test::new()
        .env("VAULT_ADDR", "http://127.0.0.1:9")
        .env("VAULT_TOKEN", "t")
        .file(
            ".env",
            format!("PW=vault://secret/db#pw\nURL=\"pg://u:${{PW:-x}}@h/{CANARY}\"\n"),
        )
        .args(["--", "true"])
        .run()
        .status(65)
        .no_canary()
        .stderr_has("a fetched value composes as `${PW}` alone");
}

/// The files secretrun opens, under strace, for a read from `addr`.
fn opens(addr: &str) -> String {
    let test = Test::new();
    let output = std::process::Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=open,openat,openat2"])
        .arg(crate::util::BIN)
        .args([
            "--timeout",
            "3s",
            "--from",
            "vault://secret/app",
            "--",
            "true",
        ])
        .env_clear()
        .env("PATH", crate::util::PATH)
        .env("VAULT_ADDR", addr)
        .env("VAULT_TOKEN", "t")
        .current_dir(test.dir())
        .output()
        .expect("strace is needed for this test; the README's test command installs it");
    let trace = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(trace.contains("openat("), "strace saw no open");
    trace
}

#[test]
fn no_ca_store_is_read_for_an_http_address() {
    let server = stub::serve(|request| {
        stub::vault_checks(request, 2).unwrap_or((200, r#"{"data":{"data":{"K":"v"}}}"#.into()))
    });
    let trace = opens(&server.url());
    assert!(
        !trace.contains("/etc/ssl") && !trace.contains("/etc/pki"),
        "{trace}"
    );
    // The control: for https the system's bundle is read (then the connection fails).
    let closed = stub::closed_port();
    let trace = opens(&format!("https://127.0.0.1:{closed}"));
    assert!(
        trace.contains("/etc/ssl") || trace.contains("/etc/pki"),
        "{trace}"
    );
}

#[test]
fn a_ca_directory_is_trusted() {
    let server = crate::bao::tls_server();
    let ca = server.tls_dir.as_ref().unwrap().join("vault-ca.pem");
    let test = Test::new().file("cas/vault-ca.pem", std::fs::read(&ca).unwrap());
    let dir = test.dir().join("cas");
    // The handshake works: the secret is simply not there.
    test.env("VAULT_ADDR", &server.addr)
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .env("VAULT_CAPATH", &dir)
        .args(["--from", "vault://secret/none", "--", "true"])
        .run()
        .status(78)
        .stderr_has("not found");
}

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let status = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl is needed for this test");
    assert!(status.success(), "openssl {args:?}");
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made here.
fn make_certs(dir: &std::path::Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        dir,
        &[
            &["req", "-x509"],
            &ec[..],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=test-ca",
            ],
        ]
        .concat(),
    );
    std::fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for who in ["server", "client"] {
        let (key, csr, pem, ext, cn) = (
            format!("{who}.key"),
            format!("{who}.csr"),
            format!("{who}.pem"),
            format!("{who}.ext"),
            format!("/CN={who}"),
        );
        openssl(
            dir,
            &[
                &["req"],
                &ec[..],
                &["-keyout", &key, "-out", &csr, "-subj", &cn],
            ]
            .concat(),
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "2",
                "-extfile",
                &ext,
            ],
        );
    }
}

#[test]
fn the_client_certificate_is_presented() {
    // openssl's test server demands a client certificate (-Verify) and serves files
    // from its directory (-WWW): the mount lookup and the KV read, as files.
    let test = Test::new()
        .file(
            "www/v1/sys/internal/ui/mounts/secret/app",
            r#"{"data":{"path":"secret/","type":"kv","options":{"version":"2"}}}"#,
        )
        .file(
            "www/v1/secret/data/app",
            r#"{"data":{"data":{"FROM_MTLS":"yes"}}}"#,
        );
    let dir = test.dir().to_path_buf();
    make_certs(&dir);
    let port = stub::server_port();
    let mut server = std::process::Command::new("openssl")
        .args(["s_server", "-quiet", "-WWW", "-Verify", "1", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .args([
            "-cert",
            "../server.pem",
            "-key",
            "../server.key",
            "-CAfile",
            "../ca.pem",
        ])
        .current_dir(dir.join("www"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl is needed for this test");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "s_server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let with = |test: Test, cert: bool| {
        let test = test
            .env("VAULT_ADDR", format!("https://127.0.0.1:{port}"))
            .env("VAULT_TOKEN", "t")
            .env("VAULT_CACERT", dir.join("ca.pem"));
        let test = if cert {
            test.env("VAULT_CLIENT_CERT", dir.join("client.pem"))
                .env("VAULT_CLIENT_KEY", dir.join("client.key"))
        } else {
            test
        };
        test.args([
            "--timeout",
            "5s",
            "--pure",
            "--from",
            "vault://secret/app",
            "--",
            "env",
            "-0",
        ])
        .run()
    };
    let run = with(Test::new(), true);
    run.success();
    assert_eq!(run.env0()["FROM_MTLS"], "yes");
    // Without it the server ends the handshake.
    with(Test::new(), false).status(69);
    server.kill().unwrap();
    server.wait().unwrap();
}

/// An address that does not parse is refused without being shown whole: a password
/// in it, wherever the typo put it, never reaches the message.
#[test]
fn a_mistyped_address_never_echoes_its_password() {
    for addr in [
        "http:/user:CANARYpw@vault.example:8200",
        "http//user:CANARYpw@vault.example",
        "user:CANARYpw@vault.example:8200",
        "http://user:CANARY/pw@vault.example",
        "https://vault.example:8200/?token=CANARY",
        "ftp://user:CANARYpw@vault.example",
    ] {
        read(Test::new().env("VAULT_ADDR", addr).env("VAULT_TOKEN", "t"))
            .status(78)
            .no_canary();
    }
}

/// `[vault]` settings are parsed when the config is read, not when a Vault is
/// first asked: a bad one fails every command, even one that reads no Vault, at its
/// line and naming its key, without showing what was written there.
#[test]
fn bad_vault_settings_are_refused_when_the_config_is_read() {
    for (setting, key) in [
        (
            "client_timeout",
            "`[vault] client_timeout` is not a duration",
        ),
        ("auth", "`[vault] auth` is not a Vault auth method"),
    ] {
        Test::new()
            .file(".env", "A=1\n")
            .file(
                "secretrun.toml",
                format!("[vault]\n{setting} = \"{CANARY}\"\n"),
            )
            .args(["list"])
            .run()
            .status(78)
            .stderr_has("secretrun.toml:2")
            .stderr_has(key)
            .no_canary();
    }
    // From the environment, the variable is named.
    Test::new()
        .file(".env", "A=1\n")
        .args(["--from", "vault://secret/app", "list"])
        .env("VAULT_ADDR", "http://127.0.0.1:9")
        .env("VAULT_TOKEN", "t")
        .env("SECRETRUN_VAULT_AUTH", "password")
        .run()
        .status(78)
        .stderr_has("SECRETRUN_VAULT_AUTH `password` is not a Vault auth method");
}
