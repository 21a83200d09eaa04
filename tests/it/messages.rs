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
