//! Every failure path with a canary in play: the canary must appear nowhere.

use crate::util::{CANARY, Test};

#[test]
fn canaries_never_reach_stderr_on_failure() {
    let cases: Vec<(String, Vec<&str>, i32)> = vec![
        // A value pasted on a line of its own.
        (format!("A=1\n{CANARY}\n"), vec!["--", "true"], 65),
        (format!("{CANARY}.x=1\n"), vec!["--", "true"], 65),
        (format!("BAD NAME={CANARY}\n"), vec!["--", "true"], 65),
        (format!("A=\"{CANARY}\n"), vec!["--", "true"], 65),
        (format!("A='{CANARY}\n"), vec!["--", "true"], 65),
        (format!("A=\"{CANARY}\" junk\n"), vec!["--", "true"], 65),
        (format!("A=pa$CANARYword{CANARY}\n"), vec!["--", "true"], 65),
        (format!("A=${{{CANARY}\n"), vec!["--", "true"], 65),
        (
            format!("A=\"{CANARY}\\0\"\nB=\"\0{CANARY}\"\n"),
            vec!["--", "true"],
            65,
        ),
        (
            format!("KEY={CANARY}\n"),
            vec!["--require", "OTHER", "--", "true"],
            65,
        ),
        (
            format!("KEY={CANARY}\n"),
            vec!["--", "no-such-command"],
            127,
        ),
        (format!("KEY={CANARY}\n"), vec!["--", "/"], 126),
        (
            format!("KEY={CANARY}\n"),
            vec!["--keep", "A=B", "--", "true"],
            78,
        ),
    ];
    for (i, (text, args, status)) in cases.into_iter().enumerate() {
        let run = Test::new().file(".env", text).args(args).run();
        assert_eq!(run.status, Some(status), "case {i}: status");
        run.no_canary();
        assert!(run.stderr.contains("error: "), "case {i}: no error printed");
    }
}

#[test]
fn canary_in_config_is_not_echoed() {
    let run = Test::new()
        .file(".env", "A=1\n")
        .file("secretrun.toml", format!("pure = \"{CANARY}\"\n"))
        .args(["--", "true"])
        .run();
    run.status(78).no_canary().stderr_has("secretrun.toml:1");
    let run = Test::new()
        .file(".env", "A=1\n")
        .file("secretrun.toml", format!("api_key = \"{CANARY}\"\n"))
        .args(["--", "true"])
        .run();
    run.status(78)
        .no_canary()
        .stderr_has("unknown field `api_key`");
}
