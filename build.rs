//! Places the functions a launch runs together at the start of the code, in every
//! optimised build of the binary that links with LLD: `cargo build --release`,
//! `cargo install --path .` and scripts/build-static. scripts/startup.order lists
//! them (written by scripts/startup-order, for both builds' symbol names); a name a
//! build lacks is skipped, so a stale file costs only speed. GNU ld knows no such
//! option, so the file is passed only where LLD is the linker for certain: the
//! toolchain's default on x86_64 Linux (glibc) since Rust 1.90, with no linker
//! chosen by the user.

use std::env;
use std::process::Command;

const ORDER: &str = "scripts/startup.order";

fn main() {
    println!("cargo:rerun-if-changed={ORDER}");
    // Where a user chooses another linker or linker flags from the environment.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS",
        "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let dir = env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let order = format!("{dir}/{ORDER}");
    if std::path::Path::new(&order).exists() && links_with_default_lld() {
        println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={order}");
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

/// Whether this is an optimised build for x86_64 Linux (glibc) by Rust 1.90 or
/// later, with neither a linker nor linker flags of the user's.
fn links_with_default_lld() -> bool {
    let var = |name: &str| env::var(name).unwrap_or_default();
    if var("PROFILE") != "release"
        || var("TARGET") != "x86_64-unknown-linux-gnu"
        || env::var_os("RUSTC_LINKER").is_some()
    {
        return false;
    }
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    if ["linker", "fuse-ld", "link-self-contained"]
        .iter()
        .any(|f| flags.contains(f))
    {
        return false;
    }
    rustc_minor(&var("RUSTC")).is_some_and(|minor| minor >= 90)
}

/// The minor version of a Rust 1.x compiler (`release: 1.95.0` in `rustc -vV`).
fn rustc_minor(rustc: &str) -> Option<u32> {
    let out = Command::new(rustc).arg("-vV").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let version = text.lines().find_map(|l| l.strip_prefix("release: "))?;
    let mut parts = version.split('.');
    (parts.next()? == "1").then_some(())?;
    parts.next()?.parse().ok()
}
