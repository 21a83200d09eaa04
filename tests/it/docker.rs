//! The Docker example as the image would run it, without a container engine (none
//! runs here): a virtualenv holding exactly what the Dockerfile installs (the test
//! venv scripts/test makes: Django, gunicorn and the secretrun wheel), the app as the
//! image copies it with the `.env` the run mounts, the ENTRYPOINT and CMD as written
//! (the bind address moved to a loopback port), as `nobody`, as PID 1 of a new PID
//! namespace. It must boot the app, serve a page, and stop cleanly on TERM sent to
//! PID 1, as `docker stop` sends it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::stub;
use crate::util::{PATH, Test, wheel_tool};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// An instruction's JSON array (`ENTRYPOINT [...]`, `CMD [...]`).
fn exec_form(dockerfile: &str, instruction: &str) -> Vec<String> {
    let line = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{instruction} ")))
        .unwrap_or_else(|| panic!("no {instruction} in the Dockerfile"));
    serde_json::from_str(line).unwrap()
}

/// What the image's `pip install` line installs, by name.
fn installed_by(text: &str, marker: &str) -> Vec<String> {
    let line = text
        .lines()
        .find(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("no `{marker}`"));
    let mut names: Vec<String> = line[line.find(marker).unwrap() + marker.len()..]
        .split_whitespace()
        .take_while(|w| !w.starts_with('&') && !w.starts_with('>') && *w != ")")
        .filter(|w| !w.starts_with('-'))
        .map(|w| match w.contains("secretrun") {
            true => "secretrun".to_owned(),
            false => w.to_owned(),
        })
        .collect();
    names.sort();
    names
}

#[test]
fn the_docker_image_boots_the_example_app_as_pid_1_and_stops_on_term() {
    let dockerfile = std::fs::read_to_string(repo().join("examples/docker/Dockerfile")).unwrap();
    // The test venv holds what the image installs: the same names.
    let image = installed_by(&dockerfile, "RUN pip install --no-cache-dir");
    let venv = installed_by(
        &std::fs::read_to_string(repo().join("scripts/test")).unwrap(),
        "pip install --quiet --disable-pip-version-check",
    );
    assert_eq!(image, ["django", "gunicorn", "secretrun"]);
    assert_eq!([&venv[..], &["secretrun".to_owned()]].concat(), image);

    // /app: examples/django as copied, its .env removed, then the one the run mounts.
    let mut app = Test::new();
    for file in [
        "manage.py",
        "secretrun.toml",
        "marketplace/__init__.py",
        "marketplace/settings.py",
        "marketplace/urls.py",
        "marketplace/views.py",
        "marketplace/wsgi.py",
        ".env",
    ] {
        app = app.file(
            file,
            std::fs::read(repo().join("examples/django").join(file)).unwrap(),
        );
    }
    make_readable_by_all(app.dir());

    let port = stub::server_port();
    let mut argv = exec_form(&dockerfile, "ENTRYPOINT");
    argv.extend(
        exec_form(&dockerfile, "CMD")
            .into_iter()
            .map(|a| a.replace("0.0.0.0:8000", &format!("127.0.0.1:{port}"))),
    );
    assert_eq!(
        argv[0], "secretrun",
        "the entrypoint runs secretrun from PATH"
    );
    let venv_bin = wheel_tool("secretrun").parent().unwrap().to_owned();
    let unshare = crate::launch::which("unshare").expect("unshare (util-linux)");
    let setpriv = crate::launch::which("setpriv").expect("setpriv (util-linux): USER nobody");
    let mut command = std::process::Command::new(unshare);
    command
        .args(["--pid", "--fork", "--mount-proc", "--kill-child"])
        .arg(setpriv)
        // As nobody, with the right to read (not to write) what root owns: this
        // machine's Python lives under /root (0700), the image's in /usr/local.
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=+dac_read_search",
            "--ambient-caps=+dac_read_search",
            "--",
        ])
        .args(&argv)
        .env_clear()
        .env("PATH", format!("{}:{PATH}", venv_bin.display()))
        .env("PYTHONUNBUFFERED", "1")
        .env("HOME", "/nonexistent")
        .current_dir(app.dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    crate::util::default_signals(&mut command);
    let mut child = command.spawn().unwrap();
    let addr = format!("127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        let ended = child.try_wait().unwrap().is_some();
        if ended || started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            let logs = crate::util::redact(&String::from_utf8_lossy(&output.stderr));
            panic!("the app did not come up ({:?}): {logs}", output.status);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, body) = stub::http("GET", &format!("http://{addr}/"), &[], "");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("STRIPE_SECRET_KEY: configured (test mode)"),
        "{body}"
    );

    // `docker stop`: TERM to PID 1 of the namespace, unshare's child.
    let pid1 = first_child(child.id());
    // SAFETY: a plain syscall to a process of this test.
    unsafe { libc::kill(pid1, libc::SIGTERM) };
    let output = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {logs}", output.status);
    assert!(logs.contains("Shutting down: Master"), "{logs}");
}

/// The first child of `pid` (unshare's forked child: PID 1 inside).
fn first_child(pid: u32) -> i32 {
    let started = Instant::now();
    loop {
        let path = format!("/proc/{pid}/task/{pid}/children");
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(child) = text.split_whitespace().next() {
            return child.parse().unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "unshare forked nothing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `nobody` must read the app, as in the image.
fn make_readable_by_all(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for entry in crate::util::tree(dir) {
        let mode = if entry.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}
