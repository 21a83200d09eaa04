//! `secretrun init`: the example app's config is what init writes for it (its
//! profiles added by hand); a tree with a live Stripe key, a PEM and a database URL
//! gets formats, `required` where the code reads a name, a profile per environment's
//! file; `.env.example` holds no value, `.gitignore` gains the dotenv files; a
//! second init refuses, `--force` replaces, `--dry-run` writes nothing.

use std::path::PathBuf;

use crate::util::{CANARY, Run, Test};

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/django")
}

/// The example app's dotenv file and code, without its config.
fn example_copy() -> Test {
    let mut test = Test::new();
    for file in [
        ".env",
        "manage.py",
        "marketplace/__init__.py",
        "marketplace/settings.py",
        "marketplace/urls.py",
        "marketplace/views.py",
        "marketplace/wsgi.py",
    ] {
        test = test.file(file, std::fs::read(example().join(file)).unwrap());
    }
    test
}

fn read(test: &Test, name: &str) -> String {
    std::fs::read_to_string(test.dir().join(name)).unwrap_or_default()
}

/// `check --pure` with the written config.
fn run_check(test: &Test, args: &[&str]) -> Run {
    test.run_in(".", &[&["check", "--pure"], args].concat())
}

/// Up to the profiles, which the example adds by hand.
fn schema_part(config: &str) -> &str {
    &config[..config.find("# Profiles").unwrap_or(config.len())]
}

/// No line of a `.env.example` holds a value.
fn no_values(example: &str) {
    for line in example.lines().filter(|l| !l.starts_with('#')) {
        assert!(line.ends_with('='), "a value in .env.example: {line:?}");
    }
}

#[test]
fn the_example_apps_config_is_what_init_writes_for_it() {
    let test = example_copy();
    let done = test.run_in(".", &["init"]);
    done.success()
        .stdout_has("wrote secretrun.toml (6 variables)\n")
        .stdout_has("added .env to .gitignore\n");
    let written = read(&test, "secretrun.toml");
    let by_hand = std::fs::read_to_string(example().join("secretrun.toml")).unwrap();
    assert_eq!(schema_part(&written), schema_part(&by_hand));
    let dotenv = read(&test, ".env");
    // The values long enough to be recognised (not `true`).
    for line in dotenv.lines().filter_map(|l| l.split_once('=')) {
        if line.1.len() >= 8 {
            assert!(!done.stdout.contains(line.1), "a value was printed");
        }
    }
    no_values(&read(&test, ".env.example"));
    assert!(read(&test, ".gitignore").contains("\n/.env\n"));
    // What it wrote validates what is there.
    run_check(&test, &[]).success();
}

#[test]
fn a_tree_with_a_live_key_a_pem_and_a_database_url_gets_a_schema_and_profiles() {
    let pem =
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";
    let test = Test::new()
        .file(
            ".env",
            "STRIPE_SECRET_KEY=sk_test_0123456789abcdefghijklmn\nDATABASE_URL=postgres://app:s3cure-Pw-0123@localhost/app\nPORT=8000\n",
        )
        .file(
            ".env.production",
            format!("STRIPE_SECRET_KEY={CANARY}\nSIGNING_KEY=\"{pem}\"\n"),
        )
        .file(".env.example", "# kept\n")
        .file("app/billing.py", "stripe.api_key = os.environ['STRIPE_SECRET_KEY']\n")
        .file("app/db.js", "const url = process.env.DATABASE_URL;\n");
    let done = test.run_in(".", &["init"]);
    done.success().no_canary();
    assert!(!done.stdout.contains("MIIEvQ"), "the PEM was printed");
    let config = read(&test, "secretrun.toml");
    for part in [
        "sources = [\".env\"]\n",
        "[vars.STRIPE_SECRET_KEY]\nrequired = true\nformat = \"stripe-secret-key\"\n",
        "[vars.DATABASE_URL]\nrequired = true\nformat = \"database-url\"\n",
        "[vars.PORT]\nformat = \"port\"\n",
        "[vars.SIGNING_KEY]\nformat = \"pem-private-key\"\n",
        "[profiles.prod]\nsources = [\".env\", \".env.production\"]\nexpect = \"live\"",
    ] {
        assert!(config.contains(part), "{part:?} missing from:\n{config}");
    }
    assert!(!config.contains(CANARY) && !config.contains("MIIEvQ"));
    // The example that was there is kept; .gitignore gains both files.
    assert_eq!(read(&test, ".env.example"), "# kept\n");
    done.stdout_has("kept .env.example (it exists; --force replaces it)");
    let ignore = read(&test, ".gitignore");
    assert!(
        ignore.contains("/.env\n") && ignore.contains("/.env.production\n"),
        "{ignore}"
    );
    // The profile it wrote holds: prod's live key is what prod expects.
    run_check(&test, &["--profile", "prod"])
        .success()
        .no_canary();

    // A second init refuses and changes nothing; --force replaces; --dry-run writes
    // nothing.
    std::fs::write(test.dir().join("secretrun.toml"), "# mine\n").unwrap();
    let again = |args: &[&str]| test.run_in(".", &[&["init"], args].concat());
    again(&[])
        .status(78)
        .stderr_has("secretrun.toml exists here; `secretrun init --force` replaces it");
    assert_eq!(read(&test, "secretrun.toml"), "# mine\n");
    again(&["--dry-run"])
        .success()
        .stdout_has("would keep secretrun.toml (it exists; --force replaces it)");
    again(&["--dry-run", "--force"])
        .success()
        .stdout_has("would write secretrun.toml (4 variables)");
    assert_eq!(read(&test, "secretrun.toml"), "# mine\n");
    again(&["--force"]).success();
    assert_eq!(read(&test, "secretrun.toml"), config);
    no_values(&read(&test, ".env.example"));
    // Already ignored: .gitignore is left alone.
    assert_eq!(read(&test, ".gitignore"), ignore);
}

/// `.gitignore` patterns already covering the files: nothing added.
#[test]
fn dotenv_files_already_ignored_are_left_alone() {
    let test = Test::new()
        .file(".env", "A=1\n")
        .file(".env.local", "B=2\n")
        .file(".gitignore", ".env*\n");
    test.run_in(".", &["init"]).success();
    assert_eq!(read(&test, ".gitignore"), ".env*\n");
    assert!(
        read(&test, "secretrun.toml").contains("sources = [\".env\", \"optional:.env.local\"]")
    );
}

/// A repository's links cannot make init write elsewhere: a `secretrun.toml` that
/// links to a file outside is replaced by `--force`, not written through; a
/// `.gitignore` that is a link stops init before it writes anything.
#[test]
fn links_a_repository_planted_are_never_written_through() {
    let outside = Test::new().file("victim", "precious\n");
    let victim = outside.dir().join("victim");
    let test = Test::new().file(".env", "A=1\n");
    std::os::unix::fs::symlink(&victim, test.dir().join("secretrun.toml")).unwrap();
    std::os::unix::fs::symlink(&victim, test.dir().join(".env.example")).unwrap();
    test.run_in(".", &["init", "--force"]).success();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let config = test.dir().join("secretrun.toml");
    assert!(
        !config.symlink_metadata().unwrap().is_symlink(),
        "the link was kept"
    );
    assert!(read(&test, "secretrun.toml").contains("[vars.A]"));

    let test = Test::new().file(".env", "A=1\n");
    std::os::unix::fs::symlink(&victim, test.dir().join(".gitignore")).unwrap();
    test.run_in(".", &["init"])
        .status(78)
        .stderr_has(".gitignore is not a regular file (a link?): init writes nothing through it");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(
        !test.dir().join("secretrun.toml").exists(),
        "a file was written"
    );
}
