//! The project found from anywhere inside it: `secretrun.toml` in the current
//! directory or the nearest parent (up to the repository's root), its sources taken
//! from its directory, and `check` saying which config it read; a config another
//! user owns is refused; missing sources say their whole path and who named them;
//! `optional:` sources may be absent.

use std::os::unix::fs::chown;

use crate::util::{CANARY, Test};

const CONFIG: &str = "sources = [\".env\", \"optional:.env.local\"]\n\n\
                      [vars.STRIPE_SECRET_KEY]\nrequired = true\n";

/// A repository: the config and `.env` at its root, a stray `.env` in `app/`.
fn repository() -> Test {
    Test::new()
        .file(".git/HEAD", "ref: refs/heads/main\n")
        .file("secretrun.toml", CONFIG)
        .file(".env", format!("STRIPE_SECRET_KEY={CANARY}\n"))
        .file("app/.env", "STRAY=from-the-subdirectory\n")
}

#[test]
fn the_config_is_found_from_a_subdirectory_and_its_sources_beside_it() {
    let test = repository();
    let root = test.dir().to_str().unwrap().to_owned();
    let shows = "test -n \"$STRIPE_SECRET_KEY\" && echo key; echo \"stray=${STRAY:-no}\"";
    test.run_in("app", &["--pure", "--", "sh", "-c", shows])
        .success()
        .no_canary()
        .stdout_is("key\nstray=no\n");
    let run = test.run_in("app", &["check", "--pure"]);
    run.success()
        .no_canary()
        .stdout_has(&format!("config: {root}/secretrun.toml\n"))
        .stdout_has(&format!("{root}/.env:1"));
    // `optional:` read when it is there.
    let test = repository().file(".env.local", "LOCAL=1\n");
    test.run_in("app", &["--pure", "--", "env"])
        .success()
        .stdout_has("LOCAL=1\n");
}

#[test]
fn the_walk_stops_at_the_repository_root_and_says_where_it_looked() {
    let test = Test::new()
        .file("secretrun.toml", CONFIG)
        .file("repo/.git/HEAD", "ref: refs/heads/main\n")
        .file("repo/app/.env", "A=1\n");
    let root = test.dir().to_str().unwrap().to_owned();
    let run = test.run_in("repo/app", &["check", "--pure"]);
    run.success().stdout_has(&format!(
        "config: none found in {root}/repo/app or its parents up to {root}/repo, the repository's root\n"
    ));
    let run = test.run_in("repo", &["--", "true"]);
    run.status(78)
        .stderr_has(&format!(
            "error: reading dotenv file `{root}/repo/.env`: not found (the default source: no config names another)\n"
        ))
        .stderr_has(&format!("hint: config: none found in {root}/repo, the repository's root. Create `.env`"));
}

#[test]
fn a_config_another_user_owns_above_the_current_directory_is_refused() {
    let test = repository();
    let config = test.dir().join("secretrun.toml");
    chown(&config, Some(4242), Some(4242))
        .expect("the tests run as root (CI does), to give a file to another user");
    test.run_in("app", &["--", "true"])
        .status(78)
        .no_canary()
        .stderr_has("but another user owns it; not read");
    // In the current directory it is the user's own choice, as always.
    test.run_in(".", &["--pure", "--", "true"]).success();
}

#[test]
fn a_missing_source_says_its_whole_path_and_who_named_it() {
    let test = repository();
    let root = test.dir().to_str().unwrap().to_owned();
    test.run_in("app", &["--from", "nope.env", "--", "true"])
        .status(78)
        .stderr_has(&format!(
            "`{root}/app/nope.env`: not found (named by `--from`)\n\
             hint: check the path; `--from optional:PATH` reads a file that may be absent\n"
        ));
    // Optional and absent: nothing from it (so the schema's required key is missing).
    test.run_in("app", &["--from", "optional:nope.env", "--", "true"])
        .status(65)
        .stderr_has("`STRIPE_SECRET_KEY` is required but missing");
    let test = repository().file("secretrun.toml", "sources = [\".env\", \".env.prod\"]\n");
    test.run_in("app", &["--", "true"])
        .status(78)
        .stderr_has(&format!(
            "`{root2}/.env.prod`: not found (named by `sources` in `{root2}/secretrun.toml`)\n",
            root2 = test.dir().to_str().unwrap()
        ));
}
