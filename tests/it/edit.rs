//! `secretrun edit`: the plain copy lives only in a private directory on tmpfs and is
//! gone after a normal exit, an editor failure, a malformed save and a SIGTERM.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use crate::age::{age, age_keygen, no_terminal};
use crate::util::{Lines, Run, Test};

/// A test's own memory-backed directory, standing in for $XDG_RUNTIME_DIR.
fn runtime_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("secretrun-test-")
        .tempdir_in("/dev/shm")
        .expect("/dev/shm, a tmpfs, is needed for these tests")
}

/// A project with an age file holding `A=one`, its identity and recipient, and an
/// editor script.
fn project(editor: &str) -> (Test, std::path::PathBuf, Vec<u8>) {
    let test = Test::new();
    let (identity, recipient) = age_keygen(test.dir(), "id.txt");
    let sealed = age(&["-r", &recipient], b"A=one\n");
    let test = test
        .file(".env.age", &sealed)
        .file(
            "secretrun.toml",
            format!("recipients = [\"{recipient}\"]\nidentity = [\"id.txt\"]\n"),
        )
        .file("editor.sh", format!("#!/bin/sh\n{editor}\n"));
    let script = test.dir().join("editor.sh");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let test = test.env("EDITOR", &script);
    (test, identity, sealed)
}

#[track_caller]
fn assert_empty(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

fn decrypted(test: &Test) -> String {
    let run = Test::new()
        .file(
            ".env.age",
            std::fs::read(test.dir().join(".env.age")).unwrap(),
        )
        .file("id.txt", std::fs::read(test.dir().join("id.txt")).unwrap())
        .args(["-i", "id.txt", "decrypt", ".env.age"])
        .run();
    run.success();
    run.stdout.clone()
}

#[test]
fn an_edit_is_encrypted_back_and_the_plain_copy_is_gone() {
    let shm = runtime_dir();
    // The editor reports where its file is, then edits it as sed does (a new file
    // renamed over the old).
    let editor = "stat -c 'dir mode %a' \"$(dirname \"$1\")\" >&2\nstat -f -c 'fs %T' \"$1\" >&2\nsed -i s/one/two/ \"$1\"";
    let (test, _, _) = project(editor);
    let test = test
        .env("XDG_RUNTIME_DIR", shm.path())
        .args(["edit", ".env.age"]);
    let run = test.run();
    run.success()
        .stderr_has("dir mode 700")
        .stderr_has("fs tmpfs")
        .stderr_has("encrypted to 1 recipient (from secretrun.toml)");
    assert_eq!(decrypted(&test), "A=two\n");
    assert_empty(shm.path());
}

#[test]
fn a_failed_editor_or_a_malformed_save_leaves_the_file_as_it_was() {
    for (editor, code, says) in [
        ("exit 3", 1, "the editor failed"),
        ("echo 'not a line' >> \"$1\"", 65, "`.env.age` is unchanged"),
    ] {
        let shm = runtime_dir();
        let (test, _, sealed) = project(editor);
        let test = test
            .env("XDG_RUNTIME_DIR", shm.path())
            .args(["edit", ".env.age"]);
        let mut command = test.command();
        no_terminal(&mut command);
        let run = Run::from(command.output().unwrap());
        run.status(code).stderr_has(says);
        assert!(
            std::fs::read(test.dir().join(".env.age")).unwrap() == sealed,
            "{editor}: the file changed"
        );
        assert_empty(shm.path());
    }
}

#[test]
fn sigterm_stops_the_editor_and_removes_the_copy() {
    let shm = runtime_dir();
    let (test, _, sealed) = project("echo editing >&2\nexec sleep 30");
    let test = test
        .env("XDG_RUNTIME_DIR", shm.path())
        .args(["edit", ".env.age"]);
    let mut command = test.command();
    let mut child = command.spawn().unwrap();
    let lines = Lines::new(child.stderr.take().unwrap());
    lines.wait_for("editing", Duration::from_secs(10));
    assert_eq!(
        std::fs::read_dir(shm.path()).unwrap().count(),
        1,
        "no private directory while editing"
    );
    // SAFETY: a signal to the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    assert!(
        std::fs::read(test.dir().join(".env.age")).unwrap() == sealed,
        "the file changed"
    );
    assert_empty(shm.path());
}

#[test]
fn a_new_file_is_created_and_a_plain_file_is_refused() {
    let shm = runtime_dir();
    let (test, _, _) = project("echo 'B=new' > \"$1\"");
    std::fs::remove_file(test.dir().join(".env.age")).unwrap();
    let test = test
        .env("XDG_RUNTIME_DIR", shm.path())
        .args(["edit", ".env.age"]);
    test.run().success();
    assert_eq!(decrypted(&test), "B=new\n");
    let (test2, _, _) = project("true");
    let test2 = test2.file("plain.env", "A=1\n").args(["edit", "plain.env"]);
    test2.run().status(78).stderr_has("not an age file");
    assert_empty(shm.path());
}

/// The plain copy goes to a memory file system only: an `$XDG_RUNTIME_DIR` on disk
/// is passed over for /dev/shm, and the editor's file is on tmpfs, in a directory
/// of mode 0700. Mutation: `in_memory` answering true for any directory.
#[test]
fn the_plain_copy_is_never_on_disk() {
    let (test, _, _) = project(
        "stat -f -c %T \"$1\" >&2; stat -c %a \"$(dirname \"$1\")\" >&2; echo \"at $1\" >&2",
    );
    let on_disk = test.dir().join("runtime");
    std::fs::create_dir(&on_disk).unwrap();
    let test = test
        .env("XDG_RUNTIME_DIR", &on_disk)
        .args(["edit", ".env.age"]);
    let run = test.run();
    run.success();
    assert!(
        run.stderr.starts_with("tmpfs\n700\nat /dev/shm/"),
        "{}",
        run.stderr
    );
    assert_empty(&on_disk);
}

/// An edit that changes nothing leaves the file as it was, byte for byte (not
/// encrypted again), and says so. Mutation: the no-change check removed.
#[test]
fn an_edit_that_changes_nothing_leaves_the_file_alone() {
    let shm = runtime_dir();
    let (test, _, sealed) = project("true");
    let test = test
        .env("XDG_RUNTIME_DIR", shm.path())
        .args(["edit", ".env.age"]);
    test.run()
        .success()
        .stderr_has("no change: `.env.age` left as it was");
    assert!(
        std::fs::read(test.dir().join(".env.age")).unwrap() == sealed,
        "the file was written again"
    );
    assert_empty(shm.path());
}

/// SIGHUP (the terminal closed) removes the copy as SIGTERM does, after passing the
/// signal to the editor. Mutation: the copy's removal on a signal's way out.
#[test]
fn sighup_stops_the_editor_and_removes_the_copy() {
    let shm = runtime_dir();
    let (test, _, sealed) = project(
        "trap 'echo editor-got-HUP >&2; exit 1' HUP\necho editing >&2\nwhile :; do sleep 0.05; done",
    );
    let test = test
        .env("XDG_RUNTIME_DIR", shm.path())
        .args(["edit", ".env.age"]);
    let mut child = test.command().spawn().unwrap();
    let lines = Lines::new(child.stderr.take().unwrap());
    lines.wait_for("editing", Duration::from_secs(10));
    // SAFETY: a signal to the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGHUP) };
    lines.wait_for("editor-got-HUP", Duration::from_secs(10));
    let status = crate::util::wait_within(&mut child, Duration::from_secs(10));
    assert_eq!(status, Some(128 + libc::SIGHUP));
    assert!(
        std::fs::read(test.dir().join(".env.age")).unwrap() == sealed,
        "the file changed"
    );
    assert_empty(shm.path());
}
