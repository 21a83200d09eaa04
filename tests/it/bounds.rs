//! Bounds for a whole launch: what a repository controls (its config, dotenv files,
//! encrypted files and their keys) costs time and memory that grow at most linearly
//! with it, or stay under a fixed budget, summed over every file a launch reads.
//!
//! Costs are the kernel's count for the one process (`wait4`): peak resident memory,
//! and CPU time compared between an input and one four times its size (linear work
//! gives about 4×, the square 16×), never against a wall clock.

use std::fmt::Write as _;
use std::time::Duration;

use crate::util::{Test, Usage};

const LIMIT: Duration = Duration::from_secs(120);

fn list(test: Test) -> (crate::util::Run, Usage) {
    test.args(["list"]).run_measured(LIMIT)
}

/// CPU time for an input built with `n`, and with `4 * n`, and their ratio.
fn growth(make: impl Fn(usize) -> Test, n: usize) -> f64 {
    let cpu = |n| {
        let (run, usage) = list(make(n));
        run.success();
        usage.cpu.as_secs_f64()
    };
    let (small, large) = (cpu(n), cpu(4 * n));
    large / small.max(1e-3)
}

/// `$NAME` finds its value in constant time: a file of `X=$B` lines costs in
/// proportion to its length (a search back through the lines before made it cost
/// the square: 390 KB took 14 s).
#[test]
fn a_lookup_costs_the_same_however_many_lines_came_before() {
    let make = |n: usize| {
        let mut text = String::from("B=x\n");
        for i in 0..n {
            writeln!(text, "X{i}=$B").unwrap();
        }
        Test::new().file(".env", text)
    };
    let ratio = growth(make, 15_000);
    assert!(ratio < 8.0, "4× the lines cost {ratio:.1}× the CPU");
}

/// Expansion's 4 MiB holds for the launch, not for each file: a config listing the
/// same small file hundreds of times, each under the bound alone, used to make
/// `list` allocate gigabytes.
#[test]
fn expansion_is_bounded_for_the_whole_launch() {
    let mut file = format!("A={}\n", "a".repeat(1024));
    for i in 0..30 {
        writeln!(file, "B{i}=\"{}\"", "${A}".repeat(100)).unwrap();
    }
    let sources: Vec<String> = (0..300).map(|_| "\"x.env\"".to_owned()).collect();
    let config = format!("sources = [{}]\n", sources.join(", "));
    for command in ["list", "check"] {
        let (run, usage) = Test::new()
            .file("x.env", &file)
            .file("secretrun.toml", &config)
            .args([command])
            .run_measured(LIMIT);
        run.status(65)
            .stderr_has("grows the launch's values past 4 MiB in all by expansion");
        let kib = usage.max_rss_kib;
        assert!(kib < 64 * 1024, "`{command}`: peak RSS {kib} KiB");
    }
}

/// The dotenv text a launch parses is bounded for all its files together.
#[test]
fn dotenv_text_is_bounded_for_the_whole_launch() {
    let line = format!("A=\"{}\"\n", "v".repeat(1000));
    let file = line.repeat(1024);
    let sources: Vec<String> = (0..40).map(|_| "\"x.env\"".to_owned()).collect();
    let (run, usage) = Test::new()
        .file("x.env", &file)
        .file(
            "secretrun.toml",
            format!("sources = [{}]\n", sources.join(", ")),
        )
        .args(["list"])
        .run_measured(LIMIT);
    run.status(65)
        .stderr_has("the launch's dotenv files hold more than 16 MiB in all");
    let kib = usage.max_rss_kib;
    assert!(kib < 128 * 1024, "peak RSS {kib} KiB");
}

/// A project's config is read up to 1 MiB, never whole.
#[test]
fn a_huge_config_is_refused_unread() {
    let mut config = String::from("sources = [\n");
    while config.len() <= 2 << 20 {
        config.push_str("  \".env\",\n");
    }
    config.push_str("]\n");
    let (run, usage) = Test::new()
        .file(".env", "A=1\n")
        .file("secretrun.toml", config)
        .args(["list"])
        .run_measured(LIMIT);
    run.status(78).stderr_has("larger than 1 MiB");
    assert!(usage.max_rss_kib < 32 * 1024, "{usage:?}");
}

/// An age header's lines are counted before the age crate parses it (its parse of
/// a header costs the square of the header's length): a file that only looks like
/// age, with a long stanza, is refused at once, armored or not.
#[test]
fn a_long_age_header_is_refused_before_it_is_parsed() {
    let body = format!("{}\n", "A".repeat(64)).repeat(150_000);
    let binary = format!("age-encryption.org/v1\n-> X25519 abc\n{body}--- x\n");
    let armored = {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(binary.as_bytes());
        let lines: Vec<&str> = encoded
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN AGE ENCRYPTED FILE-----\n{}\n-----END AGE ENCRYPTED FILE-----\n",
            lines.join("\n")
        )
    };
    for file in [binary, armored] {
        let (run, usage) = list(Test::new().file(".env", file));
        run.status(65)
            .stderr_has("its header has more than 1024 lines");
        assert!(usage.cpu < Duration::from_secs(5), "{usage:?}");
    }
}

/// dotenvx's sealing (eciesjs on secp256k1), written here so that a test can make
/// as many keys and values as it likes: the ephemeral key from `seed`, a fixed nonce.
fn seal(public: &k256::PublicKey, seed: u64, plain: &str) -> String {
    use aes_gcm::aead::consts::U16;
    use aes_gcm::aead::{Aead, KeyInit};
    use base64::Engine;
    use k256::elliptic_curve::sec1::ToEncodedPoint;
    let mut bytes = [7u8; 32];
    bytes[..8].copy_from_slice(&seed.to_be_bytes());
    let ephemeral = k256::SecretKey::from_slice(&bytes).unwrap();
    let ephemeral_public = ephemeral.public_key().to_encoded_point(false);
    let shared = (public.to_projective() * *ephemeral.to_nonzero_scalar())
        .to_affine()
        .to_encoded_point(false);
    let mut ikm = ephemeral_public.as_bytes().to_vec();
    ikm.extend_from_slice(shared.as_bytes());
    let mut key = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, &ikm)
        .expand(&[], &mut key)
        .unwrap();
    let cipher = aes_gcm::AesGcm::<aes_gcm::aes::Aes256, U16>::new_from_slice(&key).unwrap();
    let nonce = [9u8; 16];
    let sealed = cipher
        .encrypt(aes_gcm::Nonce::<U16>::from_slice(&nonce), plain.as_bytes())
        .unwrap();
    let (body, tag) = sealed.split_at(sealed.len() - 16);
    let mut payload = ephemeral_public.as_bytes().to_vec();
    payload.extend_from_slice(&nonce);
    payload.extend_from_slice(tag);
    payload.extend_from_slice(body);
    format!(
        "encrypted:{}",
        base64::engine::general_purpose::STANDARD.encode(payload)
    )
}

/// A `.env` of `values` values, each sealed to the key that a key-by-key search
/// would try last, and the `.env.keys` holding `keys` keys.
fn many_keys(keys: usize, values: usize) -> Test {
    let secrets: Vec<k256::SecretKey> = (0..keys)
        .map(|i| {
            let mut bytes = [1u8; 32];
            bytes[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
            k256::SecretKey::from_slice(&bytes).unwrap()
        })
        .collect();
    let mut keys_file = String::new();
    for (i, key) in secrets.iter().enumerate() {
        let hex: String = key.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        writeln!(keys_file, "DOTENV_PRIVATE_KEY_{i}={hex}").unwrap();
    }
    let mut env = String::new();
    for v in 0..values {
        // Round-robin from the last key back: the key a value needs is always the one
        // least recently used.
        let key = &secrets[keys - 1 - v % keys];
        writeln!(env, "V{v}={}", seal(&key.public_key(), v as u64, "x")).unwrap();
    }
    Test::new().file(".env", env).file(".env.keys", keys_file)
}

/// The key trials dotenvx values cost are bounded for the launch: values sealed to
/// many different keys no longer cost keys × values multiplications.
#[test]
fn dotenvx_key_trials_are_bounded_for_the_whole_launch() {
    // A file sealed to one of several keys opens, however many values it has.
    let (run, _) = list(many_keys(5, 300));
    run.success();
    // Thousands of keys and hundreds of values, each sealed to another key: refused
    // once the launch's trials are spent, naming the way out.
    let (run, usage) = list(many_keys(2_000, 600));
    run.status(65)
        .stderr_has("declare the file's DOTENV_PUBLIC_KEY");
    assert!(usage.cpu < Duration::from_secs(20), "{usage:?}");
}

/// `scan`'s cost grows with the bytes it reads, not faster, within a file and across
/// files: text dense in identifier-like runs (as minified code and lock files are),
/// with the shapes of keys that must be checked (`AC…`, `SK…`, `sk-…` words) and a
/// near miss of a configured value all through it.
#[test]
fn a_scan_costs_in_proportion_to_the_tree() {
    let line = "aB3x ACcafe SKbeef sk-noise Zq_9 pw-Zq81kPw-y7 x1y2z3w4;\n";
    let make = |files: usize, lines: usize| {
        let mut test = Test::new().file(".env", "DB_PASSWORD=pw-Zq81kPw-x7\n");
        for i in 0..files {
            test = test.file(&format!("src/f{i}.js"), line.repeat(lines));
        }
        test
    };
    let cpu = |files: usize, lines: usize| {
        let (run, usage) = make(files, lines).args(["scan"]).run_measured(LIMIT);
        run.status(0);
        usage.cpu.as_secs_f64()
    };
    // One file four times as long, then four times as many files.
    for ((small, large), what) in [
        ((cpu(1, 40_000), cpu(1, 160_000)), "one file 4× as long"),
        ((cpu(10, 4_000), cpu(40, 4_000)), "4× the files"),
    ] {
        let ratio = large / small.max(1e-3);
        assert!(ratio < 8.0, "{what} cost {ratio:.1}× the CPU");
    }
}
