//! `secretrun list`: names, origins and masked values only.

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
            "HOME               kept from parent  …\n",
            "PATH               kept from parent  …/bin\n",
            "PORT               kept from parent  …\n",
            "SHORT              .env:3            …\n",
            "STRIPE_SECRET_KEY  .env:2            sk_live_…4b5c\n",
            "TERM               kept from parent  …olor\n",
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
             "masked": "sk_live_…4b5c", "created": null, "expires": null, "lease": null}
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
