//! Validation before launch and `secretrun check`, through the binary.

use serde_json::json;

use crate::stub;
use crate::util::{CANARY, Test};

/// A made-up test-mode key that the Stripe stub accepts.
const GOOD_TEST_KEY: &str = "sk_test_GoodKey00000000000000000000";

#[test]
fn every_schema_failure_is_reported_at_once_and_nothing_runs() {
    let config = r#"
[vars.PORT]
format = "port"
[vars.RATE]
min = 0
max = 1
[vars.CODE]
pattern = "[A-Z]{3}"
[vars.SHORT]
min_length = 10
[vars.TIER]
one_of = ["free", "pro"]
[vars.OPTIONAL_EMPTY]
allow_empty = true
format = "url"
[vars.SITE]
format = "url"
[vars.ABSENT]
required = true
"#;
    let run = Test::new()
        .file("secretrun.toml", config)
        .file(".env", "PORT=99999\nRATE=1.5\nCODE=abcd\nSHORT=abc\nTIER=gold\nOPTIONAL_EMPTY=\nSITE=https://ok.example\n")
        .args(["--", "sh", "-c", "echo RAN"])
        .run();
    run.status(65).stdout_is("").stderr_is(concat!(
        "error: validation failed, nothing was run:\n",
        "  `ABSENT` is required but missing\n",
        "  `CODE` does not match the pattern `[A-Z]{3}`\n",
        "  `PORT` is not a port number (1 to 65535, digits only)\n",
        "  `RATE` is above the maximum of 1\n",
        "  `SHORT` is shorter than 10 characters\n",
        "  `TIER` is not one of `free`, `pro`\n",
    ));
}

#[test]
fn placeholders_fail_required_variables() {
    Test::new()
        .file("secretrun.toml", "require = [\"SECRET_KEY\", \"STRIPE_SECRET_KEY\"]\n")
        .file(".env", "SECRET_KEY=your-django-secret-key\nSTRIPE_SECRET_KEY=sk_live_YOUR_NEW_SECRET_KEY\nOTHER=changeme\n")
        .args(["--", "true"])
        .run()
        .status(65)
        .stderr_is(concat!(
            "warning: `OTHER` looks like a placeholder, not a real value\n",
            "error: validation failed, nothing was run:\n",
            "  `SECRET_KEY` holds a placeholder, not a real value\n",
            "  `STRIPE_SECRET_KEY` holds a placeholder, not a real value\n",
        ));
}

#[test]
fn a_live_key_warns_and_the_launch_goes_on() {
    Test::new()
        .file(".env", format!("STRIPE_SECRET_KEY={CANARY}\n"))
        .args(["--", "echo", "started"])
        .run()
        .success()
        .no_canary()
        .stdout_is("started\n")
        .stderr_is("warning: `STRIPE_SECRET_KEY` holds a live Stripe secret key\n");
}

#[test]
fn expect_test_refuses_live_keys() {
    for how in [&["--expect", "test"][..], &[]] {
        let mut test = Test::new().file(".env", format!("STRIPE_SECRET_KEY={CANARY}\n"));
        if how.is_empty() {
            test = test.env("SECRETRUN_EXPECT", "test");
        }
        test.args(how.iter().copied())
            .args(["--", "echo", "started"])
            .run()
            .status(65)
            .no_canary()
            .stdout_is("")
            .stderr_is(concat!(
                "error: validation failed, nothing was run:\n",
                "  `STRIPE_SECRET_KEY` holds a live Stripe secret key, but test keys are expected\n",
            ));
    }
}

#[test]
fn expect_live_refuses_test_keys_and_insecure_django_keys() {
    Test::new()
        .file("secretrun.toml", "expect = \"live\"\n")
        .file(".env", format!("STRIPE_SECRET_KEY={GOOD_TEST_KEY}\nSECRET_KEY=django-insecure-0123456789abcdefghijklmnopqrstuvwxyz0123456789\n"))
        .args(["--", "true"])
        .run()
        .status(65)
        .stderr_is(concat!(
            "error: validation failed, nothing was run:\n",
            "  `SECRET_KEY` is a Django `django-insecure-` development key, but live keys are expected\n",
            "  `STRIPE_SECRET_KEY` holds a test Stripe secret key, but live keys are expected\n",
        ));
}

#[test]
fn keys_of_one_provider_in_mixed_modes_are_an_error() {
    Test::new()
        .file(".env", format!("STRIPE_PUBLISHABLE_KEY=pk_test_TYooMQauvdEDq54NiTphI7jx\nSTRIPE_SECRET_KEY={CANARY}\n"))
        .args(["--", "true"])
        .run()
        .status(65)
        .no_canary()
        .stderr_is(concat!(
            "warning: `STRIPE_SECRET_KEY` holds a live Stripe secret key\n",
            "error: validation failed, nothing was run:\n",
            "  Stripe keys in mixed modes: `STRIPE_PUBLISHABLE_KEY` is test, `STRIPE_SECRET_KEY` is live\n",
        ));
}

#[test]
fn check_text() {
    Test::new()
        .file(
            "secretrun.toml",
            "[vars.RATE]\nformat = \"number\"\nmax = 1\n",
        )
        .file(".env", format!("STRIPE_SECRET_KEY={CANARY}\nRATE=2\n"))
        .env("NO_COLOR", "")
        .args(["check", "--pure"])
        .run()
        .status(65)
        .no_canary()
        .stderr_is("")
        .report_is(concat!(
            "NAME               ORIGIN  KIND                      VALUE          VERDICT\n",
            "RATE               .env:2  -                         2              error\n",
            "STRIPE_SECRET_KEY  .env:1  Stripe secret key (live)  sk_live_…4b5c  warning\n",
            "\n",
            "errors:\n",
            "  `RATE` is above the maximum of 1\n",
            "\n",
            "warnings:\n",
            "  `STRIPE_SECRET_KEY` holds a live Stripe secret key\n",
            "\n",
            "1 error, 1 warning\n",
        ));
}

#[test]
fn check_json_shape() {
    let run = Test::new()
        .file(".env", format!("STRIPE_SECRET_KEY={CANARY}\n"))
        .args(["check", "--pure", "--format", "json"])
        .run();
    run.success().no_canary();
    let mut doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    // No config: none here, and the walk stops before the shared temporary directory.
    assert_eq!(doc["config"], serde_json::Value::Null);
    let looked = doc["config_looked_in"].as_array().unwrap();
    assert!(!looked.is_empty());
    assert!(looked[0].as_str().unwrap().starts_with('/'));
    let object = doc.as_object_mut().unwrap();
    object.remove("config");
    object.remove("config_looked_in");
    assert_eq!(
        doc,
        serde_json::json!({
            "ok": true,
            "unprobed": 0,
            "variables": [{
                "name": "STRIPE_SECRET_KEY", "origin": ".env:1", "at_rest": "plain",
                "masked": "sk_live_…4b5c", "clear": false,
                "provider": "Stripe", "kind": "secret key", "mode": "live", "verdict": "warning",
                "rotation": {"created": null, "age_days": null, "max_age_days": null,
                             "expires": null, "state": "unknown"},
                "lease": null
            }],
            "errors": [],
            "warnings": [{"names": ["STRIPE_SECRET_KEY"], "message": "`STRIPE_SECRET_KEY` holds a live Stripe secret key"}],
            "rotation": {"overdue": [], "expired": [], "expiring": [], "unknown": ["STRIPE_SECRET_KEY"]}
        })
    );
}

fn stripe_stub() -> stub::Stub {
    stub::serve(|request| {
        if request.path != "/v1/balance" {
            return (404, "{}".into());
        }
        if request.header("authorization") == Some(&format!("Bearer {GOOD_TEST_KEY}")) {
            (200, r#"{"object":"balance","available":[]}"#.into())
        } else {
            (401, r#"{"error":{"type":"invalid_request_error","message":"Invalid API Key provided"}}"#.into())
        }
    })
}

/// `check --probe` of the good test key against a Stripe stand-in at `url`.
fn check_with_probe(url: &str) -> crate::util::Run {
    Test::new()
        .file(".env", format!("STRIPE_SECRET_KEY={GOOD_TEST_KEY}\n"))
        .env("SECRETRUN_STRIPE_API_BASE", url)
        .args(["check", "--pure", "--probe"])
        .run()
}

#[test]
fn probe_accepts_a_working_key() {
    let stripe = stripe_stub();
    check_with_probe(&stripe.url()).success();
    let requests = stripe.requests.lock().unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
}

/// The probe goes through the stores' exchange: Stripe throttling (429) or a
/// passing server error is retried, not reported.
#[test]
fn a_throttled_probe_is_retried() {
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    let stripe = stub::serve(move |request| {
        if request.method != "GET" || request.path != "/v1/balance" {
            return (404, "{}".into());
        }
        match seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
            0 => (429, r#"{"error":{"type":"rate_limit_error"}}"#.into()),
            _ => (200, r#"{"object":"balance"}"#.into()),
        }
    });
    check_with_probe(&stripe.url()).success();
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[test]
fn probe_rejects_an_invalid_key() {
    let stripe = stripe_stub();
    let run = Test::new()
        .file(".env", format!("STRIPE_SECRET_KEY={CANARY}\n"))
        .env("SECRETRUN_STRIPE_API_BASE", stripe.url())
        .args([
            "check", "--pure", "--probe", "--expect", "live", "--format", "json",
        ])
        .run();
    run.status(65).no_canary();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        doc["errors"],
        serde_json::json!([{"names": ["STRIPE_SECRET_KEY"], "message": "`STRIPE_SECRET_KEY`: Stripe rejected the key (401)"}])
    );
}

#[test]
fn probe_unreachable_is_69() {
    let port = stub::closed_port();
    let run = Test::new()
        .file(".env", format!("STRIPE_SECRET_KEY={GOOD_TEST_KEY}\n"))
        .env(
            "SECRETRUN_STRIPE_API_BASE",
            format!("http://127.0.0.1:{port}"),
        )
        .args(["check", "--pure", "--probe", "--timeout", "2s"])
        .run();
    run.status(69);
    assert!(
        run.stdout
            .contains("`STRIPE_SECRET_KEY` could not be probed: asking Stripe at"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains(GOOD_TEST_KEY) && !run.stderr.contains(GOOD_TEST_KEY));
}

/// Runs `check` with its stdout on a pty and returns what it printed there.
fn check_on_a_terminal(no_color: Option<&str>) -> String {
    let (master, slave) = crate::util::open_pty((24, 80));
    let mut test = Test::new()
        .file(".env", format!("STRIPE_SECRET_KEY={CANARY}\n"))
        .args(["check", "--pure"]);
    if let Some(value) = no_color {
        test = test.env("NO_COLOR", value);
    }
    let mut command = test.command();
    command.stdout(std::process::Stdio::from(slave));
    let child = command.spawn().unwrap();
    drop(command);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert!(!String::from_utf8_lossy(&output.stderr).contains("CANARY"));
    crate::util::read_pty(master)
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let coloured = check_on_a_terminal(None);
    assert!(coloured.contains("\x1b[33mwarning\x1b[0m"), "{coloured:?}");
    assert!(!coloured.contains("CANARY"));
    let plain = check_on_a_terminal(Some("1"));
    assert!(
        plain.contains("warning") && !plain.contains('\x1b'),
        "{plain:?}"
    );
}

#[test]
fn a_probe_answered_with_500_is_not_reported_ok() {
    let stripe = stub::serve(|_| (500, "{}".into()));
    for format in ["text", "json"] {
        let run = Test::new()
            .file(".env", format!("STRIPE_SECRET_KEY={GOOD_TEST_KEY}\n"))
            .env("SECRETRUN_STRIPE_API_BASE", stripe.url())
            .args(["check", "--pure", "--probe", "--format", format])
            .run();
        run.status(69);
        if format == "text" {
            assert!(
                run.stdout
                    .ends_with("\nnot verified: 1 key could not be probed, 1 warning\n"),
                "{}",
                run.stdout
            );
            assert!(!run.stdout.contains("\nok"), "{}", run.stdout);
        } else {
            let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
            assert_eq!((&doc["ok"], &doc["unprobed"]), (&json!(false), &json!(1)));
        }
    }
}

#[test]
fn a_number_failure_is_reported_once_and_ports_are_strict() {
    let run = Test::new()
        .file(".env", "N=abc\nP=+80\nQ=080\nDB=postgres://db:notaport/app\nR=redis://c:99999999\n")
        .file(
            "secretrun.toml",
            "[vars.N]\nformat = \"number\"\nmin = 1\n[vars.P]\nformat = \"port\"\n[vars.Q]\nformat = \"port\"\n\
             [vars.DB]\nformat = \"postgres-url\"\n[vars.R]\nformat = \"redis-url\"\n",
        )
        .args(["check", "--pure", "--format", "json"])
        .run();
    run.status(65);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let messages: Vec<&str> = doc["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "`DB` is a URL whose port is not a number from 1 to 65535",
            "`N` is not a number",
            "`P` is not a port number (1 to 65535, digits only)",
            "`Q` is not a port number (1 to 65535, digits only)",
            "`R` is a URL whose port is not a number from 1 to 65535",
        ]
    );
}

/// Every format the README names is a name the config takes, and checks what it
/// says: a valid sample passes under each, and a value of the wrong shape fails.
#[test]
fn every_named_format_is_taken_by_its_name() {
    let samples = [
        ("stripe-secret-key", "sk_test_4eC39HqLyjWDarjtT1zdp7dc"),
        ("stripe-publishable-key", "pk_test_TYooMQauvdEDq54NiTphI7jx"),
        ("stripe-webhook-secret", "whsec_5fbd0c3a7e4b4f2c9a1d8e6b"),
        ("url", "https://example.com/path"),
        ("postgres-url", "postgres://u:pw@db:5432/app"),
        ("database-url", "mysql://u@h/db"),
        ("redis-url", "redis://cache:6379/0"),
        ("email", "ops@example.com"),
        ("int", "-42"),
        ("number", "0.15"),
        ("bool", "yes"),
        ("port", "8000"),
        ("base64", "aGVsbG8="),
        ("hex", "deadBEEF"),
        ("fernet-key", "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4="),
        (
            "django-secret-key",
            "k3j4h5g6f7d8s9a0q1w2e3r4t5y6u7i8o9p0z1x2c3v4b5n6m7",
        ),
        ("aws-access-key-id", "AKIAIOSFODNN7EXAMPLE"),
        (
            "pem-private-key",
            "\"-----BEGIN PRIVATE KEY-----\\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n\"",
        ),
        ("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"),
    ];
    let mut config = String::new();
    let mut good = String::new();
    let mut bad = String::new();
    for (i, (format, value)) in samples.iter().enumerate() {
        config.push_str(&format!("[vars.V{i}]\nformat = \"{format}\"\n"));
        good.push_str(&format!("V{i}={value}\n"));
        bad.push_str(&format!("V{i}=@not-this-shape@\n"));
    }
    Test::new()
        .file("secretrun.toml", &config)
        .file(".env", &good)
        .args(["check", "--pure"])
        .run()
        .success();
    let run = Test::new()
        .file("secretrun.toml", &config)
        .file(".env", &bad)
        .args(["check", "--pure", "--format", "json"])
        .run();
    run.status(65);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        doc["errors"].as_array().unwrap().len(),
        samples.len(),
        "each format refuses the wrong shape"
    );
}

/// A URL's password that is a well-known default or the user name repeated is a
/// warning, an error where live values are expected; the password is never shown.
#[test]
fn weak_passwords_in_urls_are_warned_about() {
    for (url, weakness) in [
        ("postgres://app:Password@db/app", "a well-known default"),
        (
            "redis://default:changeme@cache:6379",
            "a well-known default",
        ),
        (
            "postgres://marketplace:marketplace@db/app",
            "the user name repeated",
        ),
    ] {
        let test = || Test::new().file(".env", format!("DATABASE_URL={url}\n"));
        let run = test().args(["check", "--pure"]).run();
        run.success().stdout_has(&format!(
            "`DATABASE_URL` is a URL with a weak password: {weakness}"
        ));
        let password = url.split(['/', ':', '@']).nth(4).unwrap();
        assert!(
            !run.stdout.contains(&format!(":{password}@")),
            "{}",
            run.stdout
        );
        test()
            .args(["check", "--pure", "--expect", "live"])
            .run()
            .status(65)
            .stdout_has("weak password");
    }
    let strong = format!("DATABASE_URL=postgres://app:{CANARY}@db/app\n");
    let run = Test::new()
        .file(".env", strong)
        .args(["check", "--pure"])
        .run();
    run.success().no_canary();
    assert!(!run.stdout.contains("weak password"), "{}", run.stdout);
}
