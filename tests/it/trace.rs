//! What secretrun asks of the kernel, traced with strace: nothing written to the file
//! system on any path (exec, supervise, check, list; dotenv, Vault, AWS), and no
//! thread of a network fetch alive at execve.

use crate::launch::which;
use crate::moto::{ACCESS_KEY, SECRET_KEY};
use crate::util::{CANARY, PATH, Test};

/// strace's options for every program started (`execve`), with its argv whole.
pub const EXECS: &[&str] = &["-e", "trace=execve", "-e", "signal=none", "-s", "4096"];

/// `strace -f -qq OPTIONS`, to which the traced program and its arguments are added.
pub fn strace_command(options: &[&str]) -> std::process::Command {
    assert!(
        which("strace").is_some(),
        "strace is needed for this test; the README's test command installs it"
    );
    let mut command = std::process::Command::new("strace");
    command.args(["-f", "-qq"]).args(options);
    command
}

/// The `execve` lines of a trace: one for each program started.
pub fn execs(trace: &str) -> Vec<&str> {
    trace.lines().filter(|l| l.contains("execve(")).collect()
}

/// Runs secretrun under `strace -f -qq` with these further options (what to trace,
/// how to print it); its output, the trace on stderr. Nothing is asserted of it.
pub fn run_traced(
    test: &Test,
    options: &[&str],
    args: &[&str],
    env: &[(&str, String)],
) -> std::process::Output {
    strace_command(options)
        .arg(crate::util::BIN)
        .args(args)
        .env_clear()
        .env("PATH", PATH)
        .env("HOME", test.dir())
        .envs(env.iter().map(|(n, v)| (n, v)))
        .current_dir(test.dir())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// Runs secretrun under `strace -f` with these syscalls traced; the trace. The run
/// must succeed and print no canary.
pub fn strace(test: &Test, trace: &str, args: &[&str], env: &[(&str, String)]) -> String {
    let trace_option = format!("trace={trace}");
    let output = run_traced(test, &["-e", &trace_option, "-e", "signal=none"], args, env);
    let trace = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        crate::util::redact(&trace)
    );
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("CANARY"),
        "a value reached stdout"
    );
    trace
}

pub const FILE_CALLS: &str = "open,openat,openat2,creat,rename,renameat,renameat2,link,linkat,symlink,symlinkat,mkdir,mkdirat,truncate,ftruncate,unlink,unlinkat,memfd_create";

/// Fails on any open for writing or any call that changes the file system. Devices
/// (`/dev/null`, a pty's `/dev/ptmx`) are not the file system.
pub fn assert_nothing_written(what: &str, trace: &str) {
    assert!(
        trace.contains("openat("),
        "{what}: strace saw no open at all"
    );
    for line in trace.lines() {
        if line.contains("\"/dev/") {
            continue;
        }
        let writes = ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC"]
            .iter()
            .any(|f| line.contains(f));
        let mutates = [
            "creat(",
            "rename",
            "link(",
            "linkat(",
            "symlink",
            "mkdir",
            "truncate(",
            "unlink",
            "memfd_create(",
        ]
        .iter()
        .any(|call| line.contains(call));
        assert!(
            !writes && !mutates,
            "{what}: a write to the file system: {}",
            crate::util::redact(line)
        );
    }
}

/// A Vault stub with one KV v1 secret holding the canary.
fn vault() -> crate::stub::Stub {
    crate::stub::serve(|request| {
        if let Some(answer) = crate::stub::vault_checks(request, 1) {
            return answer;
        }
        (200, format!(r#"{{"data":{{"V":"{CANARY}"}}}}"#))
    })
}

#[test]
fn nothing_is_written_to_disk_on_any_path() {
    let vault = vault();
    let moto = crate::moto::server();
    moto.create("traced", &format!(r#"{{"A":"{CANARY}"}}"#));
    let stores: Vec<(&str, String)> = vec![
        ("VAULT_ADDR", vault.url()),
        ("VAULT_TOKEN", "t".into()),
        ("AWS_ENDPOINT_URL", moto.url.clone()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
        ("AWS_REGION", "us-east-1".into()),
    ];
    let cases: &[(&str, &[&str])] = &[
        ("dotenv, exec", &["--", "true"]),
        (
            "Vault, exec",
            &["--from", "vault://secret/app", "--", "true"],
        ),
        ("AWS, exec", &["--from", "aws-sm://traced", "--", "true"]),
        (
            "all stores, --redact",
            &[
                "--from",
                ".env",
                "--from",
                "vault://secret/app",
                "--from",
                "aws-sm://traced",
                "--redact",
                "--",
                "sh",
                "-c",
                "echo $KEY $V $A",
            ],
        ),
        ("--init", &["--init", "--", "true"]),
        (
            "--watch",
            &[
                "--from",
                "vault://secret/app",
                "--watch",
                "100ms",
                "--",
                "sleep",
                "0.6",
            ],
        ),
        (
            "check",
            &["--from", "vault://secret/app", "--from", ".env", "check"],
        ),
        (
            "list",
            &["--from", "aws-sm://traced", "--from", ".env", "list"],
        ),
    ];
    for (what, args) in cases {
        let test = Test::new().file(".env", format!("KEY={CANARY}\nB=2\n"));
        let trace = strace(&test, FILE_CALLS, args, &stores);
        assert_nothing_written(what, &trace);
    }
}

/// The ids of the threads and processes started before `exec_at`, and of those
/// that exited before it. Lines look like `clone3({...}) = 1234`, or in two parts,
/// `clone3({...} <unfinished ...>` then `<... clone3 resumed> ...) = 1234`, and
/// `[pid  1234] exit(0) = ?` (strace pads the pid).
fn started_and_exited(before: &str) -> (Vec<&str>, Vec<&str>) {
    let started = before
        .lines()
        .filter(|l| {
            l.contains("clone3({")
                || l.contains("clone(child_stack")
                || l.contains("clone({")
                || l.contains("clone3 resumed>")
                || l.contains("clone resumed>")
        })
        .filter_map(|l| l.rsplit("= ").next())
        .filter(|pid| !pid.is_empty() && pid.chars().all(|c| c.is_ascii_digit()))
        .collect();
    let exited = before
        .lines()
        .filter(|l| l.contains("] exit(") || l.contains("] +++ exited"))
        .filter_map(|l| l.strip_prefix("[pid")?.split(']').next())
        .map(str::trim)
        .collect();
    (started, exited)
}

#[test]
fn no_thread_of_a_fetch_is_alive_at_exec() {
    // A fetch runs on an async runtime, with threads for DNS (Vault) and the SDK's
    // work (AWS); all of it must be gone before execve.
    let vault = vault();
    let moto = crate::moto::server();
    moto.create("threads", r#"{"T":"1"}"#);
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "vault://secret/app",
            vec![
                // `localhost`, so that a resolver thread is started.
                (
                    "VAULT_ADDR",
                    format!("http://localhost:{}", vault.addr.port()),
                ),
                ("VAULT_TOKEN", "t".into()),
            ],
        ),
        (
            "aws-sm://threads",
            vec![
                (
                    "AWS_ENDPOINT_URL",
                    moto.url.replace("127.0.0.1", "localhost"),
                ),
                ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
                ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
                ("AWS_REGION", "us-east-1".into()),
            ],
        ),
    ];
    for (source, env) in cases {
        let test = Test::new();
        let trace = strace(
            &test,
            "clone,clone3,execve,exit",
            &["--from", source, "--", "/bin/true"],
            &env,
        );
        let exec_at = trace
            .find("execve(\"/bin/true\"")
            .expect("the command was exec'd");
        let (started, exited) = started_and_exited(&trace[..exec_at]);
        assert!(
            !started.is_empty(),
            "{source}: no thread was started, so this shows nothing: {trace}"
        );
        for tid in started {
            assert!(
                exited.contains(&tid),
                "{source}: thread {tid} was alive at exec:\n{trace}"
            );
        }
    }
}

#[test]
fn resumed_clone_lines_are_counted() {
    let trace = "clone3({flags=CLONE_VM, exit_signal=0} <unfinished ...>\n\
                 [pid 77] <... clone3 resumed> => {parent_tid=[78]}, 88) = 78\n\
                 clone3({flags=CLONE_VM}, 88) = 79\n\
                 [pid    78] exit(0)                  = ?\n";
    let (started, exited) = started_and_exited(trace);
    assert_eq!(started, ["78", "79"]);
    assert_eq!(exited, ["78"]);
}
