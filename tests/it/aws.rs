//! The AWS Secrets Manager source against moto_server.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::conformance::{self, Backend};
use crate::moto::{self, ACCESS_KEY, SECRET_KEY};
use crate::stub;
use crate::util::{CANARY, Test};

/// Credentials and region for a server at `url`, nothing read from this machine.
fn aws(test: Test, url: &str) -> Test {
    test.env("AWS_ENDPOINT_URL", url)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
}

struct AwsBackend;

impl Backend for AwsBackend {
    fn put(&self, name: &str, data: Value) {
        moto::server().create(name, &data.to_string());
    }

    fn source(&self, name: &str) -> String {
        format!("aws-sm://{name}")
    }

    fn allowed(&self, test: Test) -> Test {
        aws(test, &moto::server().url)
    }

    fn denied(&self, test: Test) -> Test {
        aws(test, &moto::strict_server().url)
    }

    fn unreachable(&self, test: Test) -> Test {
        aws(test, &format!("http://127.0.0.1:{}", stub::closed_port()))
    }

    fn credentials(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID".into(), ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY".into(), SECRET_KEY.into()),
        ]
    }
}

#[test]
fn conformance() {
    conformance::run_all(&AwsBackend, "conf");
}

fn allowed(test: Test) -> Test {
    AwsBackend.allowed(test)
}

#[test]
fn plain_text_secret_needs_a_name() {
    moto::server().create("plain-text", CANARY);
    let run = allowed(Test::new())
        .args([
            "--pure",
            "--from",
            "aws-sm://plain-text?as=STRIPE_SECRET_KEY",
            "--",
            "env",
            "-0",
        ])
        .run();
    run.success();
    assert_eq!(run.env0()["STRIPE_SECRET_KEY"], CANARY);
    allowed(Test::new())
        .args(["--from", "aws-sm://plain-text", "--", "true"])
        .run()
        .status(78)
        .no_canary()
        .stderr_is(
            "error: `aws-sm://plain-text` is plain text: name its variable with `?as=NAME`\n",
        );
    // In a dotenv reference the variable is the name.
    let run = allowed(Test::new().file(".env", "KEY=aws-sm://plain-text\n"))
        .args(["--pure", "--", "env", "-0"])
        .run();
    run.success();
    assert_eq!(run.env0()["KEY"], CANARY);
}

#[test]
fn by_arn() {
    let arn = moto::server().create("by-arn", r#"{"ARN_KEY":"v"}"#);
    let run = allowed(Test::new())
        .args([
            "--pure",
            "--from",
            &format!("aws-sm://{arn}"),
            "--",
            "env",
            "-0",
        ])
        .run();
    run.success();
    assert_eq!(run.env0()["ARN_KEY"], "v");
}

#[test]
fn forty_five_secrets_and_one_missing_among_them_fails_all() {
    let server = moto::server();
    let mut test = allowed(Test::new()).args(["--pure"]);
    for i in 0..45 {
        server.create(
            &format!("many/{i}"),
            &json!({ format!("MANY_{i}"): i }).to_string(),
        );
        test = test.args(["--from", &format!("aws-sm://many/{i}")]);
    }
    let run = test.args(["--", "env", "-0"]).run();
    run.success();
    let env = run.env0();
    assert_eq!(env.len(), 45);
    assert_eq!(env["MANY_44"], "44");

    let mut test = allowed(Test::new());
    for i in 0..45 {
        test = test.args(["--from", &format!("aws-sm://many/{i}")]);
    }
    test.args(["--from", "aws-sm://many/missing", "--", "echo", "RAN"])
        .run()
        .status(78)
        .stdout_is("")
        .stderr_is(
            "error: reading `aws-sm://many/missing`: not found on AWS Secrets Manager\n\
             hint: check the name and the region (AWS_REGION, the profile's region or `[aws] \
             region`): a secret lives in one region\n",
        );
}

#[test]
fn previous_stage_after_a_rotation() {
    let server = moto::server();
    server.create("rotated", r#"{"PASSWORD":"old"}"#);
    server.rotate("rotated", r#"{"PASSWORD":"new"}"#);
    let run = allowed(Test::new())
        .args([
            "--pure",
            "--from",
            "aws-sm://rotated#PASSWORD?stage=AWSPREVIOUS&as=OLD",
            "--from",
            "aws-sm://rotated",
            "--",
            "env",
            "-0",
        ])
        .run();
    run.success();
    assert_eq!(run.env0()["OLD"], "old");
    assert_eq!(run.env0()["PASSWORD"], "new");
}

#[test]
fn endpoint_precedence() {
    let good = moto::server().url.clone();
    moto::server().create("endpoint", r#"{"E":"1"}"#);
    let closed = format!("http://127.0.0.1:{}", stub::closed_port());
    let fetch = |test: Test| {
        test.args([
            "--timeout",
            "3s",
            "--from",
            "aws-sm://endpoint",
            "--",
            "true",
        ])
        .run()
    };
    // The service's own variable beats the general one.
    fetch(aws(Test::new(), &closed).env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &good)).success();
    // The environment beats the config file, which is used without it.
    let config = format!("[aws]\nendpoint = \"{closed}\"\nregion = \"eu-west-1\"\n");
    fetch(aws(Test::new().file("secretrun.toml", &config), &good)).success();
    // The config's endpoint is used for an origin the user trusts (credentials.rs
    // shows the refusal without it).
    let config = format!("[aws]\nendpoint = \"{good}\"\nregion = \"us-east-1\"\n");
    fetch(
        Test::new()
            .file("secretrun.toml", config)
            .env("SECRETRUN_TRUSTED_ORIGINS", &good)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
    )
    .success();
}

#[test]
fn a_listener_that_never_answers_times_out_by_the_deadline() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let started = Instant::now();
    let run = aws(Test::new(), &url)
        .args([
            "--timeout",
            "2s",
            "--from",
            "aws-sm://x",
            "--",
            "echo",
            "RAN",
        ])
        .run();
    let took = started.elapsed();
    run.status(69).no_canary().stdout_is("");
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
fn without_credentials_off_ec2_nothing_waits_for_the_metadata_service() {
    // The metadata endpoint is pointed at a loopback listener that never answers:
    // a connection waiting in its backlog means the metadata service was asked.
    let asked = |metadata_disabled: Option<&str>| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut test = Test::new()
            .env("AWS_ENDPOINT_URL", &moto::server().url)
            .env("AWS_REGION", "us-east-1")
            .env(
                "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                format!("http://{}", listener.local_addr().unwrap()),
            )
            .args(["--timeout", "2s", "--from", "aws-sm://x", "--", "true"]);
        if let Some(value) = metadata_disabled {
            test = test.env("AWS_EC2_METADATA_DISABLED", value);
        }
        let run = test.run();
        listener.set_nonblocking(true).unwrap();
        (run, listener.accept().is_ok())
    };
    // Off EC2 (this machine says nothing of EC2), secretrun turns it off: no attempt.
    let (run, was_asked) = asked(None);
    run.status(78)
        .stderr_has("no AWS credentials found")
        .stderr_has("the EC2 metadata service was not asked");
    assert!(!was_asked, "the metadata service was asked off EC2");
    // The control: with the user's own AWS_EC2_METADATA_DISABLED=false it is asked.
    let (run, was_asked) = asked(Some("false"));
    assert_ne!(run.status, Some(0));
    assert!(
        was_asked,
        "the control did not reach the metadata listener, so the first case shows nothing"
    );
}

/// A stand-in for Secrets Manager that answers BatchGetSecretValue for any ids
/// (each secret `{"<ID>": "v"}` with `/` and `-` made `_`), after `delay`, counting
/// requests in flight in `gauge`, and recording each request's body.
fn slow_secrets_manager(
    delay: Duration,
    gauge: std::sync::Arc<stub::InFlight>,
) -> (stub::Stub, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = bodies.clone();
    let stub = stub::serve_with_body(move |request, body| {
        let _answering = gauge.enter();
        std::thread::sleep(delay);
        if let Some(refusal) = stub::aws_checks(request, "BatchGetSecretValue") {
            return refusal;
        }
        let body: Value = serde_json::from_str(body).unwrap();
        let values: Vec<Value> = body["SecretIdList"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| {
                let id = id.as_str().unwrap();
                let key = id.replace(['/', '-'], "_").to_uppercase();
                json!({ "Name": id, "ARN": format!("arn:aws:secretsmanager:us-east-1:1:secret:{id}-AbCdEf"), "SecretString": json!({ key: "v" }).to_string() })
            })
            .collect();
        seen.lock().unwrap().push(body);
        (
            200,
            json!({ "SecretValues": values, "Errors": [] }).to_string(),
        )
    });
    (stub, bodies)
}

#[test]
fn batches_hold_at_most_twenty_ids_and_run_at_once() {
    let gauge = std::sync::Arc::new(stub::InFlight::default());
    let (sm, bodies) = slow_secrets_manager(Duration::from_millis(500), gauge.clone());
    let mut test = aws(Test::new(), &sm.url()).args(["--pure"]);
    for i in 0..45 {
        test = test.args(["--from", &format!("aws-sm://b/{i}")]);
    }
    let run = test.args(["--", "env", "-0"]).run();
    run.success();
    assert_eq!(run.env0().len(), 45);
    let sizes: Vec<usize> = bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| b["SecretIdList"].as_array().unwrap().len())
        .collect();
    let mut sorted = sizes.clone();
    sorted.sort();
    assert_eq!(sorted, [5, 20, 20], "batch sizes {sizes:?}");
    // One call after another would be 1 at a time.
    assert!(gauge.max() >= 2, "the three calls never overlapped");
}

#[test]
fn mixed_sources_are_fetched_at_once() {
    // Vault (mount lookup, then the read) and Secrets Manager each hold their answer
    // a while; one gauge over both stubs shows whether the stores were asked at once.
    let gauge = std::sync::Arc::new(stub::InFlight::default());
    let in_vault = gauge.clone();
    let vault = stub::serve(move |request| {
        let _answering = in_vault.enter();
        std::thread::sleep(Duration::from_millis(400));
        if let Some(answer) = stub::vault_checks(request, 1) {
            return answer;
        }
        (200, r#"{"data":{"FROM_VAULT":"v"}}"#.into())
    });
    let (sm, _) = slow_secrets_manager(Duration::from_millis(400), gauge.clone());
    let run = aws(Test::new().file(".env", "FROM_DOTENV=d\n"), &sm.url())
        .env("VAULT_ADDR", vault.url())
        .env("VAULT_TOKEN", "t")
        .args([
            "--pure",
            "--from",
            ".env",
            "--from",
            "vault://secret/mixed",
            "--from",
            "aws-sm://from-aws",
            "--",
            "env",
            "-0",
        ])
        .run();
    run.success();
    let env = run.env0();
    assert_eq!(
        (
            env["FROM_DOTENV"].as_str(),
            env["FROM_VAULT"].as_str(),
            env["FROM_AWS"].as_str()
        ),
        ("d", "v", "v")
    );
    assert!(
        gauge.max() >= 2,
        "Vault and Secrets Manager were asked one after the other"
    );
}

#[test]
fn binary_secrets_must_be_utf8_text() {
    let server = moto::server();
    // "binary-but-text" and four bytes that are not UTF-8, base64-encoded.
    server.call(
        "CreateSecret",
        json!({ "Name": "binary-text", "SecretBinary": "YmluYXJ5LWJ1dC10ZXh0" }),
    );
    server.call(
        "CreateSecret",
        json!({ "Name": "binary-raw", "SecretBinary": "//7/AA==" }),
    );
    let run = allowed(Test::new())
        .args([
            "--pure",
            "--from",
            "aws-sm://binary-text?as=B",
            "--",
            "env",
            "-0",
        ])
        .run();
    run.success();
    assert_eq!(run.env0()["B"], "binary-but-text");
    allowed(Test::new())
        .args(["--from", "aws-sm://binary-raw?as=B", "--", "echo", "RAN"])
        .run()
        .status(65)
        .stdout_is("")
        .stderr_is("error: `aws-sm://binary-raw` is a binary secret that is not UTF-8 text\n");
}
