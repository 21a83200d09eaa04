//! Each failure says what is actually wrong, and echoes nothing credential-like.

use crate::moto::{ACCESS_KEY, SECRET_KEY};
use crate::util::Test;

#[test]
fn loader_and_interpreter_variables_from_a_file_are_warned_about() {
    let text =
        "LD_PRELOAD=/tmp/evil.so\nPYTHONSTARTUP=/tmp/x.py\nNODE_OPTIONS=--require=/tmp/x\nAPP=1\n";
    let run = Test::new()
        .file(".env", text)
        .args(["check", "--pure"])
        .run();
    run.success();
    for name in ["LD_PRELOAD", "NODE_OPTIONS", "PYTHONSTARTUP"] {
        assert!(
            run.stdout.contains(&format!("`{name}` comes from `.env:")),
            "{name}: {}",
            run.stdout
        );
    }
    assert!(run.stdout.ends_with("\nok, 3 warnings\n"), "{}", run.stdout);
    // At launch the warning goes to stderr and the command still runs.
    Test::new()
        .file(".env", "LD_LIBRARY_PATH=/tmp/lib\n")
        .args(["--", "true"])
        .run()
        .success()
        .stderr_has("warning: `LD_LIBRARY_PATH` comes from `.env:1`");
    // Kept from the user's own environment: no warning.
    Test::new()
        .file(".env", "A=1\n")
        .env("LD_LIBRARY_PATH", "/opt/lib")
        .args(["--keep", "LD_LIBRARY_PATH", "--", "true"])
        .run()
        .success()
        .stderr_is("");
}

#[test]
fn a_value_of_the_wrong_type_in_the_config_is_not_echoed() {
    Test::new()
        .file(
            "secretrun.toml",
            "[vault]\nauth = \"approle\"\nrole_id = 987654321\n",
        )
        .file(".env", "A=1\n")
        .args(["list"])
        .run()
        .status(78)
        .stderr_is(
            "error: config file `secretrun.toml:3`: invalid type: integer, expected a string\n",
        );
}

#[test]
fn a_script_whose_interpreter_is_missing_is_126_and_says_so() {
    for mode in [&[][..], &["--init"][..]] {
        let test = Test::new()
            .file(".env", "A=1\n")
            .file("tool.sh", "#!/nonexistent/interp -x\necho hi\n");
        std::fs::set_permissions(
            test.dir().join("tool.sh"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        test.args(mode).args(["--", "./tool.sh"]).run().status(126).stderr_has(
            "`./tool.sh` exists, but its interpreter `/nonexistent/interp` (its `#!` line) was not found",
        );
    }
    // A name that is not there at all is still 127.
    Test::new()
        .file(".env", "A=1\n")
        .args(["--", "./absent.sh"])
        .run()
        .status(127);
}

#[test]
fn a_session_token_with_a_newline_is_named() {
    Test::new()
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_SESSION_TOKEN", "session-CANARY\nsecond-line")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .args(["--from", "aws-sm://x", "--", "true"])
        .run()
        .status(78)
        .no_canary()
        .stderr_has("`AWS_SESSION_TOKEN` holds a newline");
}

/// A mistyped reference fails loudly, naming what was meant: in a dotenv value (the
/// scheme only, never the value), and in `--from` (whole: argv is no secret); in
/// single quotes such a value stays literal. A word where the command should be
/// says to put `--` before it, or names the subcommand it is near.
#[test]
fn near_misses_fail_naming_the_likely_intent() {
    for value in [
        "vualt://secret/db#password",
        "vault:/secret/db",
        "aws-ms://prod/db",
    ] {
        let run = Test::new()
            .file(".env", format!("DB_PASSWORD={value}\n"))
            .args(["check"])
            .run();
        run.status(78)
            .stderr_has("the value of `DB_PASSWORD` looks like a mistyped `");
        assert!(
            !run.stderr.contains("secret/db") && !run.stderr.contains("prod/db"),
            "{}",
            run.stderr
        );
    }
    Test::new()
        .file(".env", "DB_PASSWORD='vualt://secret/db#password'\n")
        .args(["--pure", "--", "printenv", "DB_PASSWORD"])
        .run()
        .success()
        .stdout_is("vualt://secret/db#password\n");
    Test::new()
        .args(["--from", "vault:/secret/app", "--", "true"])
        .run()
        .status(78)
        .stderr_has("`vault:/secret/app` looks like a mistyped reference: did you mean `vault://secret/app`?");
    Test::new()
        .args(["--from", "gcp-sn://projects/p/secrets/s", "--", "true"])
        .run()
        .status(78)
        .stderr_has("did you mean `gcp-sm://projects/p/secrets/s`?");
    Test::new()
        .args(["python", "manage.py"])
        .run()
        .status(2)
        .stderr_has("`python` is not a subcommand; to run it, put `--` before the command: secretrun [OPTIONS] -- python ...");
    Test::new()
        .args(["chek"])
        .run()
        .status(2)
        .stderr_has("`chek` is not a subcommand; did you mean `check`?");
}

/// Vault's default address unreachable: the hint says VAULT_ADDR is not set; with
/// VAULT_ADDR set, it says to check it.
#[test]
fn an_unreachable_default_vault_says_to_set_vault_addr() {
    let read = |test: Test| {
        test.env("VAULT_TOKEN", "t")
            .args([
                "--from",
                "vault://secret/app",
                "--timeout",
                "3s",
                "--",
                "true",
            ])
            .run()
    };
    read(Test::new()).status(69).stderr_has(
        "hint: VAULT_ADDR is not set, so secretrun tried Vault's default address; set it to your Vault's",
    );
    let closed = format!("http://127.0.0.1:{}", crate::stub::closed_port());
    read(Test::new().env("VAULT_ADDR", &closed))
        .status(69)
        .stderr_has("hint: check VAULT_ADDR and that the server is up");
}
