//! AWS Secrets Manager settings the README promises, each shown from outside:
//! pinned versions, profiles and regions as the SDK takes them, retries, and how
//! Secrets Manager's errors and nested values end.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::moto::{self, ACCESS_KEY, SECRET_KEY};
use crate::stub::{self, Request};
use crate::util::Test;

fn aws(test: Test, url: &str) -> Test {
    test.env("AWS_ENDPOINT_URL", url)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
}

fn fetch(test: Test, source: &str) -> crate::util::Run {
    test.args([
        "--timeout",
        "20s",
        "--pure",
        "--from",
        source,
        "--",
        "env",
        "-0",
    ])
    .run()
}

/// A Secrets Manager stub that answers every BatchGetSecretValue with `{"K":"v"}` for
/// each id (what `answer` does not answer first). As Secrets Manager does, it takes
/// only its read operations, BatchGetSecretValue and GetSecretValue, each with the
/// body that operation takes: any other operation, or a body of another shape, is
/// refused, so a client that sends the wrong call fails against it.
fn batch_stub(
    answer: impl Fn(&Request, &Value) -> Option<(u16, String)> + Send + Sync + 'static,
) -> stub::Stub {
    stub::serve_with_body(move |request, body| {
        let operation = request
            .header("x-amz-target")
            .and_then(|t| t.strip_prefix("secretsmanager."))
            .filter(|op| ["BatchGetSecretValue", "GetSecretValue"].contains(op))
            .unwrap_or("BatchGetSecretValue")
            .to_owned();
        if let Some(refusal) = stub::aws_checks(request, &operation) {
            return refusal;
        }
        let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let shaped = match operation.as_str() {
            "BatchGetSecretValue" => body["SecretIdList"].as_array().is_some_and(|ids| {
                (1..=20).contains(&ids.len()) && ids.iter().all(Value::is_string)
            }),
            _ => body["SecretId"].is_string(),
        };
        if !shaped {
            let error = json!({"__type": "ValidationException", "message": "stub: not this operation's body"});
            return (400, error.to_string());
        }
        if let Some(answer) = answer(request, &body) {
            return answer;
        }
        if operation == "GetSecretValue" {
            let error = json!({"__type": "ResourceNotFoundException", "message": "stub"});
            return (400, error.to_string());
        }
        let ids = body["SecretIdList"].as_array().cloned().unwrap_or_default();
        let values: Vec<Value> = ids
            .iter()
            .map(|id| json!({"Name": id, "ARN": format!("arn:aws:secretsmanager:us-east-1:1:secret:{}-AbCdEf", id.as_str().unwrap()), "SecretString": r#"{"K":"v"}"#}))
            .collect();
        (
            200,
            json!({"SecretValues": values, "Errors": []}).to_string(),
        )
    })
}

#[test]
fn a_pinned_version_id_is_read() {
    let server = moto::server();
    server.create("pinned-id", r#"{"P":"first"}"#);
    let first = server.call("GetSecretValue", json!({"SecretId": "pinned-id"}))["VersionId"]
        .as_str()
        .unwrap()
        .to_owned();
    server.rotate("pinned-id", r#"{"P":"second"}"#);
    let run = fetch(
        aws(Test::new(), &server.url),
        &format!("aws-sm://pinned-id?version-id={first}"),
    );
    run.success();
    assert_eq!(run.env0()["P"], "first");
    let run = fetch(aws(Test::new(), &server.url), "aws-sm://pinned-id");
    assert_eq!(run.env0()["P"], "second");
}

#[test]
fn pinned_secrets_go_through_get_secret_value() {
    let operations = Arc::new(Mutex::new(Vec::new()));
    let seen = operations.clone();
    let server = batch_stub(move |request, body| {
        let operation = request.header("x-amz-target").unwrap_or("").to_owned();
        seen.lock().unwrap().push(operation.clone());
        (operation == "secretsmanager.GetSecretValue").then(|| {
            // A wrong stage is refused as AWS refuses one: an answer, not a panic of
            // the stub's thread.
            if body["VersionStage"] != "AWSPREVIOUS" || body["SecretId"] != "p" {
                let error = json!({"__type": "ResourceNotFoundException", "message": "stub: not this stage"});
                return (400, error.to_string());
            }
            (200, json!({"Name": "p", "ARN": "arn:aws:secretsmanager:us-east-1:1:secret:p-AbCdEf", "SecretString": r#"{"OLD":"o"}"#, "VersionId": "v1", "VersionStages": ["AWSPREVIOUS"]}).to_string())
        })
    });
    let run = aws(Test::new(), &server.url())
        .args([
            "--pure",
            "--from",
            "aws-sm://p?stage=AWSPREVIOUS",
            "--from",
            "aws-sm://current",
        ])
        .args(["--", "env", "-0"])
        .run();
    run.success();
    assert_eq!(
        (run.env0()["OLD"].as_str(), run.env0()["K"].as_str()),
        ("o", "v")
    );
    let mut operations = operations.lock().unwrap().clone();
    operations.sort();
    assert_eq!(
        operations,
        [
            "secretsmanager.BatchGetSecretValue",
            "secretsmanager.GetSecretValue"
        ]
    );
}

#[test]
fn a_profile_supplies_credentials_and_region() {
    let server = batch_stub(|_, _| None);
    let test = Test::new()
        .file(
            ".aws/credentials",
            "[team]\naws_access_key_id = AKIAPROFILE000000000\naws_secret_access_key = from-the-profile\n",
        )
        .file(".aws/config", "[profile team]\nregion = us-east-1\n");
    let home = test.dir().to_path_buf();
    for test in [
        test.env("AWS_PROFILE", "team"),
        Test::new()
            .file(
                ".aws/credentials",
                std::fs::read(home.join(".aws/credentials")).unwrap(),
            )
            .file(
                ".aws/config",
                std::fs::read(home.join(".aws/config")).unwrap(),
            )
            .file("secretrun.toml", "[aws]\nprofile = \"team\"\n"),
    ] {
        let home = test.dir().to_path_buf();
        fetch(
            test.env("HOME", &home)
                .env("AWS_ENDPOINT_URL", server.url()),
            "aws-sm://app",
        )
        .success();
    }
    let requests = server.requests.lock().unwrap();
    assert_eq!(requests.len(), 2);
    for request in requests.iter() {
        assert!(
            request
                .header("authorization")
                .unwrap()
                .contains("Credential=AKIAPROFILE000000000/"),
            "not signed with the profile's key"
        );
    }
}

#[test]
fn aws_default_region_is_the_region() {
    let server = batch_stub(|_, _| None);
    let with_region = |region: &str| {
        fetch(
            Test::new()
                .env("AWS_ENDPOINT_URL", server.url())
                .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
                .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
                .env("AWS_DEFAULT_REGION", region),
            "aws-sm://app",
        )
    };
    with_region("us-east-1").success();
    // The stub signs for us-east-1 only: another region is refused there.
    with_region("eu-west-1").status(77).no_canary();
}

#[test]
fn aws_max_attempts_and_retry_mode_are_the_sdks() {
    for (attempts, mode) in [("1", "standard"), ("3", "standard"), ("2", "adaptive")] {
        let calls = Arc::new(AtomicUsize::new(0));
        let count = calls.clone();
        let server = batch_stub(move |_, _| {
            count.fetch_add(1, Ordering::SeqCst);
            Some((
                500,
                r#"{"__type":"InternalServiceError","message":"down"}"#.into(),
            ))
        });
        fetch(
            aws(Test::new(), &server.url())
                .env("AWS_MAX_ATTEMPTS", attempts)
                .env("AWS_RETRY_MODE", mode),
            "aws-sm://app",
        )
        .status(69)
        .no_canary();
        assert_eq!(
            calls.load(Ordering::SeqCst).to_string(),
            attempts,
            "AWS_MAX_ATTEMPTS={attempts} AWS_RETRY_MODE={mode}"
        );
    }
}

#[test]
fn decryption_failure_is_78() {
    let server = batch_stub(|_, body| {
        let id = body["SecretIdList"][0].clone();
        Some((200, json!({"SecretValues": [], "Errors": [{"SecretId": id, "ErrorCode": "DecryptionFailure", "Message": "kms"}]}).to_string()))
    });
    fetch(aws(Test::new(), &server.url()), "aws-sm://locked")
        .status(78)
        .no_canary()
        .stderr_has("DecryptionFailure");
}

#[test]
fn nested_objects_need_json() {
    let server = moto::server();
    server.create("nested-aws", r#"{"DB":{"user":"u","pass":"p"},"FLAT":"f"}"#);
    fetch(aws(Test::new(), &server.url), "aws-sm://nested-aws")
        .status(78)
        .no_canary()
        .stderr_has("`DB`");
    let run = fetch(aws(Test::new(), &server.url), "aws-sm://nested-aws?json");
    run.success();
    let db: Value = serde_json::from_str(&run.env0()["DB"]).unwrap();
    assert_eq!(db, json!({"user": "u", "pass": "p"}));
    assert_eq!(run.env0()["FLAT"], "f");
}

/// The version's CreatedDate comes in the batch answer: asking for ages sends no
/// request more, and the date reaches `check`.
#[test]
fn max_age_adds_no_request() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let server = batch_stub(move |_, body| {
        seen.fetch_add(1, Ordering::SeqCst);
        let id = body["SecretIdList"][0].as_str().unwrap_or("").to_owned();
        // 2024-01-02T03:04:05Z, as the JSON protocol writes a timestamp.
        let entry =
            json!({"Name": id, "SecretString": r#"{"K":"v"}"#, "CreatedDate": 1704164645.25});
        Some((
            200,
            json!({"SecretValues": [entry], "Errors": []}).to_string(),
        ))
    });
    let requests = |config: &str, args: &[&str]| {
        count.store(0, Ordering::SeqCst);
        let run = aws(Test::new(), &server.url())
            .file("secretrun.toml", config)
            .args(args)
            .run();
        run.success();
        (
            count.load(Ordering::SeqCst),
            run.stdout.clone(),
            run.stderr.clone(),
        )
    };
    let launch = ["--pure", "--from", "aws-sm://app", "--", "true"];
    let (without, _, quiet) = requests("", &launch);
    let (with, _, warned) = requests("[rotation]\nmax_age = \"90d\"\n", &launch);
    assert_eq!(without, 1, "one batch call");
    assert_eq!(with, without);
    assert_eq!(quiet, "");
    assert!(warned.contains("warning: `K` was written "), "{warned}");
    let (_, json, _) = requests(
        "",
        &[
            "check",
            "--pure",
            "--from",
            "aws-sm://app",
            "--format",
            "json",
        ],
    );
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        doc["variables"][0]["rotation"]["created"],
        "2024-01-02T03:04:05Z"
    );
}

/// A fleet is throttled: with no retry settings of the user's, a launch keeps asking
/// through `ThrottlingException`s (here the first seven calls: more than the SDK's
/// three attempts twice over) inside its deadline; with the user's
/// `AWS_MAX_ATTEMPTS`, the SDK's attempts are all it gets.
#[test]
fn throttling_is_waited_out_unless_the_user_chose_the_attempts() {
    let throttled = |first: usize| {
        let calls = Arc::new(AtomicUsize::new(0));
        let count = calls.clone();
        let server = batch_stub(move |_, body| {
            if count.fetch_add(1, Ordering::SeqCst) < first {
                return Some((
                    400,
                    r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into(),
                ));
            }
            let id = body["SecretIdList"][0].as_str().unwrap_or("");
            let value = json!({
                "Name": id,
                "ARN": format!("arn:aws:secretsmanager:us-east-1:1:secret:{id}"),
                "SecretString": "{\"T\":\"through\"}",
                "VersionId": "v1",
                "CreatedDate": 1.7e9,
            });
            Some((
                200,
                json!({"SecretValues": [value], "Errors": []}).to_string(),
            ))
        });
        (server, calls)
    };
    let (server, calls) = throttled(7);
    let run = fetch(aws(Test::new(), &server.url()), "aws-sm://app");
    run.success().no_canary();
    assert_eq!(run.env0()["T"], "through");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        8,
        "seven throttled, then the answer"
    );
    let (server, calls) = throttled(7);
    fetch(
        aws(Test::new(), &server.url()).env("AWS_MAX_ATTEMPTS", "3"),
        "aws-sm://app",
    )
    .status(69)
    .no_canary()
    .stderr_has("ThrottlingException");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

/// A call made again after Secrets Manager throttled it, and still unanswered at
/// the deadline, was throttled: the launch names the `ThrottlingException`, not a
/// store that did not answer. (The SDK's three attempts are throttled first: a call
/// held inside them is the SDK's to report, and it says nothing of throttling.)
#[test]
fn a_call_still_throttled_at_the_deadline_says_it_was_throttled() {
    let (release, held) = stub::held();
    let calls = Arc::new(AtomicUsize::new(0));
    let count = calls.clone();
    let server = batch_stub(move |_, _| {
        if count.fetch_add(1, Ordering::SeqCst) < 3 {
            return Some((
                400,
                r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into(),
            ));
        }
        held.wait();
        Some((500, "{}".into()))
    });
    let run = aws(Test::new(), &server.url())
        .args(["--timeout", "6s", "--from", "aws-sm://app", "--", "true"])
        .run();
    run.status(69)
        .no_canary()
        .stderr_has("answered ThrottlingException (too many requests)")
        .stderr_has("`--timeout` gives");
    assert!(!run.stderr.contains("did not answer"), "{}", run.stderr);
    drop(release);
    assert_eq!(calls.load(Ordering::SeqCst), 4, "three throttled, one held");
}

/// Off EC2 secretrun gives the SDK its chains without the metadata service; the
/// container's and the web identity's credentials are in them: ECS's endpoint
/// (`AWS_CONTAINER_CREDENTIALS_FULL_URI`, a loopback one here) and EKS's role
/// (`AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN`, exchanged at STS). Each
/// launch's call is signed with the key those gave.
#[test]
fn container_and_web_identity_credentials_are_in_the_chain_off_ec2() {
    let container = stub::serve(|request| {
        if request.path != "/creds" {
            return (404, "{}".into());
        }
        let creds = json!({
            "AccessKeyId": "ASIACONTAINER0000000",
            "SecretAccessKey": "container-secret",
            "Token": "container-session",
            "Expiration": "2099-01-01T00:00:00Z",
        });
        (200, creds.to_string())
    });
    let signed_by = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = signed_by.clone();
    let store = stub::serve_with_body(move |request, body| {
        // STS's query protocol: AssumeRoleWithWebIdentity with the file's token.
        if body.contains("Action=AssumeRoleWithWebIdentity") {
            let ok = body.contains("WebIdentityToken=web-identity-jwt")
                && body.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Freader");
            if !ok {
                return (
                    400,
                    "<ErrorResponse><Error><Code>InvalidParameter</Code></Error></ErrorResponse>"
                        .into(),
                );
            }
            return (200, "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIAWEBIDENTITY00000</AccessKeyId><SecretAccessKey>web-secret</SecretAccessKey><SessionToken>web-session</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/reader/s</Arn><AssumedRoleId>AROA0000:s</AssumedRoleId></AssumedRoleUser></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>".into());
        }
        if let Some(refusal) = stub::aws_checks(request, "BatchGetSecretValue") {
            return refusal;
        }
        let auth = request.header("authorization").unwrap_or("").to_owned();
        seen.lock().unwrap().push(auth);
        let values = [
            json!({"Name": "app", "ARN": "arn:aws:secretsmanager:us-east-1:1:secret:app-AbCdEf", "SecretString": "{\"K\":\"v\"}"}),
        ];
        (
            200,
            json!({"SecretValues": values, "Errors": []}).to_string(),
        )
    });
    let base = |test: Test| {
        test.env("AWS_ENDPOINT_URL", store.url())
            .env("AWS_REGION", "us-east-1")
    };
    fetch(
        base(Test::new()).env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("{}/creds", container.url()),
        ),
        "aws-sm://app",
    )
    .success()
    .no_canary();
    let test = Test::new().file("token", "web-identity-jwt");
    let token = test.dir().join("token");
    fetch(
        base(test)
            .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token)
            .env("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/reader")
            .env("AWS_ROLE_SESSION_NAME", "s"),
        "aws-sm://app",
    )
    .success()
    .no_canary();
    let signed_by = signed_by.lock().unwrap();
    assert_eq!(signed_by.len(), 2, "{signed_by:?}");
    assert!(
        signed_by[0].contains("Credential=ASIACONTAINER0000000/"),
        "{}",
        signed_by[0]
    );
    assert!(
        signed_by[1].contains("Credential=ASIAWEBIDENTITY00000/"),
        "{}",
        signed_by[1]
    );
}

/// A redirect from the endpoint is not followed: the signed request would go with
/// it.
#[test]
fn a_redirect_is_not_followed() {
    let elsewhere = stub::serve(|_| (200, "{}".into()));
    let to = elsewhere.url();
    let redirecting = stub::serve(move |request| (307, format!("{to}{}", request.path)));
    let run = fetch(aws(Test::new(), &redirecting.url()), "aws-sm://app");
    assert_ne!(run.status, Some(0), "{}", run.stderr);
    run.no_canary();
    assert!(!redirecting.requests.lock().unwrap().is_empty());
    assert!(
        elsewhere.requests.lock().unwrap().is_empty(),
        "the redirect was followed"
    );
}
