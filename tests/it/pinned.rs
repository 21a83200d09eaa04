//! Promises of the README whose line in `src/` a mutation could change with every
//! other test still passing: each test here fails when that line breaks (the
//! mutation named in its comment was run against it).

use crate::util::{CANARY, Test};

/// Every protected name and prefix is kept from the command under a `--keep` glob
/// that matches it, and only the exact name passes it. Each is named here, not read
/// from the source, so that dropping one from the table fails this test.
#[test]
fn every_protected_prefix_is_kept_from_the_command_under_a_glob() {
    // Mutation: each of these removed from `names::PROTECTED_PREFIXES`.
    let protected = [
        "VAULT_TOKEN",
        "BAO_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "SECRETRUN_AGE_IDENTITY",
        "DOTENV_PRIVATE_KEY_PRODUCTION",
        "AZURE_CLIENT_SECRET",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "MSI_ENDPOINT",
        "MSI_SECRET",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GOOGLE_CLOUD_PROJECT",
        "GCE_METADATA_HOST",
        "CLOUDSDK_CONFIG",
        "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE",
    ];
    let mut test = Test::new().file(".env", "A=1\n");
    for name in protected {
        test = test.env(name, format!("{CANARY}-{name}"));
    }
    // Globs that match each of them: all names, and each one's own first letters.
    let mut globs = vec!["*".to_owned()];
    globs.extend(protected.iter().map(|n| format!("{}*", &n[..3])));
    let mut args = Vec::new();
    for glob in &globs {
        args.extend(["--keep".to_owned(), glob.clone()]);
    }
    let run = test.args(&args).args(["--", "env", "-0"]).run();
    run.success();
    let env = run.env0();
    for name in protected {
        assert!(
            !env.contains_key(name),
            "`{name}` reached the command under a glob"
        );
    }
    // The exact name passes it: the user said so.
    for name in protected {
        let run = Test::new()
            .file(".env", "A=1\n")
            .env(name, "kept")
            .args(["--keep", name, "--", "env", "-0"])
            .run();
        run.success();
        assert_eq!(
            run.env0().get(name).map(String::as_str),
            Some("kept"),
            "{name}"
        );
    }
}

/// Expansion may make one value 128 KiB at the most (the kernel's MAX_ARG_STRLEN).
/// Mutation: `MAX_EXPANDED_VALUE` raised to 1 MiB.
#[test]
fn expansion_stops_at_128_kib_for_one_value() {
    let piece = "x".repeat(1024);
    let at = |copies: usize| {
        Test::new()
            .file(
                ".env",
                format!("A={piece}\nB=\"{}\"\n", "${A}".repeat(copies)),
            )
            .args(["list"])
            .run()
    };
    at(127).success();
    at(129)
        .status(65)
        .stderr_has("grows past 128 KiB, the most one variable can hold");
}

/// A schema `pattern` must match the whole value, not a part of it.
/// Mutation: the pattern no longer anchored at both ends.
#[test]
fn a_schema_pattern_matches_the_whole_value() {
    let check = |value: &str| {
        Test::new()
            .file(".env", format!("CODE={value}\n"))
            .file("secretrun.toml", "[vars.CODE]\npattern = \"[a-z]{3}\"\n")
            .args(["check"])
            .run()
    };
    check("abc").success();
    for partial in ["abcd", "1abc", "xabcx", "ab"] {
        let run = check(partial);
        assert_eq!(
            run.status,
            Some(65),
            "`{partial}` passed a pattern it only contains"
        );
    }
}
