//! `[profiles.NAME]` in secretrun.toml: chosen by `--profile` or
//! `SECRETRUN_PROFILE` (never passed on), `default` when none is, `extends` chains,
//! a cycle and an unknown profile refused, and nothing a profile can do about where
//! credentials go.

use crate::util::{CANARY, Test};

const TEST_KEY: &str = "sk_test_CANARY0123456789abcdefABCD";

const CONFIG: &str = r#"
sources = [".env"]

[vars.DEBUG]
one_of = ["true", "false"]

[profiles.base]
keep = ["PORT"]
expect = "live"

[profiles.dev]
extends = "base"
expect = "test"

[profiles.staging]
extends = "dev"
sources = [".env.staging"]

[profiles.prod]
extends = "base"
sources = [".env.prod"]
expect = "live"

[profiles.prod.vars.DEBUG]
one_of = ["false"]
"#;

fn project() -> Test {
    Test::new()
        .file("secretrun.toml", CONFIG)
        .file(
            ".env",
            format!("STRIPE_SECRET_KEY={TEST_KEY}\nDEBUG=true\n"),
        )
        .file(
            ".env.staging",
            format!("STRIPE_SECRET_KEY={TEST_KEY}\nDEBUG=false\n"),
        )
        .file(
            ".env.prod",
            format!("STRIPE_SECRET_KEY={CANARY}\nDEBUG=false\n"),
        )
}

fn launch(test: Test, how: &[&str]) -> crate::util::Run {
    test.args(how).args(["--", "sh", "-c", "echo ok"]).run()
}

#[test]
fn a_profile_sets_sources_expectations_and_rules() {
    // prod: live keys from .env.prod, DEBUG must be false.
    launch(project(), &["--profile", "prod"])
        .success()
        .no_canary()
        .stdout_is("ok\n");
    // The same profile by the environment.
    launch(project().env("SECRETRUN_PROFILE", "prod"), &[])
        .success()
        .stdout_is("ok\n");
    // prod reading the development file: a test key, and DEBUG=true, refused.
    let test = project().file(
        ".env.prod",
        format!("STRIPE_SECRET_KEY={TEST_KEY}\nDEBUG=true\n"),
    );
    launch(test, &["--profile", "prod"])
        .status(65)
        .no_canary()
        .stderr_has("holds a test Stripe secret key, but live keys are expected")
        .stderr_has("`DEBUG`");
    // staging extends dev extends base: test keys expected, its own file.
    let test = project().file(
        ".env.staging",
        format!("STRIPE_SECRET_KEY={CANARY}\nDEBUG=false\n"),
    );
    launch(test, &["--profile", "staging"])
        .status(65)
        .no_canary()
        .stderr_has("but test keys are expected");
    // dev's own expect wins over base's, which it extends.
    launch(project(), &["--profile", "dev"])
        .success()
        .stdout_is("ok\n");
    // base's keep reaches dev through extends: PORT passes.
    let run = project()
        .env("PORT", "8000")
        .env("SECRETRUN_PROFILE", "dev")
        .args(["--pure", "--keep", "SECRETRUN_PROFILE", "--", "env", "-0"])
        .run();
    run.success();
    let env = run.env0();
    assert_eq!(env["PORT"], "8000");
    assert_eq!(
        env["SECRETRUN_PROFILE"], "dev",
        "kept only when named exactly"
    );
    let run = project()
        .env("SECRETRUN_PROFILE", "dev")
        .args(["--pure", "--keep", "SECRETRUN*", "--", "env", "-0"])
        .run();
    run.success();
    assert!(
        !run.env0().contains_key("SECRETRUN_PROFILE"),
        "a glob passed it on"
    );
}

#[test]
fn the_default_profile_applies_when_none_is_chosen() {
    let config = format!("{CONFIG}\n[profiles.default]\nextends = \"prod\"\n");
    launch(project().file("secretrun.toml", config.clone()), &[])
        .success()
        .no_canary();
    // Without a `default`, the file as written: .env, no expectation.
    launch(project(), &[]).success().stdout_is("ok\n");
    // --profile wins over SECRETRUN_PROFILE.
    launch(
        project().env("SECRETRUN_PROFILE", "nope"),
        &["--profile", "prod"],
    )
    .success();
}

#[test]
fn unknown_profiles_cycles_and_credentials_settings_are_refused() {
    launch(project(), &["--profile", "qa"])
        .status(78)
        .stderr_has("no profile `qa`: the config defines `base`, `dev`, `prod`, `staging`");
    let cycle = "[profiles.a]\nextends = \"b\"\n[profiles.b]\nextends = \"c\"\n[profiles.c]\nextends = \"a\"\n";
    launch(project().file("secretrun.toml", cycle), &["--profile", "a"])
        .status(78)
        .stderr_has("profiles extend each other in a cycle: a → b → c → a");
    let missing = "[profiles.a]\nextends = \"gone\"\n";
    launch(
        project().file("secretrun.toml", missing),
        &["--profile", "a"],
    )
    .status(78)
    .stderr_has("no profile `gone` (extended by `a`)");
    // Where credentials go is not a profile's to say.
    let vault = "[profiles.a.vault]\naddress = \"https://elsewhere.example\"\n";
    launch(project().file("secretrun.toml", vault), &["--profile", "a"])
        .status(78)
        .stderr_has("unknown field `vault`");
}

/// `explain NAME` for each profile: the source that wins, those it overrides, the
/// kind against the expected mode, the rules, the delivery and the verdict; 65
/// when the variable fails or is missing; never the value.
#[test]
fn explain_tells_the_chain_for_each_profile() {
    let config = format!(
        "{CONFIG}\n[profiles.layered]\nextends = \"prod\"\nsources = [\".env\", \".env.prod\"]\n"
    );
    let run = project()
        .file("secretrun.toml", config.clone())
        .args(["explain", "STRIPE_SECRET_KEY", "--profile", "layered"])
        .run();
    run.success().no_canary();
    for line in [
        "  origin     .env.prod:1 (the last source that defines it wins)\n",
        "  overrides  .env:1\n",
        "  kind       Stripe secret key (live); live keys expected\n",
        "  delivered  in the environment\n",
        "  verdict    ok\n",
    ] {
        run.stdout_has(line);
    }
    let run = project()
        .file("secretrun.toml", config)
        .args(["explain", "DEBUG", "--profile", "dev", "--file", "DEBUG"])
        .run();
    run.success()
        .stdout_has("  rules      one of 2 values\n")
        .stdout_has("  delivered  as a file in memory; the variable holds its path\n");
    project()
        .file(".env.prod", format!("STRIPE_SECRET_KEY={TEST_KEY}\nDEBUG=false\n"))
        .args(["explain", "STRIPE_SECRET_KEY", "--profile", "prod"])
        .run()
        .status(65)
        .no_canary()
        .stdout_has("  error      `STRIPE_SECRET_KEY` holds a test Stripe secret key, but live keys are expected\n");
    project()
        .args(["explain", "MISSING"])
        .run()
        .status(65)
        .stdout_has("no source defines it");
}

/// The project, with staging and prod holding the same `SECRET_KEY` (line 3).
fn sharing_a_secret() -> Test {
    let shared = "SECRET_KEY=django-CANARY-shared-0123456789abcdef\n";
    project()
        .file(
            ".env.staging",
            format!("STRIPE_SECRET_KEY={TEST_KEY}\nDEBUG=false\n{shared}"),
        )
        .file(
            ".env.prod",
            format!("STRIPE_SECRET_KEY={CANARY}\nDEBUG=false\n{shared}"),
        )
}

/// `diff A B`: the live/test split that each profile expects is a note; a secret
/// shared by staging and production is a finding (compared without showing it); a
/// name in one only is a finding; a key the profile's `expect` refuses is one.
/// Exit 1 on findings, 0 without; no value in any output.
#[test]
fn diff_reports_what_differs_between_profiles() {
    let run = sharing_a_secret().args(["diff", "staging", "prod"]).run();
    run.status(1).no_canary().stdout_is(
        "finding  SECRET_KEY: the same value in `staging` and `prod`\n\
         note     STRIPE_SECRET_KEY: test in `staging`, live in `prod`, as their expectations allow\n\
         1 finding\n",
    );
    // Each profile holding the other's kind of key: a finding naming both refusals.
    let test = project()
        .file(
            ".env.staging",
            format!("STRIPE_SECRET_KEY={CANARY}\nDEBUG=false\nONLY_HERE=1\n"),
        )
        .file(
            ".env.prod",
            format!("STRIPE_SECRET_KEY={TEST_KEY}\nDEBUG=false\n"),
        );
    let run = test
        .args(["diff", "prod", "staging", "--format", "json"])
        .run();
    run.status(1).no_canary();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let rows = doc["differences"].as_array().unwrap();
    let said = |name: &str| {
        rows.iter()
            .find(|r| r["name"] == name)
            .map(|r| r["difference"].as_str().unwrap().to_owned())
    };
    assert_eq!(
        said("ONLY_HERE").as_deref(),
        Some("only in `staging`, not in `prod`")
    );
    assert_eq!(
        said("STRIPE_SECRET_KEY").as_deref(),
        Some(
            "test in `prod`, live in `staging`: `prod` expects live keys, not test; `staging` expects test keys, not live"
        )
    );
    // dev and staging: the same test key (a note), DEBUG differs in value only.
    project().args(["diff", "dev", "staging"]).run().success().stdout_is(
        "note     STRIPE_SECRET_KEY: the same value in `dev` and `staging` (a test key)\n0 findings\n",
    );
}

/// The same diff three ways: `diff A B`, `diff --profile A --profile B`, and two
/// sources read under one profile's rules (named by their paths); SARIF for code
/// scanning, each result at the line that defines the variable.
#[test]
fn diff_takes_profiles_as_flags_or_two_sources_and_writes_sarif() {
    let test = sharing_a_secret;
    let positional = test().args(["diff", "staging", "prod"]).run();
    let flags = test()
        .args(["diff", "--profile", "staging", "--profile", "prod"])
        .run();
    flags.status(1).no_canary();
    assert_eq!(flags.stdout, positional.stdout);

    // Sources, under prod's rules (live expected): the test key is now a finding.
    let sources = test()
        .args(["diff", ".env.staging", ".env.prod", "--profile", "prod"])
        .run();
    sources.status(1).no_canary().stdout_is(
        "finding  SECRET_KEY: the same value in `.env.staging` and `.env.prod`\n\
         finding  STRIPE_SECRET_KEY: test in `.env.staging`, live in `.env.prod`: `.env.staging` expects live keys, not test\n\
         2 findings\n",
    );

    let sarif = test()
        .args(["diff", "staging", "prod", "--format", "sarif"])
        .run();
    sarif.status(1).no_canary();
    let doc: serde_json::Value = serde_json::from_str(&sarif.stdout).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["diff/live-and-test", "diff/same-value"]);
    let results = run["results"].as_array().unwrap();
    let shared = results
        .iter()
        .find(|r| r["ruleId"] == "diff/same-value")
        .unwrap();
    assert_eq!(shared["level"], "error");
    let at = &shared["locations"][0]["physicalLocation"];
    assert!(
        at["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with(".env.prod"),
        "{at}"
    );
    assert_eq!(at["region"]["startLine"], 3);
    let split = results
        .iter()
        .find(|r| r["ruleId"] == "diff/live-and-test")
        .unwrap();
    assert_eq!(split["level"], "note");

    // A variable no dotenv line defines (a secret file of `dir:`) is placed at the
    // config's first line: code scanning wants a place for every result.
    let shared = "django-CANARY-shared-0123456789abcdef";
    let sarif = project()
        .file("staging/SECRET_KEY", shared)
        .file("prod/SECRET_KEY", shared)
        .args(["diff", "dir:staging", "dir:prod", "--format", "sarif"])
        .run();
    sarif.status(1).no_canary();
    let doc: serde_json::Value = serde_json::from_str(&sarif.stdout).unwrap();
    let result = &doc["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "diff/same-value", "{doc}");
    let at = &result["locations"][0]["physicalLocation"];
    assert_eq!(at["artifactLocation"]["uri"], "secretrun.toml", "{doc}");
    assert_eq!(at["region"]["startLine"], 1);
}

/// `diff` needs two sides: one, three, `--profile` twice beside two words, or a
/// second `--profile` outside `diff` is a usage error (2); a word that is neither
/// a profile nor reads as a source is an unknown profile (78, naming the known).
#[test]
fn diff_refuses_anything_but_two_sides() {
    for args in [
        &["diff", "staging"][..],
        &["diff", "--profile", "staging"],
        &["diff", "a", "b", "--profile", "dev", "--profile", "prod"],
    ] {
        project().args(args).run().status(2);
    }
    project()
        .args(["--profile", "dev", "--profile", "prod", "--", "true"])
        .run()
        .status(2)
        .stderr_has("`--profile` given more than once");
    project()
        .args(["diff", "staging", "nope"])
        .run()
        .status(78)
        .stderr_has("no profile `nope`: the config defines `base`, `dev`, `prod`, `staging`");
    project()
        .args(["diff", "staging", "prod", "--profile", "dev"])
        .run()
        .status(78)
        .stderr_has("both sides of the diff are profiles");
}
