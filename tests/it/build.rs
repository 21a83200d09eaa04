//! What the build itself promises a launch (`.cargo/config.toml`).

use std::process::Command;

use crate::util::BIN;

/// Whether `needle` occurs in the binary under test (its symbol table included: the
/// test builds are not stripped).
fn binary_holds(needle: &str) -> bool {
    let status = Command::new("grep")
        .args(["-q", "-a", "-F", needle, BIN])
        .status()
        .expect("running grep");
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "grep failed on {BIN}: {status}"
    );
    status.code() == Some(0)
}

/// aws-lc (rustls's crypto) is built without its CPU-jitter entropy source
/// (`AWS_LC_SYS_NO_JITTER_ENTROPY`): that source spends about 55 ms of CPU at the
/// first random number of every process, so every https launch paid it. Its
/// collector's functions must not be in the binary; aws-lc's own random generator
/// is, so that the first check cannot pass on a binary without symbols.
#[test]
fn aws_lc_has_no_cpu_jitter_entropy_source() {
    assert!(
        binary_holds("_RAND_bytes"),
        "no aws-lc symbols in {BIN}: the check below would prove nothing"
    );
    assert!(
        !binary_holds("jent_entropy_init"),
        "{BIN} has aws-lc's CPU-jitter entropy source; is AWS_LC_SYS_NO_JITTER_ENTROPY \
         still set in .cargo/config.toml?"
    );
}
