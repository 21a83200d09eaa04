//! The Python package as users get it: the wheel scripts/build-wheel makes, installed
//! by scripts/test into a fresh virtualenv (`target/wheel-venv`).

use std::process::Command;

use crate::util::{Test, wheel_tool};

#[test]
fn the_wheel_installs_the_real_binary_on_the_venv_path() {
    let binary = wheel_tool("secretrun");
    let head = std::fs::read(&binary).unwrap();
    assert_eq!(
        &head[..4],
        b"\x7fELF",
        "the Rust binary, not a Python wrapper"
    );
    let out = Command::new(&binary).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("secretrun {}\n", env!("CARGO_PKG_VERSION"))
    );
    // Statically linked: no program interpreter, so nothing of the system's libc.
    let ldd = Command::new("ldd").arg(&binary).output().unwrap();
    let said = String::from_utf8_lossy(&ldd.stdout) + String::from_utf8_lossy(&ldd.stderr);
    assert!(said.contains("not a dynamic executable"), "{said}");

    // A launch found on the virtualenv's PATH, as `pip install` users run it.
    let test = Test::new().file("app.env", "GREETING=hello\n");
    let bin_dir = binary.parent().unwrap();
    let out = Command::new("sh")
        .args(["-c", "secretrun --pure --from app.env -- env"])
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
        .current_dir(test.dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "GREETING=hello\n");
}

#[test]
fn python_finds_the_binary() {
    let python = wheel_tool("python");
    let out = Command::new(&python)
        .args(["-m", "secretrun", "--version"])
        .env_clear()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .starts_with("secretrun ")
    );
    let out = Command::new(&python)
        .args([
            "-c",
            "import secretrun; print(secretrun.find_secretrun_bin())",
        ])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim_end(),
        wheel_tool("secretrun").to_str().unwrap()
    );
}

/// The wheel carries the man page and the completions, written from the binary:
/// pip puts them under the virtualenv's `share/`, where `man` finds the page from
/// PATH's `bin/`.
#[test]
fn the_wheel_installs_the_man_page_and_completions() {
    let venv = crate::util::wheel_tool("secretrun")
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    let read = |path: &str| {
        std::fs::read_to_string(venv.join(path))
            .unwrap_or_else(|e| panic!("{path} is not in the wheel's install: {e}"))
    };
    assert!(read("share/man/man1/secretrun.1").contains(".TH secretrun 1"));
    assert!(read("share/bash-completion/completions/secretrun").contains("_secretrun()"));
    assert!(read("share/zsh/site-functions/_secretrun").starts_with("#compdef secretrun"));
    assert!(
        read("share/fish/vendor_completions.d/secretrun.fish").contains("complete -c secretrun")
    );
}
