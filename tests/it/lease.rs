//! Dynamic secrets with leases, against a real OpenBao database secrets engine and a
//! real PostgreSQL: the command connects as the user the lease made; the lease is
//! renewed, ended as `--on-change` says, and revoked when the command ends, so the
//! user is gone from `pg_roles`.

use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::bao::{self, Bao, ROOT_TOKEN};
use crate::postgres::{self, Postgres};
use crate::trace::{FILE_CALLS, assert_nothing_written, strace};
use crate::util::{BIN, Lines, PATH, Terminal, Test, redact};

/// A database engine mounted for one test, with one role.
struct Engine {
    bao: &'static Bao,
    pg: &'static Postgres,
    mount: String,
    role: String,
}

/// Mounts a database engine at a fresh path, pointed at the shared PostgreSQL, with
/// a role whose users live `ttl` and at most `max_ttl`.
fn engine(ttl: &str, max_ttl: &str) -> Engine {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, Ordering::SeqCst);
    let bao = bao::server();
    let pg = postgres::server();
    let mount = format!("db{n}");
    // The role's name shows in every user's name (`v-token-lr3-…`).
    let role = format!("lr{n}");
    bao.api(
        "POST",
        &format!("sys/mounts/{mount}"),
        Some(json!({"type": "database"})),
    );
    let url = format!(
        "postgresql://{{{{username}}}}@127.0.0.1:{}/postgres?sslmode=disable",
        pg.port
    );
    bao.api(
        "POST",
        &format!("{mount}/config/pg"),
        Some(json!({
            "plugin_name": "postgresql-database-plugin",
            "connection_url": url,
            "username": "admin",
            "allowed_roles": "*",
        })),
    );
    let create = "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' \
                  VALID UNTIL '{{expiration}}';";
    bao.api(
        "POST",
        &format!("{mount}/roles/{role}"),
        Some(json!({
            "db_name": "pg",
            "creation_statements": [create],
            "default_ttl": ttl,
            "max_ttl": max_ttl,
        })),
    );
    Engine {
        bao,
        pg,
        mount,
        role,
    }
}

impl Engine {
    /// The reference of the role's credentials.
    fn creds(&self) -> String {
        format!("vault://{}/creds/{}", self.mount, self.role)
    }

    /// A dotenv file taking both fields of one reference.
    fn dotenv(&self) -> String {
        format!("DB_USER={0}#username\nDB_PASS={0}#password\n", self.creds())
    }

    /// The users the role has now.
    fn users(&self) -> Vec<String> {
        self.pg.users_like(&format!("-{}-", self.role))
    }

    /// The ids of the role's leases Vault holds now.
    fn leases(&self) -> Vec<String> {
        let url = format!(
            "{}/v1/sys/leases/lookup/{}/creds/{}/?list=true",
            self.bao.addr, self.mount, self.role
        );
        let (status, answer) =
            crate::stub::http_json("GET", &url, &[("X-Vault-Token", ROOT_TOKEN)], None);
        if status == 404 {
            return Vec::new();
        }
        assert_eq!(status, 200, "{answer}");
        answer["data"]["keys"]
            .as_array()
            .map(|keys| {
                keys.iter()
                    .filter_map(Value::as_str)
                    .map(|k| format!("{}/creds/{}/{k}", self.mount, self.role))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// When a lease expires, as Vault says (RFC 3339).
    fn expire_time(&self, lease: &str) -> String {
        let answer = self.bao.api(
            "PUT",
            "sys/leases/lookup",
            Some(json!({ "lease_id": lease })),
        );
        answer["data"]["expire_time"].as_str().unwrap().to_owned()
    }

    /// Revokes every lease of the role, as an operator would (the test's cleanup,
    /// or the revocation a test makes secretrun find).
    fn revoke_all(&self) {
        self.bao.api(
            "PUT",
            &format!(
                "sys/leases/revoke-prefix/{}/creds/{}",
                self.mount, self.role
            ),
            None,
        );
    }

    /// A launch with the root token and the dotenv file.
    fn test(&self) -> Test {
        Test::new()
            .env("VAULT_ADDR", &self.bao.addr)
            .env("VAULT_TOKEN", ROOT_TOKEN)
            .file(".env", self.dotenv())
    }

    /// A shell command that connects as the leased user and prints who it is.
    fn connect(&self) -> String {
        format!(
            "PGPASSWORD=\"$DB_PASS\" psql -h 127.0.0.1 -p {} -U \"$DB_USER\" -d postgres \
             -X -A -t -c 'select current_user'",
            self.pg.port
        )
    }
}

impl Engine {
    /// Starts secretrun with a command that connects, prints its user, then sleeps;
    /// the test directory (kept while it runs) and the run.
    fn start_connected(&self) -> (Test, Started) {
        let script = format!("{}; exec sleep 60", self.connect());
        let test = self.test();
        let started = spawn(&test, &["--", "sh", "-c", &script]);
        (test, started)
    }
}

/// A started secretrun, its output read line by line.
struct Started {
    child: Child,
    stdout: Lines,
    stderr: std::process::ChildStderr,
}

fn spawn(test: &Test, args: &[&str]) -> Started {
    let mut command = test.command();
    command.args(args);
    let mut child = command.spawn().unwrap();
    let stdout = Lines::new(child.stdout.take().unwrap());
    let stderr = child.stderr.take().unwrap();
    Started {
        child,
        stdout,
        stderr,
    }
}

impl Started {
    /// The next line of the command's output.
    #[track_caller]
    fn line(&self, limit: Duration) -> String {
        self.stdout
            .next_within(limit)
            .expect("the output ended early")
    }

    /// Sends TERM to secretrun; its exit code and stderr.
    fn terminate(self) -> (Option<i32>, String) {
        self.signal(libc::SIGTERM)
    }

    /// Sends `sig` to secretrun; its exit code and stderr.
    fn signal(mut self, sig: i32) -> (Option<i32>, String) {
        // SAFETY: a plain syscall to our own child.
        unsafe { libc::kill(self.child.id() as i32, sig) };
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut self.stderr, &mut stderr).unwrap();
        (status.code(), stderr)
    }
}

/// Waits until `check` holds, for at most `limit`.
#[track_caller]
fn eventually(limit: Duration, what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn both_fields_come_from_one_lease_the_command_connects_and_the_user_is_revoked_at_exit() {
    let db = engine("1h", "2h");
    let script = format!(
        "{}; psql -h 127.0.0.1 -p {} -U admin -d postgres -X -A -t -c \
         \"select count(*) from pg_roles where strpos(rolname, '-{}-') > 0\"; \
         printf '%s\\n' \"$DB_PASS\"",
        db.connect(),
        db.pg.port,
        db.role
    );
    let run = db.test().args(["--", "sh", "-c", &script]).run();
    run.success().no_canary();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", redact(&run.stdout));
    assert!(
        lines[0].starts_with(&format!("v-token-{}-", db.role)),
        "connected as {}",
        lines[0]
    );
    assert_eq!(lines[1], "1", "one lease, one user, for both fields");
    let password = lines[2];
    assert!(password.len() >= 16, "a password came");
    assert!(
        !run.stderr.contains(password),
        "the password is in a message"
    );
    assert_eq!(
        db.users(),
        Vec::<String>::new(),
        "the user outlived the command"
    );
    assert_eq!(
        db.leases(),
        Vec::<String>::new(),
        "the lease outlived the command"
    );
}

#[test]
fn the_lease_is_renewed_and_the_command_works_past_its_first_ttl() {
    let db = engine("3s", "1h");
    let script = format!("{}; sleep 7; {}", db.connect(), db.connect());
    let test = db.test();
    let started = spawn(&test, &["--", "sh", "-c", &script]);
    let first = started.line(Duration::from_secs(20));
    assert!(first.starts_with("v-token-"), "{first}");
    let lease = db.leases().pop().expect("a lease while the command runs");
    let before = db.expire_time(&lease);
    eventually(Duration::from_secs(6), "the lease's expiry moves", || {
        db.expire_time(&lease) != before
    });
    // Past the first TTL (3 s) the same user still connects: Vault would have
    // dropped it at expiry, had the lease not been renewed.
    let second = started.line(Duration::from_secs(15));
    assert_eq!(second, first);
    let (status, stderr) = started.terminate();
    assert!(!stderr.contains(ROOT_TOKEN));
    assert!(
        matches!(status, Some(0) | Some(143)),
        "{status:?}: {}",
        redact(&stderr)
    );
    eventually(Duration::from_secs(5), "the user is revoked", || {
        db.users().is_empty()
    });
}

#[test]
fn a_signal_to_secretrun_stops_the_command_and_revokes_the_lease() {
    let db = engine("1h", "2h");
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT] {
        let (_dir, started) = db.start_connected();
        let user = started.line(Duration::from_secs(20));
        assert_eq!(db.users(), vec![user.clone()]);
        let (status, stderr) = started.signal(sig);
        assert_eq!(status, Some(128 + sig), "signal {sig}: {}", redact(&stderr));
        // Revoked before secretrun exited: no waiting here.
        assert_eq!(
            db.users(),
            Vec::<String>::new(),
            "{user} outlived secretrun (signal {sig})"
        );
        assert!(db.leases().is_empty());
    }
}

/// A command that cannot be started (not found: 127) leaves no lease behind: the
/// credentials made for it are revoked on the way out.
#[test]
fn a_command_not_found_leaves_no_lease() {
    let db = engine("1h", "2h");
    db.test()
        .args(["--", "no-such-command-here"])
        .run()
        .status(127)
        .no_canary()
        .stderr_has("was not found on PATH");
    assert_eq!(
        db.users(),
        Vec::<String>::new(),
        "a user outlived the launch"
    );
    assert!(db.leases().is_empty(), "a lease outlived the launch");
}

#[test]
fn at_its_maximum_ttl_the_command_is_restarted_with_a_new_user() {
    let db = engine("2s", "6s");
    let (_dir, started) = db.start_connected();
    let first = started.line(Duration::from_secs(20));
    let second = started.line(Duration::from_secs(20));
    assert!(second.starts_with("v-token-"), "{second}");
    assert_ne!(first, second, "the restart has a user of its own");
    assert!(
        !db.users().contains(&first),
        "the first user was not revoked at the restart"
    );
    let (_, stderr) = started.terminate();
    // Near the maximum TTL, Vault grants less than asked (or, a moment later,
    // refuses): either way the command was restarted, not left to run on.
    assert!(
        stderr.contains("restarting the command with fresh credentials"),
        "{}",
        redact(&stderr)
    );
    assert_eq!(db.users(), Vec::<String>::new());
}

#[test]
fn a_revoked_lease_is_not_run_on_the_command_restarts_with_fresh_credentials() {
    let db = engine("3s", "1h");
    let (_dir, started) = db.start_connected();
    let first = started.line(Duration::from_secs(20));
    // An operator revokes it: the next renewal is refused.
    db.revoke_all();
    let second = started.line(Duration::from_secs(15));
    assert_ne!(first, second);
    assert!(second.starts_with("v-token-"), "{second}");
    let (_, stderr) = started.terminate();
    assert!(
        stderr.contains("could not be renewed"),
        "{}",
        redact(&stderr)
    );
    assert_eq!(db.users(), Vec::<String>::new());
}

#[test]
fn on_change_signal_warns_the_command_then_stops_it_when_the_lease_expires() {
    let db = engine("2s", "5s");
    let script = format!(
        "trap 'echo got-usr1' USR1; {}; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done",
        db.connect()
    );
    let run = db
        .test()
        .args(["--on-change", "signal", "--on-change-signal", "USR1"])
        .args(["--", "sh", "-c", &script])
        .run();
    run.status(69).no_canary();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", redact(&run.stdout));
    assert_eq!(lines[1], "got-usr1");
    assert!(
        run.stderr.contains("the command was stopped"),
        "{}",
        redact(&run.stderr)
    );
    assert_eq!(db.users(), Vec::<String>::new());
}

#[test]
fn exec_with_a_lease_is_explicit_and_says_the_lease_is_left_to_expire() {
    let db = engine("1h", "2h");
    // `--exec`: the command replaces secretrun, and the lease stays.
    let run = db
        .test()
        .args(["--exec", "--", "sh", "-c", "echo ran"])
        .run();
    run.success().no_canary();
    assert_eq!(run.stdout, "ran\n");
    assert!(
        run.stderr.contains("nothing renews or revokes the lease"),
        "{}",
        redact(&run.stderr)
    );
    assert_eq!(db.users().len(), 1, "--exec leaves the lease to expire");
    db.revoke_all();
    // `--watch` would read new credentials every interval: refused, nothing run,
    // and the lease read is revoked on the way out.
    let run = db
        .test()
        .args(["--watch", "1s", "--", "sh", "-c", "echo ran"])
        .run();
    run.status(78).no_canary();
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("--watch"), "{}", redact(&run.stderr));
    assert_eq!(
        db.users(),
        Vec::<String>::new(),
        "a refused launch left a user"
    );
    // A launch that fails validation runs nothing and leaves no user either.
    let run = db
        .test()
        .args(["--require", "NOT_THERE", "--", "sh", "-c", "echo ran"])
        .run();
    run.status(65).no_canary();
    assert_eq!(
        db.users(),
        Vec::<String>::new(),
        "a failed launch left a user"
    );
}

#[test]
fn check_and_list_make_no_credentials_unless_asked() {
    let db = engine("1h", "2h");
    let test = db.test();
    let run = test.command().args(["check"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{}", redact(&stdout));
    assert!(stdout.contains("not read (dynamic)"), "{stdout}");
    assert!(stdout.contains("--read-dynamic"), "{stdout}");
    let run = test.command().args(["list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&run.stdout).contains("(not read)"));
    assert!(db.leases().is_empty(), "check or list made credentials");
    assert!(db.users().is_empty(), "check or list made a user");

    let run = test
        .command()
        .args(["check", "--read-dynamic", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&run.stdout).unwrap();
    let vars = doc["variables"].as_array().unwrap();
    let user = vars.iter().find(|v| v["name"] == "DB_USER").unwrap();
    assert_eq!(
        user["lease"],
        json!({"read": true, "seconds": 3600, "renewable": true})
    );
    let run = test
        .command()
        .args(["list", "--read-dynamic"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("1h renewable"), "{stdout}");
    assert!(
        db.users().is_empty(),
        "what check and list read was not revoked"
    );
    assert!(db.leases().is_empty());
}

#[test]
fn only_a_database_engines_credentials_are_read() {
    let db = engine("1h", "2h");
    for path in [
        "config/pg",
        "roles/{role}",
        "creds/{role}/x",
        "rotate-root/pg",
    ] {
        let reference = format!("vault://{}/{}", db.mount, path.replace("{role}", &db.role));
        let run = Test::new()
            .env("VAULT_ADDR", &db.bao.addr)
            .env("VAULT_TOKEN", ROOT_TOKEN)
            .file(".env", format!("X={reference}\n"))
            .args(["--", "sh", "-c", "echo ran"])
            .run();
        run.status(78).no_canary();
        assert!(run.stdout.is_empty(), "{reference}: the command ran");
        assert!(
            run.stderr.contains("references read only `creds/ROLE`"),
            "{reference}: {}",
            redact(&run.stderr)
        );
    }
}

#[test]
fn a_leased_launch_writes_nothing_to_disk() {
    let db = engine("1h", "2h");
    let test = db.test();
    let env = [
        ("VAULT_ADDR", db.bao.addr.clone()),
        ("VAULT_TOKEN", ROOT_TOKEN.to_owned()),
    ];
    let trace = strace(&test, FILE_CALLS, &["--", "true"], &env);
    assert_nothing_written("a leased launch", &trace);
    assert!(db.users().is_empty());
}

/// On a real terminal: an interactive psql as the leased user, ended with `\q`,
/// and a command ended by Ctrl-C (which goes to the command's group, not to
/// secretrun): both times the user is gone when secretrun exits.
#[test]
fn on_a_terminal_the_lease_ends_with_the_command() {
    let db = engine("1h", "2h");
    let test = db.test();
    let home = test.dir().to_string_lossy().into_owned();
    let env = [
        ("PATH", PATH),
        ("HOME", home.as_str()),
        ("TERM", "xterm"),
        ("VAULT_ADDR", db.bao.addr.as_str()),
        ("VAULT_TOKEN", ROOT_TOKEN),
    ];
    let psql = format!(
        "PGPASSWORD=\"$DB_PASS\" exec psql -h 127.0.0.1 -p {} -U \"$DB_USER\" -d postgres -X",
        db.pg.port
    );
    let mut term = Terminal::spawn(&[BIN, "--", "sh", "-c", &psql], test.dir(), &env);
    term.expect("postgres=>", Duration::from_secs(20));
    term.send("select 'as-' || current_user;\n");
    term.expect(&format!("as-v-token-{}-", db.role), Duration::from_secs(10));
    assert_eq!(db.users().len(), 1);
    term.send("\\q\n");
    assert_eq!(term.exit_code(Duration::from_secs(15)), Some(0));
    assert!(db.users().is_empty(), "the user outlived psql's \\q");
    assert!(!term.text.contains(ROOT_TOKEN));

    let script = format!("{}; echo ready; exec sleep 60", db.connect());
    let mut term = Terminal::spawn(&[BIN, "--", "sh", "-c", &script], test.dir(), &env);
    term.expect("ready", Duration::from_secs(20));
    assert_eq!(db.users().len(), 1);
    term.send("\x03");
    assert_eq!(term.exit_code(Duration::from_secs(15)), Some(130));
    assert!(db.users().is_empty(), "the user outlived Ctrl-C");
}

/// `static-creds/ROLE`: a user Vault rotates, read without a lease (nothing made,
/// nothing to revoke), by a launch and by `check` alike.
#[test]
fn static_credentials_are_read_without_a_lease() {
    let db = engine("1h", "2h");
    let user = format!("static_{}", db.role);
    db.pg.sql(&format!(
        "CREATE ROLE \"{user}\" WITH LOGIN PASSWORD 'unused-initial'"
    ));
    db.bao.api(
        "POST",
        &format!("{}/static-roles/s{}", db.mount, db.role),
        Some(json!({"db_name": "pg", "username": user, "rotation_period": "1h"})),
    );
    let reference = format!("vault://{}/static-creds/s{}", db.mount, db.role);
    let test = Test::new()
        .env("VAULT_ADDR", &db.bao.addr)
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .file(
            ".env",
            format!("DB_USER={reference}#username\nDB_PASS={reference}#password\n"),
        );
    let run = test
        .command()
        .args(["--", "sh", "-c", &db.connect()])
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        redact(&String::from_utf8_lossy(&run.stderr))
    );
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), user);
    let run = test
        .command()
        .args(["check", "--format", "json"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&run.stdout).unwrap();
    let pass = doc["variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "DB_PASS")
        .unwrap()
        .clone();
    assert_eq!(pass["lease"], Value::Null, "{pass}");
    assert_ne!(
        pass["masked"], "(empty)",
        "static credentials are read by check"
    );
    assert!(db.leases().is_empty());
}

/// As PID 1 (a container's entrypoint, in a new PID namespace): a lease keeps
/// secretrun as init and is revoked at the end; `--no-init` asks for an exec without
/// saying so about leases, and is refused; `--exec` execs.
#[test]
fn as_pid_1_a_lease_keeps_init_and_only_exec_gives_it_up() {
    let db = engine("1h", "2h");
    let test = db.test();
    let run = |extra: &[&str]| {
        let mut command = std::process::Command::new("unshare");
        crate::util::default_signals(&mut command);
        let output = command
            .args(["--pid", "--fork", "--mount-proc", BIN])
            .args(extra)
            .args(["--", "sh", "-c", "echo pid1=$(cat /proc/1/comm)"])
            .env_clear()
            .env("PATH", PATH)
            .env("HOME", test.dir())
            .env("VAULT_ADDR", &db.bao.addr)
            .env("VAULT_TOKEN", ROOT_TOKEN)
            .current_dir(test.dir())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(!stderr.contains(ROOT_TOKEN));
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr,
        )
    };
    let (status, stdout, stderr) = run(&[]);
    assert_eq!(
        (status, stdout.as_str()),
        (Some(0), "pid1=secretrun\n"),
        "{}",
        redact(&stderr)
    );
    assert!(db.users().is_empty());
    let (status, stdout, stderr) = run(&["--no-init"]);
    assert_eq!(status, Some(78));
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("--no-init asks for an exec"),
        "{}",
        redact(&stderr)
    );
    assert!(db.users().is_empty(), "a refused launch left a user");
    // `--no-init` with `--redact`: supervised for the redaction, so the lease is kept.
    let (status, stdout, stderr) = run(&["--no-init", "--redact"]);
    assert_eq!(status, Some(0), "{}", redact(&stderr));
    assert!(stdout.starts_with("pid1="), "{stdout}");
    assert!(db.users().is_empty(), "the supervised launch left a user");
    let (status, stdout, _) = run(&["--exec"]);
    assert_eq!((status, stdout.as_str()), (Some(0), "pid1=sh\n"));
    assert_eq!(db.users().len(), 1, "--exec leaves the lease to expire");
    db.revoke_all();
}

/// A Vault stub with a database engine at `database/`, for the token `t`: 403
/// without it, the mount lookup of `database/creds/app` answered, and every other
/// request handed with its body to `answer` (404 where that has none).
fn database_vault(
    answer: impl Fn(&crate::stub::Request, &str) -> Option<(u16, String)> + Send + Sync + 'static,
) -> crate::stub::Stub {
    crate::stub::serve_with_body(move |request, body| {
        if request.header("x-vault-token") != Some("t") {
            return (403, r#"{"errors":["permission denied"]}"#.into());
        }
        if request.path == "/v1/sys/internal/ui/mounts/database/creds/app" {
            return (
                200,
                r#"{"data":{"path":"database/","type":"database"}}"#.into(),
            );
        }
        answer(request, body).unwrap_or_else(|| (404, r#"{"errors":[]}"#.into()))
    })
}

/// A Vault stub with a database engine: the first read of `database/creds/app` gives
/// credentials under a lease of `seconds` that is not renewable; every later read,
/// and every revocation, hangs (a store that stopped answering). `hung` hears of
/// each hanging request (its path) as it starts.
fn stopped_store(seconds: u64) -> (crate::stub::Stub, std::sync::mpsc::Receiver<String>) {
    let (tx, hung) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let reads = std::sync::atomic::AtomicUsize::new(0);
    let vault = database_vault(move |request, _| {
        let first_read = request.method == "GET"
            && request.path == "/v1/database/creds/app"
            && reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
        if first_read {
            return Some((
                200,
                format!(
                    r#"{{"lease_id":"database/creds/app/1","lease_duration":{seconds},"renewable":false,"data":{{"username":"u","password":"pw-CANARY"}}}}"#
                ),
            ));
        }
        let known = request.path == "/v1/database/creds/app"
            || (request.method == "PUT" && request.path == "/v1/sys/leases/revoke");
        if !known {
            return None;
        }
        let _ = tx.lock().unwrap().send(request.path.clone());
        std::thread::sleep(Duration::from_secs(600));
        Some((500, "{}".into()))
    });
    (vault, hung)
}

/// With a store that stops answering, the command does not run past its lease's
/// expiry waiting for fresh credentials (the read ends at the expiry, and the
/// command is stopped there, 69), and the revocation at the way out is bounded: the
/// whole takes the lease's 2 s and the revocation's bound, not the 60 s of the
/// fetch's timeout. A TERM meanwhile still reaches the command at once.
#[test]
fn a_stalled_fresh_read_stops_the_command_at_the_expiry_and_the_revoke_is_bounded() {
    let (vault, hung) = stopped_store(2);
    let test = Test::new()
        .env("VAULT_ADDR", vault.url())
        .env("VAULT_TOKEN", "t")
        .args(["--timeout", "60s", "--from", "vault://database/creds/app"]);
    let mut started = spawn(&test, &["--", "sh", "-c", "echo started; exec sleep 60"]);
    let limit = Duration::from_secs(30);
    assert_eq!(started.line(limit), "started");
    assert_eq!(
        hung.recv_timeout(limit).as_deref(),
        Ok("/v1/database/creds/app"),
        "no fresh read was asked for"
    );
    // 2 s of lease and 3 s of revocation at the most: 9 s leaves room for a busy
    // machine, and not for a 10 s revocation.
    let status = crate::util::wait_within(&mut started.child, Duration::from_secs(9));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut started.stderr, &mut stderr).unwrap();
    assert_eq!(status, Some(69), "{stderr}");
    // The fresh read ends at the expiry, and the command with it.
    assert!(
        stderr.contains("expired; fresh credentials") && stderr.contains("the command was stopped"),
        "{stderr}"
    );
    assert!(stderr.contains("was not revoked"), "{stderr}");
    assert!(!stderr.contains("CANARY"), "a value was logged");
}

/// The same when the fresh read is stuck on a local source (a FIFO nobody writes
/// again): no deadline ends a file's read, and the command is still stopped at the
/// lease's expiry, by the supervisor, whatever the read is doing.
#[test]
fn a_fresh_read_stuck_on_a_local_file_still_stops_the_command_at_the_expiry() {
    let (vault, _hung) = stopped_store(2);
    let test = Test::new()
        .env("VAULT_ADDR", vault.url())
        .env("VAULT_TOKEN", "t")
        .args([
            "--timeout",
            "60s",
            "--from",
            "slow.env",
            "--from",
            "vault://database/creds/app",
        ]);
    let fifo = test.dir().join("slow.env");
    let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid path and mode.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0, "mkfifo");
    // The first read gets its text; a second finds no writer and waits for ever.
    let writer = std::thread::spawn(move || std::fs::write(&fifo, "A=1\n").unwrap());
    let mut started = spawn(&test, &["--", "sh", "-c", "echo started; exec sleep 60"]);
    assert_eq!(started.line(Duration::from_secs(30)), "started");
    writer.join().unwrap();
    let status = crate::util::wait_within(&mut started.child, Duration::from_secs(9));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut started.stderr, &mut stderr).unwrap();
    assert_eq!(status, Some(69), "{stderr}");
    assert!(
        stderr.contains("fresh credentials did not come before it: the command was stopped"),
        "{stderr}"
    );
}

/// Fresh credentials are validated before the command is restarted with them: a
/// store whose later reads give a user name the schema refuses never gets the
/// command started on them; it is stopped at the lease's expiry (69), as with no
/// fresh credentials, and every lease read is revoked.
#[test]
fn fresh_credentials_that_fail_validation_are_never_run() {
    let reads = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let revoked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let (counting, revoking) = (reads.clone(), revoked.clone());
    let vault = database_vault(move |request, body| {
        Some(match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/v1/database/creds/app") => {
                let n = counting.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                let user = if n == 1 {
                    "app-1".to_owned()
                } else {
                    format!("bad user {n}")
                };
                (
                    200,
                    format!(
                        r#"{{"lease_id":"database/creds/app/{n}","lease_duration":2,"renewable":false,"data":{{"username":"{user}","password":"pw-CANARY-{n}"}}}}"#
                    ),
                )
            }
            ("PUT", "/v1/sys/leases/revoke") => {
                let doc: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
                let id = doc["lease_id"].as_str().unwrap_or("").to_owned();
                revoking.lock().unwrap().push(id);
                (204, String::new())
            }
            _ => return None,
        })
    });
    let test = Test::new()
        .file(
            "secretrun.toml",
            "[vars.username]\npattern = \"app-[0-9]+\"\n",
        )
        .env("VAULT_ADDR", vault.url())
        .env("VAULT_TOKEN", "t")
        .args(["--from", "vault://database/creds/app"]);
    let mut started = spawn(
        &test,
        &[
            "--",
            "sh",
            "-c",
            "echo \"started as $username\"; exec sleep 60",
        ],
    );
    let limit = Duration::from_secs(30);
    assert_eq!(started.line(limit), "started as app-1");
    let status = crate::util::wait_within(&mut started.child, limit);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut started.stderr, &mut stderr).unwrap();
    assert_eq!(status, Some(69), "{stderr}");
    assert_eq!(
        started.stdout.next_within(Duration::from_secs(5)),
        None,
        "the command was started again"
    );
    assert!(
        reads.load(std::sync::atomic::Ordering::SeqCst) >= 2,
        "no fresh read"
    );
    assert!(
        stderr.contains("username"),
        "the failure is not named: {stderr}"
    );
    assert!(
        !stderr.contains("CANARY") && !stderr.contains("bad user"),
        "a value was logged"
    );
    let revoked = revoked.lock().unwrap();
    let read = reads.load(std::sync::atomic::Ordering::SeqCst);
    for n in 1..=read {
        let id = format!("database/creds/app/{n}");
        assert!(revoked.contains(&id), "{id} was not revoked: {revoked:?}");
    }
}

/// A renewal that fails for want of Vault (503s) is tried again, and said once;
/// when it goes through, the command runs on. Lease messages start with
/// `secretrun: lease:` and name the reference, never the lease id, the user or the
/// password.
#[test]
fn a_renewal_that_fails_for_want_of_vault_is_tried_again_and_said_once() {
    let (renewed_tx, renewed) = std::sync::mpsc::channel::<()>();
    let renewed_tx = std::sync::Mutex::new(renewed_tx);
    let renewals = std::sync::atomic::AtomicUsize::new(0);
    let vault = database_vault(move |request, _| {
        Some(match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/v1/database/creds/app") => (
                200,
                r#"{"lease_id":"database/creds/app/LEASE-ID-7f3","lease_duration":10,"renewable":true,"data":{"username":"user-CANARY-9","password":"pw-CANARY-9"}}"#.into(),
            ),
            ("PUT", "/v1/sys/leases/renew") => {
                // Two renewals' worth of 503s (each renewal is tried 1 + 2 times).
                if renewals.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 6 {
                    return Some((503, r#"{"errors":["Vault is sealed"]}"#.into()));
                }
                let _ = renewed_tx.lock().unwrap().send(());
                (
                    200,
                    r#"{"lease_id":"database/creds/app/LEASE-ID-7f3","lease_duration":10,"renewable":true}"#.into(),
                )
            }
            ("PUT", "/v1/sys/leases/revoke") => (204, String::new()),
            _ => return None,
        })
    });
    let test = Test::new()
        .env("VAULT_ADDR", vault.url())
        .env("VAULT_TOKEN", "t")
        .args(["--from", "vault://database/creds/app"]);
    let started = spawn(&test, &["--", "sh", "-c", "echo started; exec sleep 60"]);
    assert_eq!(started.line(Duration::from_secs(30)), "started");
    renewed
        .recv_timeout(Duration::from_secs(30))
        .expect("the renewal never went through");
    let (status, stderr) = started.terminate();
    assert_eq!(status, Some(143), "{}", redact(&stderr));
    let failures: Vec<&str> = stderr.lines().filter(|l| l.contains("renewing")).collect();
    assert_eq!(failures.len(), 1, "said once: {}", redact(&stderr));
    assert!(
        failures[0].starts_with("secretrun: lease: ")
            && failures[0].contains("`vault://database/creds/app`"),
        "{}",
        failures[0]
    );
    for hidden in ["LEASE-ID", "CANARY"] {
        assert!(!stderr.contains(hidden), "a lease message holds {hidden}");
    }
}
