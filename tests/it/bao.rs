//! A real OpenBao dev server on loopback (`bao server -dev`), shared by the tests of
//! this binary and set up through Vault's HTTP API.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::stub::http_json;

/// The root token: a canary, so that a leak of it shows in any output.
pub const ROOT_TOKEN: &str = "root-CANARY-token-7f3a";

pub struct Bao {
    pub addr: String,
    /// The directory of the TLS files when started with `-dev-tls`.
    pub tls_dir: Option<PathBuf>,
}

fn start(tls: bool) -> Bao {
    let port = crate::stub::server_port();
    let (mut command, home) = crate::util::server_command("bao");
    command
        .args(["server", "-dev", "-dev-no-store-token"])
        .arg(format!("-dev-root-token-id={ROOT_TOKEN}"))
        .arg(format!("-dev-listen-address=127.0.0.1:{port}"));
    let tls_dir = tls.then(|| home.join("tls"));
    if let Some(dir) = &tls_dir {
        std::fs::create_dir_all(dir).unwrap();
        command
            .arg("-dev-tls")
            .arg(format!("-dev-tls-cert-dir={}", dir.display()));
    }
    crate::util::spawn_server(command);
    let scheme = if tls { "https" } else { "http" };
    let bao = Bao {
        addr: format!("{scheme}://127.0.0.1:{port}"),
        tls_dir,
    };
    let started = Instant::now();
    loop {
        let listening = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        let up = if tls {
            listening && bao.tls_dir.as_ref().unwrap().join("vault-ca.pem").is_file()
        } else {
            listening
                && http_json("GET", &format!("{}/v1/sys/health", bao.addr), &[], None).0 == 200
        };
        if up {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "bao did not start within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    if tls {
        // The listener may come up a moment before the server is unsealed: ask the
        // server itself (`bao status` exits 0 once it is unsealed).
        let ca = bao.tls_dir.as_ref().unwrap().join("vault-ca.pem");
        loop {
            let status = std::process::Command::new(crate::util::tool("bao"))
                .args(["status", "-address", &bao.addr, "-ca-cert"])
                .arg(&ca)
                .env_clear()
                .env("HOME", dir_of(&ca))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            if status.success() {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "bao did not unseal within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    bao
}

/// The shared plain-HTTP server, with a KV v1 mount at `kv1/`, an AppRole, a JWT
/// role, a namespace and policies set up once.
pub fn server() -> &'static Bao {
    static SERVER: OnceLock<Bao> = OnceLock::new();
    SERVER.get_or_init(|| {
        let bao = start(false);
        bao.setup();
        bao
    })
}

/// A second server with `-dev-tls`.
pub fn tls_server() -> &'static Bao {
    static SERVER: OnceLock<Bao> = OnceLock::new();
    SERVER.get_or_init(|| start(true))
}

impl Bao {
    /// A request to the API with the root token (plain HTTP servers only).
    pub fn api(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.api_in(None, method, path, body)
    }

    pub fn api_in(
        &self,
        namespace: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let mut headers = vec![("X-Vault-Token", ROOT_TOKEN)];
        if let Some(ns) = namespace {
            headers.push(("X-Vault-Namespace", ns));
        }
        let (status, answer) = http_json(
            method,
            &format!("{}/v1/{path}", self.addr),
            &headers,
            body.as_ref(),
        );
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {answer}"
        );
        answer
    }

    /// Writes a KV v2 secret at `secret/PATH` and returns its version.
    pub fn put(&self, path: &str, data: Value) -> u64 {
        let answer = self.api(
            "POST",
            &format!("secret/data/{path}"),
            Some(json!({ "data": data })),
        );
        answer["data"]["version"].as_u64().unwrap()
    }

    fn setup(&self) {
        self.api(
            "POST",
            "sys/mounts/kv1",
            Some(json!({"type": "kv", "options": {"version": "1"}})),
        );
        let read = r#"
            path "secret/data/*" { capabilities = ["read"] }
            path "kv1/*" { capabilities = ["read"] }
        "#;
        self.api(
            "PUT",
            "sys/policies/acl/app-read",
            Some(json!({ "policy": read })),
        );
        self.api(
            "PUT",
            "sys/policies/acl/nothing",
            Some(json!({ "policy": "path \"nothing/*\" { capabilities = [\"read\"] }" })),
        );
        self.api("POST", "sys/auth/approle", Some(json!({"type": "approle"})));
        self.api(
            "POST",
            "auth/approle/role/app",
            Some(json!({"token_policies": ["app-read"]})),
        );
        self.api("POST", "sys/namespaces/team", None);
        self.api_in(
            Some("team"),
            "POST",
            "sys/mounts/secret",
            Some(json!({"type": "kv", "options": {"version": "2"}})),
        );
    }

    /// A token that may read nothing of ours. Its id is a canary, so that a test of
    /// a refused read also shows the token is never echoed.
    pub fn denied_token(&self) -> String {
        static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let id = format!("denied-CANARY-{}-{n}", std::process::id());
        let answer = self.api(
            "POST",
            "auth/token/create",
            Some(json!({"id": id, "policies": ["nothing"], "no_default_policy": true})),
        );
        let token = answer["auth"]["client_token"].as_str().unwrap().to_owned();
        assert_eq!(token, id, "the denied token has the canary id");
        token
    }

    /// A role id and a fresh secret id for the `app` AppRole.
    pub fn approle(&self) -> (String, String) {
        let role_id = self.api("GET", "auth/approle/role/app/role-id", None)["data"]["role_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let secret_id =
            self.api("POST", "auth/approle/role/app/secret-id", None)["data"]["secret_id"]
                .as_str()
                .unwrap()
                .to_owned();
        (role_id, secret_id)
    }
}

/// The directory a file is in (the server's own home, for `bao status`).
fn dir_of(path: &std::path::Path) -> &std::path::Path {
    path.parent().unwrap()
}
