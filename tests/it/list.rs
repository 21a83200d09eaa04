//! `secretrun list`: names, origins, and values masked unless provably not secret.

use crate::util::{CANARY, Test};

#[test]
fn list_text() {
    Test::new()
        .file(
            ".env",
            format!("# c\nSTRIPE_SECRET_KEY={CANARY}\nSHORT=hunter2\n"),
        )
        .env("HOME", "/home/u")
        .env("TERM", "xterm-256color")
        .env("PORT", "8000")
        .args(["list", "--keep", "PORT"])
        .run()
        .success()
        .no_canary()
        .stdout_is(concat!(
            "NAME               ORIGIN            VALUE\n",
            "HOME               kept from parent  /home/u\n",
            "PATH               kept from parent  /usr/local/bin:/usr/bin:/bin\n",
            "PORT               kept from parent  8000\n",
            "SHORT              .env:3            …\n",
            "STRIPE_SECRET_KEY  .env:2            sk_live_…4b5c\n",
            "TERM               kept from parent  xterm-256color\n",
        ));
}

#[test]
fn list_json() {
    let run = Test::new()
        .file(".env", format!("STRIPE_SECRET_KEY={CANARY}\n"))
        .args(["list", "--pure", "--format", "json"])
        .run();
    run.success().no_canary();
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        value,
        serde_json::json!({"variables": [
            {"name": "STRIPE_SECRET_KEY", "origin": ".env:1", "at_rest": "plain",
             "masked": "sk_live_…4b5c", "clear": false, "created": null, "expires": null, "lease": null}
        ]})
    );
}

#[test]
fn list_into_a_closed_pipe_exits_0_without_a_word() {
    // `secretrun list | head -1`: the reader has gone. secretrun ignores SIGPIPE for
    // itself (src/start.rs), so the write fails with EPIPE, which is not an error;
    // without that, SIGPIPE would kill it. The pipe's read end is closed before the
    // start, so the very first write meets it.
    let test = Test::new().file(".env", "A=1\nB=2\n");
    let mut fds = [0; 2];
    // SAFETY: pipe writes two descriptors into `fds`.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just created and are owned here, once each.
    let (reader, writer) = unsafe {
        use std::os::fd::FromRawFd;
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    };
    drop(reader);
    let output = test
        .command()
        .args(["list", "--from", ".env"])
        .stdout(writer)
        .output()
        .unwrap();
    let run: crate::util::Run = output.into();
    run.success();
    assert_eq!(run.stderr, "");
}

/// What is provably not a secret shows in clear (the parent's plumbing, booleans,
/// small numbers and ports, what the schema marks `secret = false`); a name, a URL's
/// password or a detector keeps anything masked, whatever the schema says.
#[test]
fn plain_settings_show_in_clear_and_anything_secret_stays_masked() {
    let run = Test::new()
        .file(
            "secretrun.toml",
            "[vars.ALLOWED_HOSTS]\nsecret = false\n\n[vars.DATABASE_URL]\nsecret = false\n\n\
             [vars.STRIPE_SECRET_KEY]\nsecret = false\n",
        )
        .file(
            ".env",
            format!(
                "PORT=8000\nDEBUG=True\nALLOWED_HOSTS=localhost,example.com\nAPI_SECRET=123456\n\
                 DATABASE_URL=postgres://app:db-{CANARY}@db/app\nSTRIPE_SECRET_KEY={CANARY}\n\
                 SITE_NAME=marketplace\n"
            ),
        )
        .env("LANG", "C.UTF-8")
        .args(["list", "--format", "json"])
        .run();
    run.success().no_canary();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let shown = |name: &str| {
        let var = doc["variables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        (
            var["masked"].as_str().unwrap().to_owned(),
            var["clear"].as_bool().unwrap(),
        )
    };
    for (name, value) in [
        ("PORT", "8000"),
        ("DEBUG", "True"),
        ("ALLOWED_HOSTS", "localhost,example.com"),
        ("LANG", "C.UTF-8"),
        ("PATH", crate::util::PATH),
    ] {
        assert_eq!(shown(name), (value.to_owned(), true), "{name}");
    }
    for name in [
        "API_SECRET",
        "DATABASE_URL",
        "STRIPE_SECRET_KEY",
        "SITE_NAME",
    ] {
        let (text, clear) = shown(name);
        assert!(!clear && text.contains('…'), "{name}: {text}");
    }
}
