//! The user's own credentials go nowhere the user did not choose: not to a host a
//! project file names, not across a redirect, not into the command through a
//! reference or the config's `keep`, and never into a message through an address.

use serde_json::json;

use crate::bao::{self, ROOT_TOKEN};
use crate::moto::{ACCESS_KEY, SECRET_KEY};
use crate::stub;
use crate::util::{CANARY, Test};

/// A Vault stub that answers every read as OpenBao would for a KV v2 secret, and
/// records what it was sent.
fn vault_stub() -> stub::Stub {
    stub::serve(|request| {
        if let Some(answer) = stub::vault_checks(request, 2) {
            return answer;
        }
        (200, r#"{"data":{"data":{"K":"v"}}}"#.into())
    })
}

#[test]
fn a_reference_cannot_read_the_launchers_own_token() {
    let server = bao::server();
    server.put("app", json!({"A": "1"}));
    for reference in [
        "vault://auth/token/lookup-self#id",
        "vault://auth/token/lookup-self",
        "vault://secret/../auth/token/lookup-self#id",
        "vault://secret/%2e%2e/auth/token/lookup-self#id",
        "vault://cubbyhole/x#k",
        "vault://sys/mounts#secret/",
    ] {
        let run = Test::new()
            .env("VAULT_ADDR", &server.addr)
            .env("VAULT_TOKEN", ROOT_TOKEN)
            .file(".env", format!("LEAKED={reference}\n"))
            .args(["--", "sh", "-c", "echo ran; env"])
            .run();
        run.status(78).no_canary();
        assert!(!run.stdout.contains("ran"), "{reference}: the command ran");
        assert!(
            run.stderr.contains("is not a secret references may read")
                || run.stderr.contains("not a valid source"),
            "{reference}: {}",
            crate::util::redact(&run.stderr)
        );
    }
}

/// An old Vault without the mount lookup (404): a path under `auth/`, `sys/`,
/// `identity/` or `cubbyhole/` is still refused before anything is read there.
/// Mutation: `NOT_SECRETS` emptied (vault/mod.rs).
#[test]
fn without_the_mount_lookup_no_system_path_is_read() {
    let old = stub::serve(|request| {
        if request.path.starts_with("/v1/sys/internal/ui/mounts/") {
            return (404, r#"{"errors":[]}"#.into());
        }
        (
            200,
            r#"{"data":{"id":"CANARY-token-accessor","K":"v"}}"#.into(),
        )
    });
    for reference in [
        "vault://auth/token/lookup-self#id",
        "vault://sys/mounts#K",
        "vault://identity/entity/id#K",
        "vault://cubbyhole/x#K",
    ] {
        let run = Test::new()
            .env("VAULT_ADDR", old.url())
            .env("VAULT_TOKEN", "t")
            .args(["--from", reference, "--", "env"])
            .run();
        run.status(78)
            .no_canary()
            .stderr_has("is not a secret: references never read");
    }
    let read: Vec<String> = old
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert!(
        read.iter()
            .all(|p| p.starts_with("/v1/sys/internal/ui/mounts/")),
        "a system path was read: {read:?}"
    );
    // A KV v1 path on the same server is read.
    Test::new()
        .env("VAULT_ADDR", old.url())
        .env("VAULT_TOKEN", "t")
        .args(["--from", "vault://kv/app#K", "--", "true"])
        .run()
        .success();
}

#[test]
fn a_missing_mount_says_so() {
    let server = bao::server();
    Test::new()
        .env("VAULT_ADDR", &server.addr)
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .args(["--from", "vault://nonexistent-mount/app", "--", "true"])
        .run()
        .status(78)
        .no_canary()
        .stderr_has("no secrets engine mounted at `nonexistent-mount/`");
}

#[test]
fn the_token_does_not_follow_a_redirect_to_another_origin() {
    let elsewhere = vault_stub();
    let target = elsewhere.url();
    let redirecting = stub::serve(move |request| (307, format!("{target}{}", request.path)));
    let run = Test::new()
        .env("VAULT_ADDR", redirecting.url())
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .args(["--from", "vault://secret/app", "--", "true"])
        .run();
    run.status(69).no_canary().stderr_has("another origin");
    assert!(
        elsewhere.requests.lock().unwrap().is_empty(),
        "a request reached the other origin"
    );
    // Within the origin a redirect is followed.
    let same = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let base = same.clone();
    let server = stub::serve(move |request| {
        if let Some(rest) = request.path.strip_prefix("/old") {
            return (307, format!("{}{rest}", base.lock().unwrap()));
        }
        if let Some(answer) = stub::vault_checks(request, 2) {
            return answer;
        }
        (200, r#"{"data":{"data":{"K":"v"}}}"#.into())
    });
    *same.lock().unwrap() = server.url();
    Test::new()
        .env("VAULT_ADDR", format!("{}/old", server.url()))
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .args(["--from", "vault://secret/app", "--", "true"])
        .run()
        .success();
}

#[test]
fn a_project_file_cannot_send_the_users_token_elsewhere() {
    let attacker = vault_stub();
    let config = format!("[vault]\naddress = \"{}\"\n", attacker.url());
    for token_in_env in [false, true] {
        for subcommand in [&["list"][..], &["check"][..], &["--", "true"][..]] {
            let test = Test::new();
            let home = test.dir().to_path_buf();
            let mut test = test
                .file(".vault-token", format!("{ROOT_TOKEN}\n"))
                .file("secretrun.toml", &config)
                .file(".env", "DB=vault://secret/db#password\n")
                .env("HOME", &home)
                .args(subcommand);
            if token_in_env {
                test = test.env("VAULT_TOKEN", ROOT_TOKEN);
            }
            test.run()
                .status(78)
                .no_canary()
                .stderr_has("SECRETRUN_TRUSTED_ORIGINS=http://127.0.0.1:");
        }
        assert!(
            attacker.requests.lock().unwrap().is_empty(),
            "a request reached the address the project file named"
        );
    }
    // The user trusts the team's Vault: the same file works.
    let team = vault_stub();
    let config = format!("[vault]\naddress = \"{}\"\n", team.url());
    Test::new()
        .file("secretrun.toml", config)
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .env("SECRETRUN_TRUSTED_ORIGINS", team.url())
        .args(["--from", "vault://secret/app", "--", "true"])
        .run()
        .success();
}

#[test]
fn a_project_file_cannot_send_aws_credentials_elsewhere() {
    let attacker = stub::serve(|_| (200, "{}".into()));
    let refused = |test: Test, config: &str| {
        let config = format!(
            "[aws]\n{config}endpoint = \"{}\"\nregion = \"us-east-1\"\n",
            attacker.url()
        );
        test.file("secretrun.toml", config)
            .args(["--from", "aws-sm://prod/app", "--", "true"])
            .run()
            .status(78)
            .no_canary()
            .stderr_has("the config file sets the AWS `endpoint`");
        assert!(attacker.requests.lock().unwrap().is_empty());
    };
    refused(
        Test::new()
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_SESSION_TOKEN", "session-CANARY-token"),
        "",
    );
    // The profile a project's file picks is one of the user's: its keys go to
    // AWS's endpoints (or the user's), never to one the file names.
    refused(
        Test::new().file(
            ".aws/credentials",
            "[team]\naws_access_key_id = AKIATEAM000000000000\naws_secret_access_key = team-CANARY-secret\n",
        ),
        "profile = \"team\"\n",
    );
}

#[test]
fn the_configs_keep_cannot_pass_the_users_credentials() {
    for name in [
        "VAULT_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "SECRETRUN_TRUSTED_ORIGINS",
    ] {
        let run = Test::new()
            .file(".env", "A=1\n")
            .file("secretrun.toml", format!("keep = [\"{name}\"]\n"))
            .env(name, "value-CANARY")
            .args(["--", "env"])
            .run();
        run.status(78)
            .no_canary()
            .stderr_has(&format!("names `{name}`"));
    }
    // On the command line it is the user's choice.
    let run = Test::new()
        .file(".env", "A=1\n")
        .env("VAULT_TOKEN", "value-kept")
        .args(["--keep", "VAULT_TOKEN", "--", "env", "-0"])
        .run();
    run.success();
    assert_eq!(run.env0()["VAULT_TOKEN"], "value-kept");
}

#[test]
fn addresses_are_shown_without_credentials() {
    let closed = stub::closed_port();
    // Vault refuses such an address outright, without echoing it.
    for addr in [
        format!("http://admin:pw-CANARY@127.0.0.1:{closed}"),
        format!("http://127.0.0.1:{closed}/?token=tok-CANARY"),
    ] {
        Test::new()
            .env("VAULT_ADDR", &addr)
            .env("VAULT_TOKEN", "t")
            .args(["--from", "vault://secret/app", "--", "true"])
            .run()
            .status(78)
            .no_canary()
            .stderr_has(&format!("`http://127.0.0.1:{closed}"));
    }
    // An AWS endpoint that cannot be reached: the message names it without them.
    let run = Test::new()
        .env(
            "AWS_ENDPOINT_URL",
            format!("http://user:pw-CANARY@127.0.0.1:{closed}/?token=tok-CANARY"),
        )
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .args(["--timeout", "3s", "--from", "aws-sm://x", "--", "true"])
        .run();
    run.no_canary();
    assert_ne!(run.status, Some(0));
}

#[test]
fn a_dotenv_file_cannot_point_the_stores_elsewhere() {
    // A project's .env that sets the stores' addresses: fetching reads only the
    // user's environment, so neither stub is ever asked.
    let vault = vault_stub();
    let aws = stub::serve(|_| (200, "{}".into()));
    let text = format!(
        "VAULT_ADDR={}\nAWS_ENDPOINT_URL={}\nDB=vault://secret/db#K\nAPI=aws-sm://prod/api\n",
        vault.url(),
        aws.url()
    );
    let closed = stub::closed_port();
    let run = Test::new()
        .file(".env", text)
        .env("VAULT_ADDR", format!("http://127.0.0.1:{closed}"))
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{closed}"))
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .args(["--timeout", "3s", "--", "true"])
        .run();
    run.status(69).no_canary();
    assert!(vault.requests.lock().unwrap().is_empty());
    assert!(aws.requests.lock().unwrap().is_empty());
}

#[test]
fn an_oversized_answer_is_not_read_to_the_end() {
    let huge = stub::serve(|request| {
        if let Some(answer) = stub::vault_checks(request, 2) {
            return answer;
        }
        let filler = "x".repeat(17 << 20);
        (200, format!(r#"{{"data":{{"data":{{"K":"{filler}"}}}}}}"#))
    });
    Test::new()
        .env("VAULT_ADDR", huge.url())
        .env("VAULT_TOKEN", "t")
        .args(["--from", "vault://secret/app", "--", "true"])
        .run()
        .status(69)
        .stderr_has("more than 16 MiB");
}

#[test]
fn a_trusted_origin_cannot_be_spoofed_in_the_address() {
    // The user trusts their endpoint; a project file names the attacker's with the
    // trusted host where a reader (or a naive parser) would take it for the host.
    let attacker = stub::serve(|_| (200, "{}".into()));
    // The same scheme as the stub, so that only the host decides.
    let trusted = "http://vault.team.example";
    for endpoint in [
        format!("{}\\\\@vault.team.example", attacker.url()),
        format!("{}@vault.team.example", attacker.url()),
    ] {
        Test::new()
            .file(
                "secretrun.toml",
                format!("[aws]\nendpoint = \"{endpoint}\"\nregion = \"us-east-1\"\n"),
            )
            .env("SECRETRUN_TRUSTED_ORIGINS", trusted)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .args(["--from", "aws-sm://prod/app", "--", "true"])
            .run()
            .status(78)
            .no_canary();
    }
    assert!(attacker.requests.lock().unwrap().is_empty());
}

/// A dotenv file's `$NAME` sees only the file's own earlier lines, never
/// secretrun's environment: a project cannot copy the user's token into its
/// command. An undefined name is an error; a default is taken as written.
#[test]
fn dotenv_expansion_never_reads_secretruns_environment() {
    for reference in ["${VAULT_TOKEN}", "$AWS_SECRET_ACCESS_KEY", "${HOME}"] {
        Test::new()
            .file(".env", format!("X={reference}\n"))
            .env("VAULT_TOKEN", CANARY)
            .env("AWS_SECRET_ACCESS_KEY", CANARY)
            .args(["--", "echo", "RAN"])
            .run()
            .status(65)
            .stdout_is("")
            .no_canary();
    }
    let run = Test::new()
        .file(".env", "X=${VAULT_TOKEN:-none}\n")
        .env("VAULT_TOKEN", CANARY)
        .args(["--pure", "--", "env", "-0"])
        .run();
    run.success().no_canary();
    assert_eq!(run.env0()["X"], "none");
}
