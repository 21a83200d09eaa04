//! The platforms' own secret files as sources, laid out in a temp dir as each
//! platform lays them out: Docker's `/run/secrets` (files of mode 0444, named as the
//! service names them), systemd's `$CREDENTIALS_DIRECTORY` (a 0500 directory of 0400
//! files), a Kubernetes secret volume (each key a link into `..data`, itself a link
//! to a dated directory), and the parent's `NAME_FILE` variables.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use crate::util::Test;

fn mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The values are the canaries, and stdout is their environment: only stderr must
/// stay clean.
fn quiet(run: &crate::util::Run) {
    assert!(
        !run.stderr.contains(crate::util::CANARY_MARK),
        "a canary value leaked to stderr"
    );
}

fn launch(test: Test, from: &[&str]) -> crate::util::Run {
    let mut args = vec!["--pure"];
    for f in from {
        args.extend(["--from", f]);
    }
    test.args(args).args(["--", "env", "-0"]).run()
}

/// `echo value | docker secret create` leaves one newline; `$(cat FILE)` (the
/// images' `file_env`) removes trailing newlines, and so does secretrun; a newline
/// inside the value stays.
#[test]
fn docker_secrets_are_a_variable_a_file() {
    let test = Test::new()
        .file("secrets/db-password", "CANARY-db-pass\n")
        .file(
            "secrets/stripe.key",
            "sk_test_CANARY0123456789abcdefABCD\n\n",
        )
        .file(
            "secrets/tls_key",
            "-----BEGIN-----\nCANARY-line\n-----END-----\n",
        )
        .file("secrets/.hidden", "not read");
    let dir = test.dir().join("secrets");
    for f in ["db-password", "stripe.key", "tls_key"] {
        mode(&dir.join(f), 0o444);
    }
    let run = launch(
        test.env("SECRETRUN_DOCKER_SECRETS", &dir),
        &["docker-secrets"],
    );
    run.success();
    quiet(&run);
    let env = run.env0();
    assert_eq!(env["DB_PASSWORD"], "CANARY-db-pass");
    assert_eq!(env["STRIPE_KEY"], "sk_test_CANARY0123456789abcdefABCD");
    assert_eq!(
        env["TLS_KEY"],
        "-----BEGIN-----\nCANARY-line\n-----END-----"
    );
    assert_eq!(env.len(), 3, "{:?}", env.keys().collect::<Vec<_>>());
}

#[test]
fn systemd_credentials_come_from_credentials_directory() {
    let test = Test::new().file("creds/api-token", "CANARY-token");
    let dir = test.dir().join("creds");
    mode(&dir.join("api-token"), 0o400);
    mode(&dir, 0o500);
    let run = launch(test.env("CREDENTIALS_DIRECTORY", &dir), &["systemd-creds"]);
    run.success();
    quiet(&run);
    assert_eq!(run.env0()["API_TOKEN"], "CANARY-token");
    // Outside a service with credentials, said at once.
    launch(Test::new(), &["systemd-creds"])
        .status(78)
        .stderr_has("CREDENTIALS_DIRECTORY is not set");
}

#[test]
fn a_kubernetes_secret_volume_is_read_through_its_links() {
    let test = Test::new()
        .file(
            "vol/..2026_12_02_10_00_00.1/database-url",
            "postgres://CANARY@db/app\n",
        )
        .file("vol/..2026_12_02_10_00_00.1/redis-password", "CANARY-redis");
    let vol = test.dir().join("vol");
    symlink("..2026_12_02_10_00_00.1", vol.join("..data")).unwrap();
    for key in ["database-url", "redis-password"] {
        symlink(format!("..data/{key}"), vol.join(key)).unwrap();
    }
    let run = launch(test, &["dir:vol"]);
    run.success();
    quiet(&run);
    let env = run.env0();
    assert_eq!(env["DATABASE_URL"], "postgres://CANARY@db/app");
    assert_eq!(env["REDIS_PASSWORD"], "CANARY-redis");
    assert_eq!(env.len(), 2, "the `..` entries are not values");
}

/// A file's value goes through validation like any other: a live key where test
/// keys are expected is refused, naming the file, never the value.
#[test]
fn values_from_files_are_validated_and_listed_by_file() {
    let test = Test::new()
        .file(
            "vol/stripe-secret-key",
            "sk_live_CANARY0123456789abcdefABCD\n",
        )
        .file("secretrun.toml", "expect = \"test\"\n");
    let run = launch(test, &["dir:vol"]);
    run.status(65)
        .no_canary()
        .stderr_has("`STRIPE_SECRET_KEY` holds a live Stripe secret key");
    let test = Test::new().file(
        "vol/stripe-secret-key",
        "sk_live_CANARY0123456789abcdefABCD\n",
    );
    let list = test.args(["list", "--pure", "--from", "dir:vol"]).run();
    list.success()
        .no_canary()
        .stdout_has("vol/stripe-secret-key");
}

/// `--from-file-vars`: `POSTGRES_PASSWORD_FILE` gives `POSTGRES_PASSWORD`; a missing
/// file is skipped; the launcher's own `*_FILE`s (a web identity token, a CA bundle)
/// are never copied into the command; a later source wins over them.
#[test]
fn file_variables_of_the_parent_give_their_values() {
    let test = Test::new()
        .file("pw", "CANARY-pg\n")
        .file("token", "CANARY-web-identity")
        .file(".env", "DJANGO_SECRET_KEY=from-dotenv\n")
        .file("django", "CANARY-django");
    let at = |f: &str| test.dir().join(f);
    let (pw, token, django) = (at("pw"), at("token"), at("django"));
    let run = test
        .env("POSTGRES_PASSWORD_FILE", &pw)
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token)
        .env("NIX_SSL_CERT_FILE", &token)
        .env("DJANGO_SECRET_KEY_FILE", &django)
        .env("MISSING_FILE", "/nonexistent/secret")
        .args([
            "--pure",
            "--from-file-vars",
            "--from",
            ".env",
            "--",
            "env",
            "-0",
        ])
        .run();
    run.success();
    quiet(&run);
    let env = run.env0();
    assert_eq!(env["POSTGRES_PASSWORD"], "CANARY-pg");
    assert_eq!(
        env["DJANGO_SECRET_KEY"], "from-dotenv",
        "the named source wins"
    );
    assert!(!env.contains_key("AWS_WEB_IDENTITY_TOKEN") && !env.contains_key("NIX_SSL_CERT"));
    assert!(!env.contains_key("MISSING"));
}

/// A FIFO among the files is refused at once, not waited on; a directory of more
/// files than the launch reads stops with 65.
#[test]
fn a_fifo_is_refused_and_the_files_are_bounded() {
    let test = Test::new().file("vol/ok", "v");
    let fifo = test.dir().join("vol/pipe");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    launch(test, &["dir:vol"])
        .status(78)
        .stderr_has("`vol/pipe` is not a regular file");
    let test = Test::new();
    let many = test.dir().join("many");
    std::fs::create_dir(&many).unwrap();
    for i in 0..1025 {
        std::fs::write(many.join(format!("k{i}")), "v").unwrap();
    }
    launch(test, &["dir:many"])
        .status(65)
        .stderr_has("more than 1024");
}
