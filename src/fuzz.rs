//! Test-only: property tests of every parser that reads user or project input, on
//! the inputs [`crate::props`] makes. The property is that nothing panics and, where
//! a parser promises more (a duration fits a deadline, an address shown never holds
//! its password), that holds too. The parsers that are private to their modules
//! (the command line's readers, git's log and names, the terminal forms) have theirs
//! beside them.

use crate::props::run;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn durations() {
    let alphabet = [
        "1",
        "0",
        "9",
        "99999999999",
        "18446744073709551615",
        "9223372036854775807",
        "ms",
        "s",
        "m",
        "h",
        "d",
        "w",
        " ",
        ".",
    ];
    run(
        "duration",
        &alphabet,
        &["10s", "1m30s", "36500d", "500ms", "2w1d"],
        |b| {
            if let Some(d) = crate::duration::parse_duration(&text(b)) {
                assert!(std::time::Instant::now().checked_add(d).is_some());
                let _ = tokio::time::Instant::now() + d;
                let _ = crate::duration::show_duration(d);
            }
        },
    );
}

#[test]
fn dotenv() {
    let alphabet = [
        "A",
        "=",
        "\n",
        "\r",
        "'",
        "\"",
        "\\",
        "$",
        "{",
        "}",
        ":-",
        ":?",
        "+",
        "#",
        " ",
        "export ",
        "${A}",
        "é",
        "\t",
        "`",
        "encrypted:",
    ];
    let samples = [
        "A=1\nB=${A}x\n",
        "export K='v a l'\n# c\nX=\"multi\nline\" # c\n",
        "P=${Q:-${A:-d}}\nR=\"a\\nb\\t\"\n",
        "U=vault://secret/a#b\nV='vault://x'\n",
    ];
    run("dotenv", &alphabet, &samples, |b| {
        let _ =
            crate::source::dotenv::parse(&text(b), &|name| (name == "E").then_some(("e", false)));
    });
}

#[test]
fn references() {
    let alphabet = [
        "vault://",
        "aws-sm://",
        "azure-kv://",
        "gcp-sm://",
        "secret",
        "/",
        "#",
        "?",
        "=",
        "&",
        "prefix=",
        "as=",
        "version=",
        "stage=",
        "%",
        "..",
        "\\",
        "é",
    ];
    let samples = [
        "vault://secret/app#k",
        "aws-sm://prod/stripe?prefix=S_&version=v1",
        "azure-kv://vault/name?as=X",
        "gcp-sm://projects/p/secrets/s/versions/3#k",
    ];
    run("reference", &alphabet, &samples, |b| {
        if let Some(Ok(r)) = crate::source::reference::RemoteRef::parse(&text(b)) {
            let _ = r.to_string();
            let _ = r.fetch_key();
        }
    });
}

#[test]
fn addresses() {
    let alphabet = [
        "http", "https", "://", ":/", "/", "@", ":", "user", "PW", "?", "#", "\\", "[", "]", "::1",
        "8200", "\n", " ",
    ];
    let samples = [
        "http://user:PW@host:8200/x?t=1#f",
        "https://[::1]:8200",
        "http:/user:PW@host",
    ];
    run("address", &alphabet, &samples, |b| {
        let addr = text(b);
        let shown = crate::source::address::shown(&addr);
        let _ = crate::source::address::origin(&addr);
        let _ = crate::source::address::has_extras(&addr);
        let _ = crate::source::address::is_trusted(&addr, Some("https://h, http://127.0.0.1:8200"));
        // A password sits after `user:` and before an `@`: never shown.
        if addr.contains("user:PW@") {
            assert!(
                !shown.contains("PW@"),
                "an address was shown with its password"
            );
        }
    });
}

#[test]
fn config_files() {
    let alphabet = [
        "timeout",
        "=",
        "\"",
        "10s",
        "99999999999d",
        "\n",
        "[vault]",
        "[rotation]",
        "max_age",
        "sources",
        "[",
        "]",
        ",",
        "[vars.A]",
        "pattern",
        "^a$",
        "required",
        "true",
    ];
    let samples = [
        "timeout = \"10s\"\nsources = [\".env\"]\n",
        "[rotation]\nmax_age = \"90d\"\n[vars.A]\nformat = \"port\"\n",
        "[vault]\naddress = \"http://h:1\"\nclient_timeout = \"5s\"\n",
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secretrun.toml");
    run("config", &alphabet, &samples, |b| {
        std::fs::write(&path, b).unwrap();
        let cli = <crate::cli::Cli as clap::Parser>::try_parse_from([
            "secretrun",
            "--config",
            path.to_str().unwrap(),
            "list",
        ])
        .unwrap();
        let _ = crate::config::Config::from_cli(&cli, &crate::parent::Parent::snapshot());
    });
}

#[test]
fn timestamps_names_and_shapes() {
    let alphabet = [
        "2024", "-", "01", "T", ":", "Z", "+", ".", "sk_", "live_", "test_", "pk_", "*", "?", "A",
        "_", "é", "{", "}", "changeme", "xxx",
    ];
    let samples = [
        "2024-02-29T23:59:59.123+05:30",
        "sk_live_abcdefghijklmnopqrstuvwx",
        "STRIPE_*",
    ];
    run("timestamps, names and shapes", &alphabet, &samples, |b| {
        let t = text(b);
        let _ = crate::timestamp::parse(&t);
        let _ = crate::names::is_valid_pattern(&t);
        let _ = crate::names::glob_match(&t, "STRIPE_KEY");
        let _ = crate::names::glob_match("STRIPE_*", &t);
        let _ = crate::detectors::detect(&t);
        let _ = crate::placeholder::is_placeholder(&t);
        let _ = crate::secret::mask(&t);
    });
}

#[test]
fn dotenvx_values() {
    use crate::encrypted::dotenvx::{Keyring, Trials};
    let alphabet = ["encrypted:", "BB", "A", "+", "/", "=", "!", "\n", "AAAA"];
    let samples = [
        "encrypted:BBA0g6Msb2yPRNT7n9vYt7niWeWs1yV4Kr3VdClwbzIww2RmoYN1+aJm9TdId6R7oDS8Bx/eY6kkF+5iXXA7PWHlQGYUasnDqi5Y/KafqLblegjbcanpIrmExL5WKT1ajvHlRE/pjYADW5gzlmF7is19",
    ];
    let key = "3788f682aea62cd8bc76af16bf266e2f1c943f584cced915dfdc4b8645becb58";
    let parent = vec![("DOTENV_PRIVATE_KEY".into(), key.into())];
    let trials = Trials::default();
    let ring = Keyring::new(
        &parent,
        std::path::Path::new("/x/.env.keys"),
        None,
        Vec::new(),
        &trials,
    );
    run("dotenvx", &alphabet, &samples, |b| {
        let _ = ring.open(&text(b), &Trials::default());
    });
    run(
        "dotenvx keys file",
        &["DOTENV_PRIVATE_KEY", "=", key, ",", "\"", "\n", "export "],
        &[key],
        |b| {
            let _ = Keyring::new(
                &[],
                std::path::Path::new("/x/.env.keys"),
                Some(&text(b)),
                Vec::new(),
                &Trials::default(),
            );
        },
    );
}

#[test]
fn age_files() {
    use crate::encrypted::age as sealed;
    use age::secrecy::ExposeSecret;
    let identity = age::x25519::Identity::generate();
    let seal = |armor| {
        let recipient: Box<dyn age::Recipient + Send> = Box::new(identity.to_public());
        sealed::encrypt(b"A=1\n", &[recipient], armor).unwrap()
    };
    let samples = [
        String::from_utf8_lossy(&seal(false)).into_owned(),
        String::from_utf8_lossy(&seal(true)).into_owned(),
    ];
    let samples: Vec<&str> = samples.iter().map(String::as_str).collect();
    let alphabet = [
        "age-encryption.org/v1\n",
        "-> X25519 ",
        "\n",
        "--- ",
        "A",
        "=",
        "-----BEGIN AGE ENCRYPTED FILE-----\n",
    ];
    let key = identity.to_string().expose_secret().to_owned();
    let env = |name: &str| (name == sealed::IDENTITY_VAR).then(|| key.clone());
    let found = sealed::Identities::load(&sealed::IdentitySettings::default(), &env).unwrap();
    let identities = std::rc::Rc::new(found);
    let passphrases = sealed::Passphrases::default();
    run("age", &alphabet, &samples, |b| {
        if sealed::is_age(b) {
            let _ = sealed::decrypt(b, "f", &mut || Ok(identities.clone()), &passphrases);
        }
    });
}
