//! End to end with a real Django project (examples/django): `check --deploy`, a
//! refused live key, and `runserver` serving a page, stopped with TERM.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::stub;
use crate::util::{CANARY, Test, tool};

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/django")
}

/// The venv's Python, which must have Django.
fn python() -> String {
    let python = tool("python");
    let ok = std::process::Command::new(&python)
        .args(["-c", "import django"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "Django is missing from {}: run scripts/test, which installs it",
        python.display()
    );
    python.to_str().unwrap().to_owned()
}

fn manage(test: Test) -> Test {
    let config = project().join("secretrun.toml");
    test.args(["--config", config.to_str().unwrap()])
}

#[test]
fn check_deploy_passes_with_good_values() {
    let manage_py = project().join("manage.py");
    manage(Test::new())
        .args([
            "--",
            &python(),
            manage_py.to_str().unwrap(),
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
        ])
        .run()
        .success()
        .stdout_is("System check identified no issues (0 silenced).\n");
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
    let port = stub::closed_port();
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
            "DEBUG: False\n",
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
            &format!(" {} ", tool("gunicorn").display()),
            1,
        )
        .replacen("0.0.0.0:", "127.0.0.1:", 1);
    let port = stub::closed_port();
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
