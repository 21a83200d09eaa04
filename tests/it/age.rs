//! age files from the outside, against the real `age` CLI (Debian's package): files it
//! encrypts (X25519, SSH keys, armored, passphrase on a pty) are read by secretrun,
//! files secretrun encrypts are read by `age -d`, and every failure is closed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::{CANARY, PATH, Terminal, Test, tool};

/// What the encrypted files hold: a canary, a quoted value, an expansion.
pub const PLAIN: &str = "STRIPE_SECRET_KEY=sk_live_CANARY4d5e6f7a8b9c0d1e2f3a4b5c\nNAME=\"two words\"\nGREETING=hello-${NAME}\n";

/// Checks the three values of [`PLAIN`] without printing one.
#[track_caller]
pub fn assert_plain_values(run: &crate::util::Run) {
    run.success();
    let env = run.env0();
    assert!(
        env.get("STRIPE_SECRET_KEY").map(String::as_str) == Some(CANARY),
        "STRIPE_SECRET_KEY differs"
    );
    assert_eq!(env["NAME"], "two words");
    assert_eq!(env["GREETING"], "hello-two words");
}

/// `age-keygen -o DIR/NAME`: the identity file and its recipient.
pub fn age_keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let out = Command::new(tool("age-keygen"))
        .arg("-o")
        .arg(&path)
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success(), "age-keygen failed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let recipient = stderr
        .split_whitespace()
        .find(|w| w.starts_with("age1"))
        .expect("age-keygen prints the public key")
        .to_owned();
    (path, recipient)
}

/// `age ARGS` with `input` on stdin; its stdout.
pub fn age(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(tool("age"))
        .args(args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), input).unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "age {args:?} failed: {}",
        crate::util::redact(&String::from_utf8_lossy(&out.stderr))
    );
    out.stdout
}

/// `ssh-keygen` into DIR/NAME (and NAME.pub); `passphrase` empty for none.
pub fn ssh_keygen(dir: &Path, name: &str, kind: &str, passphrase: &str) -> (PathBuf, String) {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    let mut args = vec![
        "-q",
        "-t",
        kind,
        "-N",
        passphrase,
        "-C",
        "test@example",
        "-f",
    ];
    if kind == "rsa" {
        args.splice(0..0, ["-b", "2048"]);
    }
    let status = Command::new("ssh-keygen")
        .args(&args)
        .arg(&path)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "ssh-keygen failed");
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    (path, public.trim().to_owned())
}

#[test]
fn files_age_encrypts_to_an_x25519_key_are_read_binary_and_armored() {
    let test = Test::new();
    let (identity, recipient) = age_keygen(test.dir(), "id.txt");
    for armor in [false, true] {
        let mut args = vec!["-r", recipient.as_str()];
        if armor {
            args.push("-a");
        }
        let sealed = age(&args, PLAIN.as_bytes());
        // Recognised by its header, whatever the name.
        for name in [".env.age", "secrets.txt"] {
            let run = Test::new()
                .file(name, &sealed)
                .args(["--identity".as_ref(), identity.as_os_str()])
                .args(["--from", name, "--", "env", "-0"])
                .run();
            assert_plain_values(&run);
        }
    }
}

#[test]
fn identities_come_from_the_config_the_environment_and_the_default_file() {
    let keys = Test::new();
    let (identity, recipient) = age_keygen(keys.dir(), "id.txt");
    let sealed = age(&["-r", &recipient], PLAIN.as_bytes());
    let text = std::fs::read_to_string(&identity).unwrap();
    let from_config = Test::new()
        .file(".env.age", &sealed)
        .file("keys/team.txt", &text)
        .file(
            "secretrun.toml",
            "identity = [\"keys/team.txt\", \"missing-on-this-machine.txt\"]\n",
        )
        .args(["--from", ".env.age", "--", "env", "-0"])
        .run();
    assert_plain_values(&from_config);
    let from_env = Test::new()
        .file(".env.age", &sealed)
        .env("SECRETRUN_AGE_IDENTITY", &text)
        .args(["--keep", "*", "--from", ".env.age", "--", "env", "-0"])
        .run();
    assert_plain_values(&from_env);
    assert!(
        !from_env.env0().contains_key("SECRETRUN_AGE_IDENTITY"),
        "the identity reached the command"
    );
    let from_default = Test::new()
        .file(".env.age", &sealed)
        .file(".config/secretrun/identity.txt", &text)
        .args(["--from", ".env.age", "--", "env", "-0"])
        .run();
    assert_plain_values(&from_default);
}

#[test]
fn ssh_keys_are_identities_and_recipients() {
    let test = Test::new();
    let ssh = test.dir().join(".ssh");
    let (_, ed25519) = ssh_keygen(&ssh, "id_ed25519", "ed25519", "");
    let (rsa, rsa_public) = ssh_keygen(test.dir(), "team_rsa", "rsa", "");
    // ~/.ssh/id_ed25519 is a default identity, as for sops.
    let to_ed25519 = age(&["-r", &ed25519], PLAIN.as_bytes());
    std::fs::write(test.dir().join(".env.age"), &to_ed25519).unwrap();
    let test = test.args(["--from", ".env.age", "--", "env", "-0"]);
    assert_plain_values(&test.run());
    let to_rsa = age(&["-r", &rsa_public], PLAIN.as_bytes());
    let run = Test::new()
        .file("prod.env.age", &to_rsa)
        .args(["--identity".as_ref(), rsa.as_os_str()])
        .args(["--from", "prod.env.age", "--", "env", "-0"])
        .run();
    assert_plain_values(&run);
}

/// A program on a pty whose output ends in its exit.
fn on_pty(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Terminal {
    let mut all = vec![("PATH", PATH)];
    all.extend_from_slice(env);
    Terminal::spawn(args, dir, &all)
}

/// `.env.age` in `test`'s directory, sealed by `age -p` with `pass` (typed at its
/// prompt on a pty, as age asks for it nowhere else); its bytes.
fn sealed_with_passphrase(test: &Test, pass: &str) -> Vec<u8> {
    std::fs::write(test.dir().join("plain.env"), PLAIN).unwrap();
    let mut age_pty = on_pty(
        test.dir(),
        &[
            tool("age").to_str().unwrap(),
            "-p",
            "-o",
            ".env.age",
            "plain.env",
        ],
        &[],
    );
    age_pty.expect("passphrase", Duration::from_secs(10));
    age_pty.send(&format!("{pass}\n"));
    age_pty.expect("passphrase", Duration::from_secs(10));
    age_pty.send(&format!("{pass}\n"));
    drop(age_pty.expect("\n", Duration::from_secs(10)));
    let sealed = wait_for_file(&test.dir().join(".env.age"));
    std::fs::remove_file(test.dir().join("plain.env")).unwrap();
    sealed
}

#[test]
fn a_passphrase_file_is_asked_for_on_the_terminal_never_echoed() {
    let test = Test::new();
    let dir = test.dir().to_str().unwrap().to_owned();
    let pass = "horse-CANARY-battery";
    let sealed = sealed_with_passphrase(&test, pass);
    let home = [("HOME", dir.as_str())];
    let args = [
        crate::util::BIN,
        "--from",
        ".env.age",
        "--",
        "sh",
        "-c",
        "echo \"got:$NAME.\"",
    ];
    let mut pty = on_pty(test.dir(), &args, &home);
    pty.expect("Passphrase for .env.age: ", Duration::from_secs(10));
    pty.send(&format!("{pass}\n"));
    let shown = pty.expect("got:two words.", Duration::from_secs(20));
    assert!(!shown.contains("CANARY"), "the passphrase was echoed");
    // A wrong passphrase: refused, nothing runs.
    let mut pty = on_pty(test.dir(), &args, &home);
    pty.expect("Passphrase for .env.age: ", Duration::from_secs(10));
    pty.send("wrong\n");
    pty.expect("wrong passphrase", Duration::from_secs(20));
    assert!(!pty.text.contains("got:"));
    // No terminal at all (a new session has none): a clear error, not a hang.
    let bare = Test::new()
        .file(".env.age", &sealed)
        .args(["--from", ".env.age", "--", "true"]);
    let mut command = bare.command();
    no_terminal(&mut command);
    let run = crate::util::Run::from(command.output().unwrap());
    run.status(78).stderr_has("no terminal to ask");
}

/// The command runs in a new session, without a controlling terminal.
pub fn no_terminal(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
}

fn wait_for_file(path: &Path) -> Vec<u8> {
    for _ in 0..200 {
        if let Ok(bytes) = std::fs::read(path)
            && bytes.ends_with(b"")
            && !bytes.is_empty()
        {
            std::thread::sleep(Duration::from_millis(100));
            return std::fs::read(path).unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("age wrote no file");
}

#[test]
fn an_encrypted_ssh_key_is_asked_for_only_for_a_file_encrypted_to_it() {
    let test = Test::new();
    let dir = test.dir().to_str().unwrap().to_owned();
    let ssh = test.dir().join(".ssh");
    let (_, locked) = ssh_keygen(&ssh, "id_ed25519", "ed25519", "ssh-CANARY-pass");
    let (identity, recipient) = age_keygen(test.dir(), "id.txt");
    std::fs::write(
        test.dir().join("mine.age"),
        age(&["-r", &recipient], PLAIN.as_bytes()),
    )
    .unwrap();
    std::fs::write(
        test.dir().join("ssh.age"),
        age(&["-r", &locked], PLAIN.as_bytes()),
    )
    .unwrap();
    let home = [("HOME", dir.as_str())];
    let id = identity.to_str().unwrap();
    let echo = ["--", "sh", "-c", "echo \"got:$NAME.\""];
    let mut args = vec![crate::util::BIN, "-i", id, "--from", "mine.age"];
    args.extend(echo);
    let mut pty = on_pty(test.dir(), &args, &home);
    let shown = pty.expect("got:two words.", Duration::from_secs(20));
    assert!(
        !shown.to_lowercase().contains("passphrase"),
        "asked for a key the file is not for"
    );
    let mut args = vec![crate::util::BIN, "--from", "ssh.age"];
    args.extend(echo);
    let mut pty = on_pty(test.dir(), &args, &home);
    pty.expect("passphrase", Duration::from_secs(10));
    pty.expect(": ", Duration::from_secs(10));
    pty.send("ssh-CANARY-pass\n");
    let shown = pty.expect("got:two words.", Duration::from_secs(20));
    assert!(!shown.contains("CANARY"), "the passphrase was echoed");
}

#[test]
fn what_secretrun_encrypts_age_decrypts() {
    let test = Test::new().file("app.env", PLAIN);
    let ssh = test.dir().join("keys");
    let (ssh_identity, ssh_public) = ssh_keygen(&ssh, "id_ed25519", "ed25519", "");
    let (identity, recipient) = age_keygen(test.dir(), "id.txt");
    std::fs::write(
        test.dir().join("team.txt"),
        format!("# the team\n{ssh_public}\n"),
    )
    .unwrap();
    for armor in [false, true] {
        let mut args = vec![
            "encrypt", "app.env", "-r", &recipient, "-R", "team.txt", "-o", "out.age",
        ];
        if armor {
            args.push("--armor");
        }
        let test = Test::new()
            .file("app.env", PLAIN)
            .file("team.txt", format!("{ssh_public}\n"))
            .args(args);
        // Who it was encrypted to is said, shortened: a key the project added shows.
        test.run()
            .success()
            .stderr_has("to 2 recipients (from the command line): ")
            .stderr_has(&format!("{}…", &recipient[..9]))
            .stderr_has("ssh-ed25519 …");
        let sealed = std::fs::read(test.dir().join("out.age")).unwrap();
        assert_eq!(
            sealed.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"),
            armor
        );
        for key in [&identity, &ssh_identity] {
            let plain = age(&["-d", "-i", key.to_str().unwrap()], &sealed);
            assert!(plain == PLAIN.as_bytes(), "age -d gave other bytes");
        }
    }
}

/// `encrypt F -o F` replaces the plain file and says so; an existing output keeps
/// its mode (a read-only file stays read-only); another output leaves the plain file
/// and says that.
#[test]
fn encrypt_in_place_tells_the_truth_and_keeps_the_mode() {
    use std::os::unix::fs::PermissionsExt;
    let test = Test::new().file("app.env", PLAIN).file("other.age", "old");
    let (identity, recipient) = age_keygen(test.dir(), "id.txt");
    let mode = |name: &str| {
        std::fs::metadata(test.dir().join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    let set_mode = |name: &str, mode: u32| {
        std::fs::set_permissions(test.dir().join(name), std::fs::Permissions::from_mode(mode))
            .unwrap()
    };
    set_mode("app.env", 0o400);
    set_mode("other.age", 0o600);
    let run = |args: &[&str]| {
        let mut command = test.command();
        command.args(["encrypt", "-r", &recipient]).args(args);
        crate::util::Run::from(command.output().unwrap())
    };
    run(&["app.env", "-o", "other.age"])
        .success()
        .stderr_has("the plain file is still there");
    assert_eq!(mode("other.age"), 0o600);
    assert_eq!(
        std::fs::read(test.dir().join("app.env")).unwrap(),
        PLAIN.as_bytes()
    );
    let said = run(&["app.env", "-o", "app.env"]);
    said.success().stderr_has("encrypted `app.env` in place");
    assert!(!said.stderr.contains("still there"), "{}", said.stderr);
    assert_eq!(mode("app.env"), 0o400);
    let sealed = std::fs::read(test.dir().join("app.env")).unwrap();
    let plain = age(&["-d", "-i", identity.to_str().unwrap()], &sealed);
    assert!(plain == PLAIN.as_bytes(), "age -d gave other bytes");
    // Through a link, the link is replaced and the plain file it named is not.
    let test = Test::new().file("plain.env", PLAIN);
    std::os::unix::fs::symlink("plain.env", test.dir().join("link.env")).unwrap();
    let mut command = test.command();
    command.args(["encrypt", "-r", &recipient, "link.env", "-o", "link.env"]);
    crate::util::Run::from(command.output().unwrap())
        .success()
        .stderr_has("the plain file is still there");
    assert_eq!(
        std::fs::read(test.dir().join("plain.env")).unwrap(),
        PLAIN.as_bytes()
    );
}

#[test]
fn keygen_writes_a_private_identity_once_and_age_uses_it() {
    let test = Test::new().args(["keygen"]);
    let run = test.run();
    run.success();
    let recipient = run.stdout.trim().to_owned();
    assert!(recipient.starts_with("age1"), "keygen prints the recipient");
    let path = std::path::PathBuf::from(run.stderr.split('`').nth(1).unwrap());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // Never over an existing identity.
    let again = Test::new()
        .env(
            "HOME",
            path.parent().unwrap().parent().unwrap().parent().unwrap(),
        )
        .args(["keygen"])
        .run();
    again.status(78).stderr_has("never writes over an identity");
    let public = Test::new()
        .args(["keygen".as_ref(), "-y".as_ref(), path.as_os_str()])
        .run();
    public.success().stdout_is(&format!("{recipient}\n"));
    let sealed = age(&["-r", &recipient], b"A=1\n");
    assert_eq!(
        age(&["-d", "-i", path.to_str().unwrap()], &sealed),
        b"A=1\n"
    );
}

#[test]
fn encrypt_checks_the_file_and_needs_recipients() {
    let (_, recipient) = age_keygen(Test::new().dir(), "id.txt");
    let test = Test::new()
        .file(".env", "GOOD=1\nnot a line\n")
        .args(["encrypt", ".env", "-r", &recipient]);
    test.run().status(65).stderr_has("line 2");
    assert!(!test.dir().join(".env.age").exists());
    let test = Test::new()
        .file(".env", "GOOD=1\n")
        .args(["encrypt", ".env"]);
    test.run().status(78).stderr_has("no recipients");
    let test = Test::new()
        .file(".env", "GOOD=1\n")
        .file(
            "secretrun.toml",
            format!("recipients = [\"{recipient}\"]\n"),
        )
        .args(["encrypt", ".env"]);
    test.run().success();
    assert!(test.dir().join(".env.age").exists());
}

#[test]
fn a_wrong_key_or_a_damaged_file_fails_closed() {
    let keys = Test::new();
    let (_, recipient) = age_keygen(keys.dir(), "a.txt");
    let (other, _) = age_keygen(keys.dir(), "b.txt");
    let sealed = age(&["-r", &recipient], PLAIN.as_bytes());
    let mut altered = sealed.clone();
    let middle = altered.len() - 20;
    altered[middle] ^= 0x40;
    let cut = sealed[..sealed.len() - 10].to_vec();
    let (right, _) = (keys.dir().join("a.txt"), ());
    // What went wrong, the file, the identity, the status, what is said, the hint.
    type Case<'a> = (&'a str, Vec<u8>, &'a Path, i32, &'a str, &'a str);
    let cases: [Case; 3] = [
        (
            "wrong key",
            sealed.clone(),
            &other,
            78,
            "no identity opens `.env.age`",
            "hint: the file was encrypted to other recipients",
        ),
        (
            "altered",
            altered,
            &right,
            65,
            "`.env.age` does not decrypt",
            "hint: restore it from version control",
        ),
        (
            "cut short",
            cut,
            &right,
            65,
            "`.env.age` does not decrypt",
            "hint: restore it from version control",
        ),
    ];
    for (what, bytes, identity, code, says, hint) in cases {
        let run = Test::new()
            .file(".env.age", &bytes)
            .args(["-i".as_ref(), identity.as_os_str()])
            .args(["--from", ".env.age", "--", "sh", "-c", "echo ran"])
            .run();
        assert_eq!(run.status, Some(code), "{what}");
        run.no_canary().stderr_has(says).stderr_has(hint);
        assert!(!run.stdout.contains("ran"), "{what}: the command ran");
    }
    // No identity anywhere: says where to put one.
    Test::new()
        .file(".env.age", &sealed)
        .args(["--from", ".env.age", "--", "true"])
        .run()
        .status(78)
        .no_canary()
        .stderr_has("none was found");
}

/// A dotenvx value and its key (from `dotenvx encrypt` 2.38.2; a throwaway test key).
const DOTENVX_FILE: &str = "DOTENV_PUBLIC_KEY=\"026cc323be501d3ca4a761c3809f4dd70bd6ca64eab7106ded545d2538dfa0e622\"\nHELLO=\"encrypted:BBA0g6Msb2yPRNT7n9vYt7niWeWs1yV4Kr3VdClwbzIww2RmoYN1+aJm9TdId6R7oDS8Bx/eY6kkF+5iXXA7PWHlQGYUasnDqi5Y/KafqLblegjbcanpIrmExL5WKT1ajvHlRE/pjYADW5gzlmF7is19\"\n";
const DOTENVX_KEY: &str = "3788f682aea62cd8bc76af16bf266e2f1c943f584cced915dfdc4b8645becb58";

#[test]
fn opening_encrypted_files_writes_nothing_to_disk() {
    let keys = Test::new();
    let (identity, recipient) = age_keygen(keys.dir(), "id.txt");
    let sealed = age(&["-r", &recipient], PLAIN.as_bytes());
    let identity_text = std::fs::read_to_string(&identity).unwrap();
    let test = Test::new()
        .file(".env.age", &sealed)
        .file("x.env", DOTENVX_FILE)
        // `decrypt` prints what it opens: a file without a canary.
        .file("plain.age", age(&["-r", &recipient], b"A=1\n"));
    let env = [
        ("SECRETRUN_AGE_IDENTITY", identity_text),
        ("DOTENV_PRIVATE_KEY", DOTENVX_KEY.to_owned()),
    ];
    for (what, args) in [
        (
            "exec",
            &["--from", ".env.age", "--from", "x.env", "--", "true"][..],
        ),
        (
            "supervise",
            &[
                "--from", ".env.age", "--from", "x.env", "--redact", "--", "true",
            ][..],
        ),
        (
            "check",
            &["--from", ".env.age", "--from", "x.env", "check"][..],
        ),
        ("decrypt", &["decrypt", "plain.age"][..]),
    ] {
        let trace = crate::trace::strace(&test, crate::trace::FILE_CALLS, args, &env);
        crate::trace::assert_nothing_written(what, &trace);
    }
}

#[test]
fn the_keys_that_open_files_never_reach_the_command() {
    let test = Test::new()
        .file("x.env", DOTENVX_FILE)
        .env("DOTENV_PRIVATE_KEY", DOTENVX_KEY)
        .env("DOTENV_PRIVATE_KEY_PRODUCTION", "k2")
        .env("SECRETRUN_AGE_IDENTITY", "AGE-SECRET-KEY-1NOTUSED")
        .args([
            "--keep", "*", "--keep", "DOTENV_*", "--from", "x.env", "--", "env", "-0",
        ]);
    let run = test.run();
    run.success();
    let env = run.env0();
    assert_eq!(env["HELLO"], "world canary-dx-1");
    for name in [
        "DOTENV_PRIVATE_KEY",
        "DOTENV_PRIVATE_KEY_PRODUCTION",
        "SECRETRUN_AGE_IDENTITY",
    ] {
        assert!(!env.contains_key(name), "{name} reached the command");
    }
    // Named exactly on the command line, it is the user's choice.
    let kept = Test::new()
        .file("x.env", DOTENVX_FILE)
        .env("DOTENV_PRIVATE_KEY", DOTENVX_KEY)
        .args([
            "--keep",
            "DOTENV_PRIVATE_KEY",
            "--from",
            "x.env",
            "--",
            "env",
            "-0",
        ])
        .run();
    kept.success();
    assert!(kept.env0().contains_key("DOTENV_PRIVATE_KEY"));
}

#[test]
fn check_warns_of_a_plain_file_with_live_keys_that_git_would_commit() {
    let test = Test::new().file(".env", PLAIN).file("sealed/.keep", "");
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(args)
            .current_dir(test.dir())
            .env_clear()
            .env("HOME", test.dir())
            .env("PATH", PATH)
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    let test = test.args(["check"]);
    test.run()
        .success()
        .no_canary()
        .stderr_is("")
        .stdout_has("`.env` holds live keys (STRIPE_SECRET_KEY) in plain text");
    // Each ignore file keeps it out, alone: .gitignore, the repository's exclude
    // file, and the user's global one (HOME is the test's directory).
    for (file, rule) in [
        (".gitignore", "/.env\n"),
        (".git/info/exclude", "# git's own comment\n/.env\n"),
        (".config/git/ignore", ".env\n"),
    ] {
        let path = test.dir().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, rule).unwrap();
        let run = test.run();
        run.success();
        assert!(
            !run.stdout.contains("in plain text"),
            "a file {file} ignores was warned of"
        );
        std::fs::remove_file(&path).unwrap();
    }
    test.run().success().stdout_has("in plain text");
    // An encrypted file is never warned of.
    let (identity, recipient) = age_keygen(test.dir(), "id.txt");
    std::fs::write(
        test.dir().join("prod.env.age"),
        age(&["-r", &recipient], PLAIN.as_bytes()),
    )
    .unwrap();
    let run = Test::new()
        .file(
            "prod.env.age",
            std::fs::read(test.dir().join("prod.env.age")).unwrap(),
        )
        .file(".git/HEAD", "ref: refs/heads/main\n")
        .args(["-i".as_ref(), identity.as_os_str()])
        .args(["--from", "prod.env.age", "check"])
        .run();
    run.success().stdout_has("AT REST");
    assert!(!run.stdout.contains("in plain text"));
}

#[test]
fn a_plain_value_that_looks_encrypted_fails_closed() {
    // As in dotenvx, `encrypted:` marks its values in any quotes.
    for line in ["MODE=encrypted:aes-256\n", "MODE='encrypted:aes-256'\n"] {
        Test::new()
            .file(".env", line)
            .args(["--", "true"])
            .run()
            .status(78)
            .stderr_has("`MODE` is dotenvx-encrypted");
    }
}

#[test]
fn an_endless_identity_file_is_refused() {
    let (_, recipient) = age_keygen(Test::new().dir(), "id.txt");
    Test::new()
        .file(".env.age", age(&["-r", &recipient], b"A=1\n"))
        .args([
            "--identity",
            "/dev/zero",
            "--from",
            ".env.age",
            "--",
            "true",
        ])
        .run()
        .status(78)
        .stderr_has("larger than 16 MiB");
    // Named by the project, a device or a FIFO is refused at once, never read.
    let test = Test::new()
        .file(".env.age", age(&["-r", &recipient], b"A=1\n"))
        .file(
            "secretrun.toml",
            "identity = [\"keys.fifo\", \"/dev/zero\"]\n",
        );
    let fifo = std::ffi::CString::new(test.dir().join("keys.fifo").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    test.args(["--from", ".env.age", "--", "true"])
        .run()
        .status(78)
        .stderr_has("`keys.fifo`: not a regular file");
}

#[test]
fn decrypt_warns_on_a_terminal_and_prints_to_a_pipe_quietly() {
    let test = Test::new();
    let (identity, recipient) = age_keygen(test.dir(), "id.txt");
    std::fs::write(
        test.dir().join("f.age"),
        age(&["-r", &recipient], b"A=shown-on-tty\n"),
    )
    .unwrap();
    let dir = test.dir().to_str().unwrap().to_owned();
    let id = identity.to_str().unwrap();
    let mut pty = on_pty(
        test.dir(),
        &[crate::util::BIN, "-i", id, "decrypt", "f.age"],
        &[("HOME", &dir)],
    );
    pty.expect("they stay in its scrollback", Duration::from_secs(10));
    pty.expect("A=shown-on-tty", Duration::from_secs(10));
    let piped = Test::new()
        .file("f.age", std::fs::read(test.dir().join("f.age")).unwrap())
        .args(["-i", id, "decrypt", "f.age"])
        .run();
    piped.success().stderr_is("").stdout_is("A=shown-on-tty\n");
}

/// `encrypt` never writes the target in place: the sealed file is written beside it
/// under a name of its own (created exclusively, never an existing file) and renamed
/// over the target, so a reader sees the old file or the new one, never half of one.
#[test]
fn encrypt_writes_beside_the_target_and_renames_it_over() {
    let test = Test::new()
        .file("app.env", PLAIN)
        .file("app.env.age", "old");
    let (_, recipient) = age_keygen(test.dir(), "id.txt");
    let trace = crate::trace::strace(
        &test,
        crate::trace::FILE_CALLS,
        &["encrypt", "-r", &recipient, "app.env", "-o", "app.env.age"],
        &[],
    );
    let written: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains("O_WRONLY") || l.contains("O_RDWR") || l.contains("O_CREAT"))
        .filter(|l| !l.contains("\"/dev/"))
        .collect();
    assert_eq!(written.len(), 1, "one file written: {written:#?}");
    let temp = written[0];
    assert!(
        temp.contains("\".app.env.age.secretrun-") && temp.contains("O_EXCL"),
        "not a new file beside the target: {temp}"
    );
    assert!(
        trace.lines().any(|l| l.contains("rename")
            && l.contains(".app.env.age.secretrun-")
            && l.contains("\"app.env.age\"")),
        "no rename over the target:\n{trace}"
    );
    let sealed = std::fs::read(test.dir().join("app.env.age")).unwrap();
    assert!(sealed.starts_with(b"age-encryption.org/v1") || sealed.starts_with(b"-----BEGIN AGE"));
    let leftovers: Vec<_> = std::fs::read_dir(test.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("secretrun-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A signal that stops secretrun at the passphrase prompt (Ctrl-C, Ctrl-\\ typed at
/// it) leaves the terminal as it was: echo on again for the shell that ran it, and
/// secretrun dies of the signal, as it would have.
#[test]
fn the_terminal_is_restored_when_a_signal_stops_the_passphrase_prompt() {
    let test = Test::new();
    let sealed = sealed_with_passphrase(&test, "pass-CANARY");
    assert!(!sealed.is_empty());
    let dir = test.dir().to_str().unwrap().to_owned();
    for (key, status) in [("\x03", 130), ("\x1c", 131)] {
        // The shell's traps have handlers, so secretrun gets INT and QUIT with their
        // default dispositions, as from an interactive shell.
        let script = format!(
            "trap 'echo trapped' INT QUIT; {} --from .env.age -- true; \
             echo \"status=$?\"; stty -a; echo done",
            crate::util::BIN
        );
        let mut pty = on_pty(
            test.dir(),
            &["sh", "-c", &script],
            &[("HOME", dir.as_str())],
        );
        pty.expect("Passphrase for .env.age: ", Duration::from_secs(10));
        pty.send(key);
        pty.expect(&format!("status={status}"), Duration::from_secs(20));
        let modes = pty.expect("done", Duration::from_secs(10));
        let words: Vec<&str> = modes.split_whitespace().collect();
        assert!(
            words.contains(&"echo") && !words.contains(&"-echo"),
            "echo is still off after {key:?}: {modes}"
        );
    }
}

/// A passphrase file that asks for more scrypt work than 2^22 (age writes 2^18) is
/// refused with 65 before any of that work is done: one such header could hold a
/// launch for minutes and take gigabytes.
#[test]
fn scrypt_work_over_the_cap_is_refused_before_it_is_done() {
    let test = Test::new();
    let sealed = sealed_with_passphrase(&test, "pass-CANARY");
    let text = String::from_utf8_lossy(&sealed).into_owned();
    let line = text
        .lines()
        .find(|l| l.starts_with("-> scrypt "))
        .expect("an scrypt stanza");
    let (head, work) = line.rsplit_once(' ').unwrap();
    assert!(work.parse::<u8>().unwrap() <= 22, "age wrote {work}");
    let dir = test.dir().to_str().unwrap().to_owned();
    // (2^22 itself, the largest accepted, takes 4 GiB: the file age wrote, within
    // the cap, opens in `a_passphrase_file_is_asked_for_on_the_terminal_never_echoed`.)
    for log_n in ["23", "64"] {
        let bumped = text.replacen(line, &format!("{head} {log_n}"), 1);
        std::fs::write(test.dir().join(".env.age"), bumped.as_bytes()).unwrap();
        let args = [crate::util::BIN, "--from", ".env.age", "--", "true"];
        let mut pty = on_pty(test.dir(), &args, &[("HOME", dir.as_str())]);
        pty.expect("Passphrase for .env.age: ", Duration::from_secs(10));
        pty.send("pass-CANARY\n");
        // age checks the work factor before it derives anything.
        pty.expect(
            "asks for more scrypt work than secretrun allows",
            Duration::from_secs(20),
        );
        assert_eq!(pty.exit_code(Duration::from_secs(10)), Some(65));
    }
}
