//! secretrun.toml: sources, keep, required variables, and its errors.

use crate::util::Test;

#[test]
fn config_sources_keep_and_required() {
    let run = Test::new()
        .file("conf/secretrun.toml", "sources = [\"app.env\"]\nkeep = [\"PORT\"]\npure = true\n[vars.DB]\nrequired = true\ndescription = \"the database\"\n")
        .file("conf/app.env", "DB=postgres://x\n")
        .env("PORT", "99")
        .args(["--config", "conf/secretrun.toml", "--", "env", "-0"])
        .run();
    run.success();
    let env = run.env0();
    assert_eq!(env.len(), 2);
    assert_eq!(env["DB"], "postgres://x");
    assert_eq!(env["PORT"], "99");
}

#[test]
fn default_config_and_env_fallback() {
    Test::new()
        .file("secretrun.toml", "[vars.MISSING]\nrequired = true\n")
        .file(".env", "A=1\n")
        .args(["--", "true"])
        .run()
        .status(65)
        .stderr_is(
            "error: validation failed, nothing was run:\n  `MISSING` is required but missing\n",
        );
    Test::new()
        .file("other.toml", "sources = [\"x.env\"]\n")
        .file("x.env", "X=1\n")
        .env("SECRETRUN_CONFIG", "other.toml")
        .args(["--pure", "--", "env", "-0"])
        .run()
        .success()
        .stdout_is("X=1\0");
}

#[test]
fn flags_beat_config_sources() {
    Test::new()
        .file("secretrun.toml", "sources = [\"a.env\"]\n")
        .file("a.env", "A=1\n")
        .file("b.env", "B=1\n")
        .args(["--pure", "--from", "b.env", "--", "env", "-0"])
        .run()
        .success()
        .stdout_is("B=1\0");
}

#[test]
fn unknown_keys_are_named() {
    Test::new()
        .file(".env", "A=1\n")
        .file(
            "secretrun.toml",
            "sources = [\".env\"]\n\nkepp = [\"PORT\"]\n",
        )
        .args(["--", "true"])
        .run()
        .status(78)
        .stderr_has("error: config file `secretrun.toml:3`: unknown field `kepp`, expected one of");
    Test::new()
        .file(".env", "A=1\n")
        .file("secretrun.toml", "[vars.A]\nrequird = true\n")
        .args(["--", "true"])
        .run()
        .status(78)
        .stderr_has("unknown field `requird`");
}

#[test]
fn missing_config_file_is_a_config_error() {
    Test::new()
        .args(["--config", "nope.toml", "--", "true"])
        .run()
        .status(78)
        .stderr_has("error: reading config file `nope.toml`");
}

#[test]
fn require_names_every_missing_variable() {
    Test::new()
        .file(".env", "A=1\nEMPTY=\n")
        .args([
            "--require",
            "A",
            "--require",
            "EMPTY",
            "--require",
            "GONE",
            "--",
            "true",
        ])
        .run()
        .status(65)
        .stderr_is(concat!(
            "error: validation failed, nothing was run:\n",
            "  `EMPTY` is required but empty\n",
            "  `GONE` is required but missing\n"
        ));
}

#[test]
fn bad_options_are_usage_or_config_errors() {
    Test::new().args(["--nope", "--", "true"]).run().status(2);
    Test::new()
        .file(".env", "A=1\n")
        .run()
        .status(2)
        .stderr_has("no COMMAND given");
    Test::new()
        .file(".env", "A=1\n")
        .args(["--timeout", "soon", "--", "true"])
        .run()
        .status(78);
    Test::new()
        .file(".env", "A=1\n")
        .args(["--from", "vault://secret/x", "--", "true"])
        .run()
        .status(78);
}

#[test]
fn man_page() {
    let run = Test::new().args(["manpage"]).run();
    run.success();
    assert!(run.stdout.contains(".TH secretrun 1"));
    assert!(run.stdout.contains("keep"));
}

#[test]
fn completions() {
    for shell in ["bash", "zsh", "fish"] {
        let run = Test::new().args(["completions", shell]).run();
        run.success();
        assert!(
            run.stdout.contains("secretrun") && run.stdout.contains("keep"),
            "{shell}"
        );
    }
}

#[test]
fn rotation_settings_are_checked() {
    for (config, says) in [
        (
            "[vars.A]\nmax_age = \"soon\"\n",
            "`max_age` is not a duration such as `90d`",
        ),
        (
            "[vars.A]\nmax_age = \"0s\"\n",
            "`max_age` is not a duration such as `90d`",
        ),
        (
            "[rotation]\nmax_age = \"ninety\"\n",
            "in `[rotation] max_age`",
        ),
        (
            "[rotation]\nwarn_before_expiry = \"x\"\n",
            "in `[rotation] warn_before_expiry`",
        ),
        ("[rotation]\nmaxage = \"90d\"\n", "unknown field `maxage`"),
    ] {
        Test::new()
            .file(".env", "A=1\n")
            .file("secretrun.toml", config)
            .args(["--", "true"])
            .run()
            .status(78)
            .stderr_has(says);
    }
}

#[test]
fn a_dotenv_value_has_no_age_to_judge() {
    let run = Test::new()
        .file(".env", "A=1\n")
        .file(
            "secretrun.toml",
            "[rotation]\nmax_age = \"1s\"\nstrict = true\n",
        )
        .args(["check", "--pure"])
        .run();
    run.success();
    assert!(
        run.stdout.split_once("\n\n").unwrap().1.starts_with(
            "NAME  ORIGIN  KIND  AGE      VALUE  VERDICT\nA     .env:1  -     unknown  1      ok\n"
        ),
        "{}",
        run.stdout
    );
}

/// No duration, however absurd, panics: from a flag, the environment or a project's
/// config, for a launch, `list` and `check`. Each is refused as the error it is.
#[test]
fn absurd_durations_are_errors_not_panics() {
    let huge = [
        "18446744073709551615",
        "99999999999999d",
        "999999999999w",
        "36501d",
    ];
    for text in huge {
        for command in [&["--", "true"][..], &["list"], &["check"]] {
            let flag = Test::new()
                .file(".env", "A=1\n")
                .args(["--timeout", text])
                .args(command)
                .run();
            assert!(
                matches!(flag.status, Some(2 | 78)),
                "--timeout {text}: {:?}",
                flag.status
            );
            assert!(!flag.stderr.contains("panicked"), "{}", flag.stderr);
            Test::new()
                .file(".env", "A=1\n")
                .env("SECRETRUN_TIMEOUT", text)
                .args(command)
                .run()
                .status(78)
                .stderr_has("at most 100 years");
            Test::new()
                .file(".env", "A=1\n")
                .file("secretrun.toml", format!("timeout = \"{text}\"\n"))
                .args(command)
                .run()
                .status(78)
                .stderr_has("at most 100 years");
            for key in ["max_age", "warn_before_expiry"] {
                Test::new()
                    .file(".env", "A=1\n")
                    .file(
                        "secretrun.toml",
                        format!("[rotation]\n{key} = \"{text}\"\n"),
                    )
                    .args(command)
                    .run()
                    .status(78);
            }
            Test::new()
                .file(".env", "A=1\n")
                .file(
                    "secretrun.toml",
                    format!("[vars.A]\nmax_age = \"{text}\"\n"),
                )
                .args(command)
                .run()
                .status(78);
        }
        for flag in ["--watch", "--kill-timeout"] {
            let run = Test::new()
                .file(".env", "A=1\n")
                .args([flag, text, "--", "true"])
                .run();
            assert!(
                matches!(run.status, Some(2 | 78)),
                "{flag} {text}: {:?}",
                run.status
            );
            assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        }
    }
    // The longest duration taken is a working one.
    Test::new()
        .file(".env", "A=1\n")
        .args(["--timeout", "36500d", "--", "true"])
        .run()
        .success();
}
