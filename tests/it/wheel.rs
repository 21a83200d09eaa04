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
