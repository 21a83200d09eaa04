//! What the Azure and Google stubs share: reading OAuth form bodies, and the proof
//! that a launch without credentials off the cloud contacts nothing at all.

use std::collections::HashMap;

use crate::util::{BIN, PATH, Run, Test, redact};

/// Decodes `application/x-www-form-urlencoded` text.
pub fn parse_form(text: &str) -> HashMap<String, String> {
    let decode = |s: &str| {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(n), decode(v))
        })
        .collect()
}

/// A launch reading `dotenv` with no credentials in the environment (and no
/// metadata service to find): 78 at once, saying `said`, and no connection made,
/// not even an attempt (strace sees no `connect`).
pub fn contacts_nothing(dotenv: &str, said: &str) {
    let test = Test::new().file(".env", dotenv);
    let output = std::process::Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=connect,sendto",
            "-e",
            "signal=none",
        ])
        .arg(BIN)
        .args(["--", "true"])
        .env_clear()
        .env("PATH", PATH)
        .env("HOME", test.dir())
        .current_dir(test.dir())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(78));
    let trace = String::from_utf8_lossy(&output.stderr);
    assert!(trace.contains(said), "{trace}");
    assert!(
        !trace.contains("connect("),
        "a connection was made: {trace}"
    );
}

/// The arguments of a launch that reads `source` as `V` and prints it, then the
/// command's whole environment.
pub fn reads_v(source: &str) -> Vec<String> {
    [
        "--from",
        &format!("{source}?as=V"),
        "--",
        "sh",
        "-c",
        "echo \"$V\"; env",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// A launch of [`reads_v`] worked: `V` was `value`, and no variable whose name
/// holds `hidden` (the store's settings) reached the command.
#[track_caller]
pub fn got_v(run: &Run, value: &str, hidden: &str) {
    run.success();
    assert!(
        run.stdout.starts_with(&format!("{value}\n")),
        "{}",
        redact(&run.stderr)
    );
    assert!(
        !run.stdout.contains(hidden),
        "{hidden} settings reached the command"
    );
}
