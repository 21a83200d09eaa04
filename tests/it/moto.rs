//! A real Secrets Manager emulator on loopback (`moto_server`), shared by the tests of
//! this binary, set up through the Secrets Manager JSON API.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::stub::http_json;

/// The access key the tests give secretrun: canaries, so a leak shows.
pub const ACCESS_KEY: &str = "AKIACANARY0000000000";
pub const SECRET_KEY: &str = "secret-CANARY-access-key-0000000000000000";

pub struct Moto {
    pub url: String,
}

fn start(enforce_auth: bool) -> Moto {
    let port = crate::stub::server_port();
    let (mut command, _home) = crate::util::server_command("moto_server");
    command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    if enforce_auth {
        // Every request is checked against IAM; our made-up keys are unknown.
        command.env("INITIAL_NO_AUTH_ACTION_COUNT", "0");
    }
    crate::util::spawn_server(command);
    let moto = Moto {
        url: format!("http://127.0.0.1:{port}"),
    };
    // Up when moto's own API answers on the port: any other listener there would not.
    let started = Instant::now();
    loop {
        let listening = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        if listening
            && crate::stub::http("GET", &format!("{}/moto-api/data.json", moto.url), &[], "").0
                == 200
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "moto_server did not start within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    moto
}

/// The shared server.
pub fn server() -> &'static Moto {
    static SERVER: OnceLock<Moto> = OnceLock::new();
    SERVER.get_or_init(|| start(false))
}

/// A server that refuses every request (IAM enforced, unknown keys).
pub fn strict_server() -> &'static Moto {
    static SERVER: OnceLock<Moto> = OnceLock::new();
    SERVER.get_or_init(|| start(true))
}

impl Moto {
    /// Calls a Secrets Manager action; panics unless it succeeds.
    pub fn call(&self, action: &str, body: Value) -> Value {
        let target = format!("secretsmanager.{action}");
        let headers = [
            ("X-Amz-Target", target.as_str()),
            ("Content-Type", "application/x-amz-json-1.1"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0",
            ),
        ];
        let (status, answer) = http_json("POST", &format!("{}/", self.url), &headers, Some(&body));
        assert_eq!(status, 200, "{action}: {answer}");
        answer
    }

    /// Creates a secret holding `text`; returns its ARN.
    pub fn create(&self, name: &str, text: &str) -> String {
        let answer = self.call(
            "CreateSecret",
            json!({ "Name": name, "SecretString": text }),
        );
        answer["ARN"].as_str().unwrap().to_owned()
    }

    /// Puts a new current value; the old one becomes AWSPREVIOUS.
    pub fn rotate(&self, name: &str, text: &str) {
        self.call(
            "PutSecretValue",
            json!({ "SecretId": name, "SecretString": text }),
        );
    }
}
