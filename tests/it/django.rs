//! End to end with a real Django project (examples/django): `check --deploy`, a
//! refused live key, and `runserver` serving a page, stopped with TERM.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::stub;
use crate::util::{CANARY, Test, wheel_tool};

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/django")
}

/// The Python of the virtualenv where the wheel is installed, with Django.
fn python() -> String {
    let python = wheel_tool("python");
    let ok = std::process::Command::new(&python)
        .args(["-c", "import django, secretrun.django"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "Django or secretrun is missing from {}: run scripts/test, which installs them",
        python.display()
    );
    python.to_str().unwrap().to_owned()
}

fn manage(test: Test) -> Test {
    let config = project().join("secretrun.toml");
    test.args(["--config", config.to_str().unwrap()])
}

/// A deploy's values: made-up live-mode keys and DEBUG off (the example's .env is a
/// development one, DEBUG on); the secret key is the canary, which must not show
/// anywhere.
fn live_keys() -> String {
    format!(
        "STRIPE_PUBLISHABLE_KEY=pk_live_ExampleExample0123456789\nSTRIPE_SECRET_KEY={CANARY}\nDEBUG=false\n"
    )
}

#[test]
fn check_deploy_passes_with_good_values() {
    let good = project().join(".env");
    manage(Test::new().file("live.env", live_keys()))
        .args(["--from", good.to_str().unwrap(), "--from", "live.env"])
        .args(deploy_check())
        .run()
        .success()
        .no_canary()
        .stdout_is("System check identified no issues (0 silenced).\n");
}

/// `-- python manage.py check --deploy --fail-level WARNING`.
fn deploy_check() -> Vec<String> {
    let manage_py = project().join("manage.py");
    let mut args = vec!["--".to_owned(), python()];
    args.push(manage_py.to_str().unwrap().to_owned());
    args.extend(["check", "--deploy", "--fail-level", "WARNING"].map(String::from));
    args
}

/// The example's values (test keys, DEBUG = False) as Django's environment, with
/// `changes` over them, and nothing else of this machine's.
fn django_env(changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(project().join(".env")).unwrap();
    let mut env: Vec<(String, String)> = text
        .lines()
        .filter_map(|line| line.split_once('='))
        .filter(|(name, _)| !name.starts_with('#'))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    for (name, value) in changes {
        env.retain(|(n, _)| n != name);
        env.push((name.to_string(), value.to_string()));
    }
    env.push(("PATH".into(), crate::util::PATH.into()));
    env
}

/// `python manage.py ARGS` run straight, with `env` as its whole environment.
fn django(env: &[(String, String)], args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(python())
        .arg(project().join("manage.py"))
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(n, v)| (n, v)))
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (
        out.status.code().unwrap_or(-1),
        text(out.stdout),
        text(out.stderr),
    )
}

#[test]
fn validate_secrets_passes_with_good_values() {
    // Launched by secretrun, as in production: the command sees what secretrun built.
    let manage_py = project().join("manage.py");
    manage(Test::new())
        .args([
            "--",
            &python(),
            manage_py.to_str().unwrap(),
            "validate_secrets",
        ])
        .run()
        .success()
        .stdout_has("Secrets OK.");
    let (status, out, err) = django(&django_env(&[]), &["validate_secrets", "--format", "json"]);
    assert_eq!(status, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["errors"], serde_json::json!([]));
}

#[test]
fn validate_secrets_fails_on_a_placeholder() {
    let env = django_env(&[("STRIPE_SECRET_KEY", "sk_live_YOUR_NEW_SECRET_KEY")]);
    let (status, out, err) = django(&env, &["validate_secrets"]);
    assert_eq!(status, 1, "{out}{err}");
    assert!(
        err.contains("ERROR: `STRIPE_SECRET_KEY` holds a placeholder"),
        "{err}"
    );
    assert!(
        err.contains("CommandError: 1 secret failed validation"),
        "{err}"
    );
    assert!(
        !format!("{out}{err}").contains("YOUR_NEW"),
        "the value was shown"
    );
}

#[test]
fn validate_secrets_fails_on_a_live_key_where_test_keys_are_expected() {
    let env = django_env(&[("STRIPE_SECRET_KEY", CANARY)]);
    let (status, out, err) = django(&env, &["validate_secrets", "--expect", "test"]);
    assert_eq!(status, 1, "{out}{err}");
    let all = format!("{out}{err}");
    assert!(
        all.contains(
            "`STRIPE_SECRET_KEY` holds a live Stripe secret key, but test keys are expected"
        ),
        "{all}"
    );
    assert!(!all.contains("CANARY"), "the key was shown");
}

#[test]
fn validate_secrets_test_stripe_fails_on_a_rejected_key() {
    // As Stripe answers: the balance refuses the key; any other URL is unknown (a
    // 404 the test's expected message would not match).
    let rejected = stub::serve(|request| {
        if request.method == "GET" && request.path == "/v1/balance" {
            (
                401,
                r#"{"error":{"message":"Invalid API Key provided"}}"#.into(),
            )
        } else {
            (
                404,
                r#"{"error":{"message":"Unrecognized request URL"}}"#.into(),
            )
        }
    });
    let url = rejected.url();
    let env = django_env(&[("SECRETRUN_STRIPE_API_BASE", &url)]);
    let (status, out, err) = django(&env, &["validate_secrets", "--test-stripe"]);
    assert_eq!(status, 1, "{out}{err}");
    assert!(
        err.contains("ERROR: `STRIPE_SECRET_KEY`: Stripe rejected the key (401)"),
        "{err}"
    );
    // Without --test-stripe, Stripe is not asked and the same values pass.
    let (status, _, err) = django(&env, &["validate_secrets"]);
    assert_eq!(status, 0, "{err}");
}

#[test]
fn check_deploy_fails_on_a_test_key_with_debug_off() {
    let (status, out, err) = django(&django_env(&[("DEBUG", "False")]), &["check", "--deploy"]);
    assert_ne!(status, 0, "{out}{err}");
    assert!(
        err.contains("(secretrun.E001) `STRIPE_SECRET_KEY` holds a test Stripe secret key, but live keys are expected"),
        "{err}"
    );
    // With DEBUG on, test keys are what development uses.
    let (status, out, err) = django(&django_env(&[("DEBUG", "True")]), &["check"]);
    assert_eq!(status, 0, "{out}{err}");
    // A required secret missing fails the deploy too.
    let mut env = django_env(&[("DEBUG", "False")]);
    env.retain(|(n, _)| n != "STRIPE_WEBHOOK_SECRET");
    let (_, _, err) = django(&env, &["check", "--deploy"]);
    assert!(
        err.contains("(secretrun.E001) `STRIPE_WEBHOOK_SECRET` is required but missing"),
        "{err}"
    );
}

#[test]
fn a_live_key_under_expect_test_starts_nothing() {
    let manage_py = project().join("manage.py");
    let good = project().join(".env");
    let run = manage(Test::new().file("live.env", format!("STRIPE_SECRET_KEY={CANARY}\n")))
        .args([
            "--expect",
            "test",
            "--from",
            good.to_str().unwrap(),
            "--from",
            "live.env",
        ])
        .args([
            "--",
            &python(),
            manage_py.to_str().unwrap(),
            "check",
            "--deploy",
        ])
        .run();
    run.status(65).no_canary().stdout_is("").stderr_has(
        "`STRIPE_SECRET_KEY` holds a live Stripe secret key, but test keys are expected",
    );
}

#[test]
fn runserver_serves_the_configuration_page_and_stops_on_term() {
    let port = stub::server_port();
    let manage_py = project().join("manage.py");
    let addr = format!("127.0.0.1:{port}");
    // As in a Dockerfile: unbuffered Python output, passed through by name.
    let test = manage(Test::new().env("PYTHONUNBUFFERED", "1")).args([
        "--keep",
        "PYTHONUNBUFFERED",
        "--",
        &python(),
        manage_py.to_str().unwrap(),
        "runserver",
        &addr,
        "--noreload",
    ]);
    let child = test.command().spawn().unwrap();
    let pid = child.id();
    let started = Instant::now();
    let url = format!("http://{addr}/");
    let body = loop {
        if std::net::TcpStream::connect(&addr).is_ok() {
            let (status, body) = stub::http("GET", &url, &[("X-Forwarded-Proto", "https")], "");
            assert_eq!(status, 200, "{body}");
            break body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "runserver did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        body,
        concat!(
            "SECRET_KEY: configured\n",
            "STRIPE_PUBLISHABLE_KEY: configured (test mode)\n",
            "STRIPE_SECRET_KEY: configured (test mode)\n",
            "STRIPE_WEBHOOK_SECRET: configured\n",
            "DATABASE_URL: configured (sqlite3)\n",
            "DEBUG: True\n",
        )
    );
    // secretrun exec'd: the PID we started is Django's, and TERM goes straight to it.
    // SAFETY: a plain syscall.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGTERM) }, 0);
    let stopped = Instant::now();
    let output = child.wait_with_output().unwrap();
    assert!(
        stopped.elapsed() < Duration::from_secs(10),
        "took {:?} to stop",
        stopped.elapsed()
    );
    // Death by the signal itself, not an exit status of 143: no supervising parent
    // stood between (which would have turned the death into 128+15).
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        output.status.signal(),
        Some(libc::SIGTERM),
        "{:?}",
        output.status
    );
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(logs.contains("Starting development server"), "{logs}");
    assert!(logs.contains("\"GET / HTTP/1.1\" 200"), "{logs}");
    assert!(
        !logs.contains("k3j4h5g6") && !logs.contains("ExampleExample"),
        "a value reached Django's log"
    );
}

#[test]
fn the_procfile_line_serves_with_gunicorn_on_the_platforms_port() {
    // examples/Procfile, run as a platform runs it: `sh -c LINE` with PORT set, and a
    // development PORT in the dotenv file that `--keep PORT` must override. Here the
    // binaries come from this build and the venv, gunicorn binds loopback only, and
    // PYTHONPATH (kept by name) finds the project.
    let procfile = std::fs::read_to_string(project().join("../Procfile")).unwrap();
    let line = procfile.strip_prefix("web: ").unwrap().trim_end();
    let line = line
        .replacen(
            "secretrun ",
            &format!("{} --keep PYTHONPATH ", crate::util::BIN),
            1,
        )
        .replacen(
            " gunicorn ",
            &format!(" {} ", wheel_tool("gunicorn").display()),
            1,
        )
        .replacen("0.0.0.0:", "127.0.0.1:", 1);
    let port = stub::server_port();
    let config = std::fs::read_to_string(project().join("secretrun.toml")).unwrap();
    let dotenv = std::fs::read_to_string(project().join(".env")).unwrap();
    let test = Test::new()
        .file(
            "secretrun.toml",
            config.replace("sources = [\".env\"]", "sources = [\"app.env\"]"),
        )
        .file("app.env", format!("{dotenv}PORT=1\n"));
    let mut shell = std::process::Command::new("/bin/sh");
    crate::util::default_signals(&mut shell);
    let child = shell
        .args(["-c", &line])
        .env_clear()
        .env("PATH", crate::util::PATH)
        .env("HOME", test.dir())
        .env("PORT", port.to_string())
        .env("PYTHONPATH", project())
        .env("RAILWAY_ENVIRONMENT", "production")
        .current_dir(test.dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "gunicorn did not come up on the platform's PORT"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, body) = stub::http(
        "GET",
        &format!("http://{addr}/"),
        &[("X-Forwarded-Proto", "https")],
        "",
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("STRIPE_SECRET_KEY: configured (test mode)"),
        "{body}"
    );
    // Platforms stop a dyno by sending TERM to all of its processes: the group.
    // SAFETY: a plain syscall to our own child's group.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGTERM) };
    let output = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&output.stderr);
    // The platform's shell may not exec the line: it dies of the TERM itself.
    use std::os::unix::process::ExitStatusExt;
    assert!(
        output.status.success() || output.status.signal() == Some(libc::SIGTERM),
        "{:?}",
        output.status
    );
    assert!(
        logs.contains(&format!("Listening at: http://127.0.0.1:{port}")),
        "{logs}"
    );
    assert!(logs.contains("Shutting down: Master"), "{logs}");
}

/// `--expect live`: the example's test keys are errors, and so is Django's
/// `django-insecure-` key; exit 1 through a CommandError, no value shown.
#[test]
fn validate_secrets_expect_live_fails_on_test_keys() {
    let env = django_env(&[]);
    let (status, out, err) = django(&env, &["validate_secrets", "--expect", "live"]);
    assert_eq!(status, 1, "{out}{err}");
    assert!(err.contains("but live keys are expected"), "{err}");
    assert!(err.contains("CommandError"), "{err}");
    let insecure = django_env(&[(
        "SECRET_KEY",
        "django-insecure-k3j4h5g6f7d8s9a0q1w2e3r4t5y6u7i8o9",
    )]);
    let (status, out, err) = django(&insecure, &["validate_secrets", "--expect", "live"]);
    assert_eq!(status, 1, "{out}{err}");
    assert!(err.contains("`SECRET_KEY`"), "{err}");
    assert!(
        !format!("{out}{err}").contains("k3j4h5"),
        "the key was shown"
    );
    let (status, out, err) = django(&env, &["validate_secrets", "--expect", "test"]);
    assert_eq!(status, 0, "{out}{err}");
}

/// A key that could not be probed (Stripe unreachable) fails the command too (exit
/// 1): a check that could not be made is not a pass.
#[test]
fn validate_secrets_fails_when_a_key_could_not_be_probed() {
    let closed = format!("http://127.0.0.1:{}", stub::closed_port());
    let env = django_env(&[("SECRETRUN_STRIPE_API_BASE", &closed)]);
    let (status, out, err) = django(&env, &["validate_secrets", "--test-stripe"]);
    assert_eq!(status, 1, "{out}{err}");
    assert!(err.contains("could not be probed"), "{err}");
}

/// The values reach `secretrun check` in its environment, never in its argv: every
/// program the command starts is traced with its whole argv.
#[test]
fn validate_secrets_passes_no_value_in_argv() {
    let env = django_env(&[("STRIPE_SECRET_KEY", CANARY)]);
    let out = crate::trace::strace_command(crate::trace::EXECS)
        .arg(python())
        .arg(project().join("manage.py"))
        .arg("validate_secrets")
        .env_clear()
        .envs(env.iter().map(|(n, v)| (n, v)))
        .output()
        .unwrap();
    let trace = String::from_utf8_lossy(&out.stderr);
    let calls = crate::trace::execs(&trace);
    assert!(
        calls.iter().any(|l| l.contains("\"check\"")),
        "secretrun check was not traced: {calls:#?}"
    );
    assert!(
        !calls.iter().any(|l| l.contains("CANARY")),
        "a value was in an argv"
    );
}

/// `validate_secrets --profile` and the deploy check under `SECRETRUN_PROFILE`: the
/// profile's `expect` decides (the example's test keys pass as `dev` even with
/// DEBUG off, and fail as `prod`).
#[test]
fn profiles_decide_which_keys_django_expects() {
    let (status, out, err) = django(&django_env(&[]), &["validate_secrets", "--profile", "prod"]);
    assert_eq!(status, 1, "{out}{err}");
    assert!(err.contains("but live keys are expected"), "{err}");
    let (status, out, err) = django(
        &django_env(&[]),
        &["validate_secrets", "--profile", "staging"],
    );
    assert_eq!(status, 0, "{out}{err}");
    let dev = django_env(&[("DEBUG", "False"), ("SECRETRUN_PROFILE", "dev")]);
    let (status, out, err) = django(&dev, &["check", "--deploy"]);
    assert_eq!(status, 0, "{out}{err}");
    let prod = django_env(&[("DEBUG", "False"), ("SECRETRUN_PROFILE", "prod")]);
    let (status_prod, _, err) = django(&prod, &["check", "--deploy"]);
    assert_ne!(status_prod, 0);
    assert!(
        err.contains("(secretrun.E001) `STRIPE_SECRET_KEY` holds a test Stripe secret key, but live keys are expected"),
        "{err}"
    );
}

/// The example's production: `--profile prod` reads OpenBao (the settings) and
/// Secrets Manager (moto, Stripe's keys). Test keys there are refused with 65 and
/// nothing runs; live-shaped ones run Django's deploy check; `diff staging prod`
/// shows the live/test split as expected and a `SECRET_KEY` copied from staging as
/// a finding; `explain` tells each profile's chain, the store's version included.
/// No value in any output.
#[test]
fn the_example_runs_production_from_openbao_and_secrets_manager() {
    let staging_secret_key = "k3j4h5g6f7d8s9a0q1w2e3r4t5y6u7i8o9p0z1x2c3v4b5n6m7";
    crate::bao::server().put(
        "marketplace",
        serde_json::json!({
            "SECRET_KEY": staging_secret_key,
            "DEBUG": "false",
            "DATABASE_URL": "postgres://app:db-CANARY-password@db.internal:5432/app",
        }),
    );
    let moto = crate::moto::server();
    let stripe = |mode: &str, secret: &str| {
        serde_json::json!({
            "STRIPE_PUBLISHABLE_KEY": format!("pk_{mode}_ExampleExample0123456789"),
            "STRIPE_SECRET_KEY": secret,
            "STRIPE_WEBHOOK_SECRET": "whsec_CANARYExampleExample0000",
        })
        .to_string()
    };
    moto.create(
        "marketplace/stripe",
        &stripe("test", "sk_test_CANARY0123456789abcdefABCD"),
    );
    let prod = |args: &[&str]| {
        manage(Test::new())
            .env("VAULT_ADDR", &crate::bao::server().addr)
            .env("VAULT_TOKEN", crate::bao::ROOT_TOKEN)
            .env("AWS_ENDPOINT_URL", &moto.url)
            .env("AWS_ACCESS_KEY_ID", crate::moto::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", crate::moto::SECRET_KEY)
            .env("AWS_REGION", "us-east-1")
            .args(args)
    };
    let deploy = [
        vec!["--profile".to_owned(), "prod".to_owned()],
        deploy_check(),
    ]
    .concat();
    let deploy_check: Vec<&str> = deploy.iter().map(String::as_str).collect();
    let run = prod(&deploy_check).run();
    run.status(65).no_canary().stderr_has(
        "`STRIPE_SECRET_KEY` holds a test Stripe secret key, but live keys are expected",
    );
    assert!(
        !run.stdout.contains("System check"),
        "Django ran: {}",
        run.stdout
    );

    moto.rotate("marketplace/stripe", &stripe("live", CANARY));
    prod(&deploy_check)
        .run()
        .success()
        .no_canary()
        .stdout_is("System check identified no issues (0 silenced).\n");

    let diff = prod(&["diff", "staging", "prod"]).run();
    diff.status(1)
        .no_canary()
        .stdout_has("finding  SECRET_KEY: the same value in `staging` and `prod`\n")
        .stdout_has(
            "note     STRIPE_SECRET_KEY: test in `staging`, live in `prod`, as their expectations allow\n",
        )
        .stdout_has("\n1 finding\n");
    let explained = prod(&["explain", "STRIPE_SECRET_KEY", "--profile", "prod"]).run();
    explained
        .success()
        .no_canary()
        .stdout_has("  origin     aws-sm://marketplace/stripe, version ")
        .stdout_has("  kind       Stripe secret key (live); live keys expected\n");
    let staging = prod(&["explain", "SECRET_KEY", "--profile", "staging"]).run();
    staging
        .success()
        .stdout_has("examples/django/.env:3 (the last source that defines it wins)\n");
    let run = prod(&[
        "explain",
        "SECRET_KEY",
        "--profile",
        "prod",
        "--format",
        "json",
    ])
    .run();
    run.success().no_canary();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["origin"], "vault://secret/marketplace");
    assert!(
        doc["version"]
            .as_str()
            .is_some_and(|v| v.parse::<u64>().is_ok()),
        "{doc}"
    );
    for shown in [&diff, &explained, &staging, &run] {
        let all = format!("{}{}", shown.stdout, shown.stderr);
        assert!(!all.contains(staging_secret_key), "a value was shown");
    }
}

/// Without `secretrun --`, the example's settings say to run through it (the
/// helper `secretrun.django.env`), instead of ending in a KeyError; a value that
/// does not cast is named, never shown.
#[test]
fn settings_read_without_secretrun_say_to_run_through_it() {
    let mut env = django_env(&[]);
    env.retain(|(name, _)| name != "SECRET_KEY");
    let (status, _, err) = django(&env, &["validate_secrets"]);
    assert_ne!(status, 0);
    // The traceback ends in the helper's word, not the KeyError of os.environ.
    let last = err.trim_end().lines().last().unwrap_or("");
    assert!(
        last.starts_with("django.core.exceptions.ImproperlyConfigured: SECRET_KEY is not set. Run Django through secretrun"),
        "{err}"
    );
    assert!(
        last.contains("`secretrun -- python manage.py runserver`"),
        "{err}"
    );
    assert!(!err.contains("KeyError: 'SECRET_KEY'"), "{err}");
    let (status, _, err) = django(&django_env(&[("DEBUG", CANARY)]), &["check"]);
    assert_ne!(status, 0);
    assert!(err.contains("DEBUG is not a boolean"), "{err}");
    assert!(!err.contains("CANARY"), "a value was shown: {err}");
}
