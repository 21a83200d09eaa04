//! `secretrun list`: names, origins and masked values only.

use crate::util::{CANARY, Test};

#[test]
fn list_text() {
    Test::new()
        .file(
            ".env",
            format!("# c\nSTRIPE_SECRET_KEY={CANARY}\nSHORT=hunter2\n"),
        )
        .env("HOME", "/home/u")
        .env("TERM", "xterm-256color")
        .env("PORT", "8000")
        .args(["list", "--keep", "PORT"])
        .run()
        .success()
        .no_canary()
        .stdout_is(concat!(
            "NAME               ORIGIN            VALUE\n",
            "HOME               kept from parent  …\n",
            "PATH               kept from parent  …/bin\n",
            "PORT               kept from parent  …\n",
            "SHORT              .env:3            …\n",
            "STRIPE_SECRET_KEY  .env:2            sk_live_…4b5c\n",
            "TERM               kept from parent  …olor\n",
        ));
}

#[test]
fn list_json() {
    let run = Test::new()
        .file(".env", format!("STRIPE_SECRET_KEY={CANARY}\n"))
        .args(["list", "--pure", "--format", "json"])
        .run();
    run.success().no_canary();
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        value,
        serde_json::json!({"variables": [
            {"name": "STRIPE_SECRET_KEY", "origin": ".env:1", "at_rest": "plain",
             "masked": "sk_live_…4b5c", "created": null, "expires": null, "lease": null}
        ]})
    );
}
