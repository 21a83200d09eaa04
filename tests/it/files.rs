//! Secrets delivered as files (`--file`, `as = "file"`): an anonymous memory file,
//! sealed, named by `/proc/PID/fd/N`, readable again and again, by the command and by
//! a child that closed every descriptor it inherited (as Python's `subprocess` does
//! by default), in exec mode and supervised, as a user other than root; and nothing
//! written to any file system on the way.

use sha2::Digest;

use crate::trace;
use crate::util::{CANARY, Test};

/// A PEM key of several lines, with the canary inside.
fn key() -> String {
    format!("-----BEGIN PRIVATE KEY-----\n{CANARY}\nline two\n-----END PRIVATE KEY-----")
}

fn sha(value: &str) -> String {
    sha2::Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What the command runs: it prints, never the values, their SHA-256 read twice
/// through each path, then once more from a child that closed the descriptor
/// first; whether `DB_PASSWORD` itself is in its environment; what the path is; and
/// whether a write to the file got through.
const READER: &str = r#"
for f in "$DB_PASSWORD_FILE" "$TLS_KEY"; do
  sha256sum < "$f"; sha256sum < "$f"
  n=${f##*/}
  sh -c "exec $n<&-; sha256sum < \"$f\""
done
echo "env:${DB_PASSWORD-absent}"
echo "path:$DB_PASSWORD_FILE"
readlink "$DB_PASSWORD_FILE"
if (printf x >> "$DB_PASSWORD_FILE") 2>/dev/null; then echo written; else echo sealed; fi
"#;

fn reader_test() -> Test {
    Test::new().file(
        ".env",
        format!(
            "DB_PASSWORD={CANARY}\nTLS_KEY=\"{}\"\n",
            key().replace('\n', "\\n")
        ),
    )
}

/// The run's stdout, checked line by line.
fn assert_read(stdout: &str, pid_of: &str) {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 10, "the reader did not get through: {stdout}");
    let sums: Vec<&str> = lines[..6]
        .iter()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    let (password, key) = (sha(CANARY), sha(&key()));
    assert_eq!(
        sums,
        [&password, &password, &password, &key, &key, &key],
        "{stdout}"
    );
    assert_eq!(
        lines[6], "env:absent",
        "the value itself is not in the environment"
    );
    let path = lines[7].strip_prefix("path:").unwrap();
    let fd_dir = format!("/proc/{pid_of}/fd/");
    assert!(path.starts_with(&fd_dir), "{path} is not under {fd_dir}");
    assert_eq!(
        lines[8], "/memfd:DB_PASSWORD (deleted)",
        "no file on any file system"
    );
    assert_eq!(lines[9], "sealed");
}

#[test]
fn a_file_is_read_again_and_again_and_by_a_child_that_closed_it() {
    let test = reader_test();
    let run = test
        .args([
            "--pure",
            "--file",
            "DB_PASSWORD_FILE=DB_PASSWORD",
            "--file",
            "TLS_KEY",
        ])
        .args(["--", "sh", "-c", &format!("echo $$; {READER}")])
        .run();
    run.success().no_canary();
    // In exec mode the command is secretrun's process: its PID is the path's.
    let (pid, rest) = run.stdout.split_once('\n').unwrap();
    assert_read(rest, pid);
}

/// Supervised, the path is the supervisor's descriptor: the command's children open
/// it whatever they closed. The kernel lets a process open another's
/// `/proc/PID/fd/N` only while that one is dumpable, so this runs as `nobody` when
/// the tests run as root (root opens it anyway).
#[test]
fn a_supervised_command_as_another_user_reads_its_files() {
    let test = reader_test();
    let dir = test.dir().to_path_buf();
    use std::os::unix::fs::PermissionsExt;
    for path in [dir.clone(), dir.join(".env")] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let test = test
        .args([
            "--pure",
            "--redact",
            "--file",
            "DB_PASSWORD_FILE=DB_PASSWORD",
            "--file",
            "TLS_KEY",
        ])
        .args(["--", "sh", "-c", &format!("echo $PPID; {READER}")]);
    let mut command = test.command();
    if rustix::process::getuid().is_root() {
        let program = command.get_program().to_owned();
        let args: Vec<_> = command.get_args().map(|a| a.to_owned()).collect();
        let setpriv =
            crate::launch::which("setpriv").expect("setpriv (util-linux) runs this test as nobody");
        let mut wrapped = std::process::Command::new(setpriv);
        wrapped
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(program)
            .args(args)
            .env_clear()
            .envs(
                command
                    .get_envs()
                    .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))),
            )
            .current_dir(&dir)
            .stdin(std::process::Stdio::null());
        command = wrapped;
    }
    let run = crate::util::Run::from(command.output().unwrap());
    run.success().no_canary();
    let (pid, rest) = run.stdout.split_once('\n').unwrap();
    assert_read(rest, pid);
}

/// `[vars.NAME] as = "file"`, with `env` naming the path's variable; `list` shows
/// the file, never its content; a value to deliver that is missing is 65.
#[test]
fn the_config_delivers_files_and_list_shows_them() {
    let config = "[vars.DB_PASSWORD]\nas = \"file\"\nenv = \"DB_PASSWORD_FILE\"\n\n[vars.TLS_KEY]\nas = \"file\"\n";
    let run = reader_test()
        .file("secretrun.toml", config)
        .args(["--pure", "--", "sh", "-c", &format!("echo $$; {READER}")])
        .run();
    run.success().no_canary();
    let (pid, rest) = run.stdout.split_once('\n').unwrap();
    assert_read(rest, pid);
    reader_test()
        .file("secretrun.toml", config)
        .args(["list", "--pure"])
        .run()
        .success()
        .no_canary()
        .stdout_has("DB_PASSWORD_FILE  .env:1  (a file in memory holding DB_PASSWORD's value)");
    Test::new()
        .file(".env", "OTHER=1\n")
        .args(["--pure", "--file", "MISSING", "--", "true"])
        .run()
        .status(65)
        .stderr_has("`MISSING` is to be delivered as a file, but it has no value");
    Test::new()
        .file(".env", "A=1\n")
        .file("secretrun.toml", "[vars.A]\nenv = \"A_FILE\"\n")
        .args(["--pure", "--", "true"])
        .run()
        .status(78)
        .stderr_has("needs `as = \"file\"`");
}

/// strace, on the whole run (secretrun, the command and its children), exec mode
/// and supervised: a memory file is made, and nothing is created, renamed, linked or
/// removed on any file system.
#[test]
fn no_file_system_sees_a_delivered_file() {
    for supervise in [false, true] {
        let test = reader_test();
        let mut args = vec![
            "--pure",
            "--file",
            "DB_PASSWORD_FILE=DB_PASSWORD",
            "--file",
            "TLS_KEY",
        ];
        if supervise {
            args.push("--redact");
        }
        args.extend(["--", "sh", "-c", READER]);
        let calls = format!("{},mknod,mknodat", trace::FILE_CALLS);
        let trace = trace::strace(&test, &calls, &args, &[]);
        assert!(
            trace.contains("memfd_create(\"DB_PASSWORD\""),
            "no memory file was made"
        );
        for line in trace.lines() {
            // The command's own `printf x >> FILE` is the write the seal refuses.
            let shell_append = line.contains("O_APPEND") && line.contains("/proc/");
            if line.contains("\"/dev/") {
                continue; // devices (the shell's /dev/null) are not a file system
            }
            let creates = ["O_CREAT", "O_TRUNC"].iter().any(|f| line.contains(f));
            let mutates = [
                "rename", "link(", "linkat(", "symlink", "mkdir", "unlink", "mknod",
            ]
            .iter()
            .any(|call| line.contains(call));
            assert!(
                shell_append || !(creates || mutates),
                "supervise={supervise}: {}",
                crate::util::redact(line)
            );
        }
    }
}

/// `--watch` with a value delivered as a file: when only files changed, the new
/// content is behind the same path and the command gets HUP, still the same
/// process; when a value in the environment changed, the command restarts.
#[test]
fn a_changed_file_is_swapped_behind_its_path_and_signalled() {
    swapped_and_signalled(false);
}

/// The same where memory files are refused: the files are on a tmpfs, swapped
/// there, and the directory is gone when secretrun ends.
#[test]
fn a_changed_file_on_a_tmpfs_is_swapped_behind_its_path_and_signalled() {
    let path = swapped_and_signalled(true);
    assert!(
        path.starts_with("/dev/shm/") || path.starts_with("/run/user/"),
        "{path}"
    );
    let dir = std::path::Path::new(&path).parent().unwrap();
    assert!(!dir.exists(), "{} was left behind", dir.display());
}

/// Runs the swap; the file's path the command was first given.
fn swapped_and_signalled(refuse: bool) -> String {
    use crate::supervise::LIMIT;
    use crate::util::Lines;
    let dotenv = |password: &str, other: &str| format!("DB_PASSWORD={password}\nOTHER={other}\n");
    let test = Test::new().file(".env", dotenv("one-CANARY", "a"));
    let script = r#"trap 'echo "hup $(sha256sum < "$DB_PASSWORD_FILE")"' HUP
echo "started $$ $DB_PASSWORD_FILE $OTHER $(sha256sum < "$DB_PASSWORD_FILE")"
while :; do sleep 0.05; done"#;
    let test = test
        .args([
            "--pure",
            "--watch",
            "100ms",
            "--file",
            "DB_PASSWORD_FILE=DB_PASSWORD",
        ])
        .args(["--", "sh", "-c", script]);
    let mut command = test.command();
    if refuse {
        refuse_memfd(&mut command);
    }
    let mut child = command.spawn().unwrap();
    let lines = Lines::new(child.stdout.take().unwrap());
    let first = lines.next_within(LIMIT).expect("the command started");
    let words: Vec<&str> = first.split(' ').collect();
    assert_eq!(
        (words[0], words[3], words[4]),
        ("started", "a", sha("one-CANARY").as_str()),
        "{first}"
    );
    // Only the file's value changes: HUP, the new content, the same process.
    let replace = |text: String| {
        let staged = test.dir().join(".env.next");
        std::fs::write(&staged, text).unwrap();
        std::fs::rename(&staged, test.dir().join(".env")).unwrap();
    };
    replace(dotenv("two-CANARY", "a"));
    let hup = lines.next_within(LIMIT).expect("a signal");
    assert_eq!(hup, format!("hup {}  -", sha("two-CANARY")));
    // An environment value changes: a new process, with the path of a new file.
    replace(dotenv("two-CANARY", "b"));
    let again = lines.next_within(LIMIT).expect("a restart");
    let later: Vec<&str> = again.split(' ').collect();
    assert_eq!((later[0], later[3]), ("started", "b"), "{again}");
    assert_ne!(later[1], words[1], "the command was started again");
    // SAFETY: a plain syscall to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("CANARY"), "a value was logged");
    assert!(stderr.contains("watch: changed: `DB_PASSWORD`"), "{stderr}");
    words[2].to_owned()
}

/// A real consumer: psql reads `PGPASSFILE`, a `[files.PGPASSFILE]` template
/// filled with a user and password, and logs in with it. libpq ignores a password
/// file that others may read, so the file's mode (0400) is tested too.
#[test]
fn psql_logs_in_with_a_pgpass_file_made_from_a_template() {
    let pg = crate::postgres::server();
    pg.sql("drop role if exists file_reader");
    pg.sql("create role file_reader login password 'pw-CANARY-7f3a'");
    let config = format!(
        "[files.PGPASSFILE]\ntemplate = \"127.0.0.1:{}:postgres:${{DB_USER}}:${{DB_PASS}}\\n\"\n",
        pg.port
    );
    let query = format!(
        "psql -w -h 127.0.0.1 -p {} -U \"$DB_USER\" -d postgres -X -A -t -c 'select current_user'; stat -L -c %a \"$PGPASSFILE\"",
        pg.port
    );
    let run = Test::new()
        .file(".env", "DB_USER=file_reader\nDB_PASS=pw-CANARY-7f3a\n")
        .file("secretrun.toml", config)
        .args(["--keep", "PATH", "--", "sh", "-c", &query])
        .run();
    run.success().no_canary();
    assert_eq!(run.stdout, "file_reader\n400\n");
}

/// A seccomp filter, set between fork and exec, under which `memfd_create` fails
/// with EPERM, as a container's profile may make it (x86_64's call number).
fn refuse_memfd(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
    let filter = [
        // The architecture, then the call's number.
        libc::sock_filter {
            code: 0x20,
            jt: 0,
            jf: 0,
            k: 4,
        },
        libc::sock_filter {
            code: 0x15,
            jt: 0,
            jf: 3,
            k: AUDIT_ARCH_X86_64,
        },
        libc::sock_filter {
            code: 0x20,
            jt: 0,
            jf: 0,
            k: 0,
        },
        libc::sock_filter {
            code: 0x15,
            jt: 0,
            jf: 1,
            k: libc::SYS_memfd_create as u32,
        },
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
        },
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ALLOW,
        },
    ];
    // SAFETY: two prctl calls on memory that outlives them; async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            let program = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr() as *mut libc::sock_filter,
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &program) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// With memory files refused, the files are 0400 files in a 0700 directory of
/// secretrun's own on a tmpfs, and secretrun stays as the command's parent to
/// remove them: when the command exits, and when secretrun gets TERM or INT.
#[test]
fn without_memory_files_a_tmpfs_holds_them_until_the_command_exits() {
    use crate::supervise::LIMIT;
    use crate::util::Lines;
    let script = r#"echo "$DB_PASSWORD_FILE $(stat -c %a "$DB_PASSWORD_FILE") $(stat -c %a "${DB_PASSWORD_FILE%/*}") $(stat -f -c %T "$DB_PASSWORD_FILE")"
sha256sum < "$DB_PASSWORD_FILE"
[ "$1" = wait ] && exec sleep 30
true"#;
    for ending in [None, Some(libc::SIGTERM), Some(libc::SIGINT)] {
        let wait = if ending.is_some() { "wait" } else { "done" };
        let test = Test::new()
            .file(".env", format!("DB_PASSWORD={CANARY}\n"))
            .args(["--pure", "--file", "DB_PASSWORD_FILE=DB_PASSWORD"])
            .args(["--", "sh", "-c", script, "sh", wait]);
        let mut command = test.command();
        refuse_memfd(&mut command);
        let mut child = command.spawn().unwrap();
        let lines = Lines::new(child.stdout.take().unwrap());
        let first = lines.next_within(LIMIT).expect("the command started");
        let words: Vec<&str> = first.split(' ').collect();
        let path = std::path::PathBuf::from(words[0]);
        assert_eq!(&words[1..], ["400", "700", "tmpfs"], "{first}");
        let sum = lines.next_within(LIMIT).expect("the file was read");
        assert!(sum.starts_with(&sha(CANARY)), "{sum}");
        if let Some(sig) = ending {
            // SAFETY: a plain syscall to our own child.
            unsafe { libc::kill(child.id() as i32, sig) };
        }
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("CANARY"), "a value was logged");
        assert!(stderr.contains("memory files are refused here"), "{stderr}");
        let dir = path.parent().unwrap();
        assert!(
            !dir.exists(),
            "{ending:?}: {} is still there",
            dir.display()
        );
    }
}

/// A real consumer of a key: psql logs in as `cert_user`, whom the server lets in
/// only with a client certificate (`hostssl … cert`), with the certificate, its key
/// and the CA each delivered as a file (libpq reads `PGSSLCERT`, `PGSSLKEY` and
/// `PGSSLROOTCERT` as paths, and refuses a key file others may read).
#[test]
fn psql_logs_in_with_a_client_key_delivered_as_a_file() {
    let pg = crate::postgres::server();
    pg.sql("do $$ begin create role cert_user login; exception when duplicate_object then null; end $$");
    let quoted = |pem: &str| format!("\"{}\"", pem.trim_end().replace('\n', "\\n"));
    let dotenv = format!(
        "PGSSLCERT={}\nPGSSLKEY={}\nPGSSLROOTCERT={}\n",
        quoted(&pg.tls.cert),
        quoted(&pg.tls.key),
        quoted(&pg.tls.ca)
    );
    let query = format!(
        "psql -w 'host=127.0.0.1 port={} user=cert_user dbname=postgres sslmode=verify-ca' -X -A -t -c 'select current_user, ssl from pg_stat_ssl join pg_stat_activity using (pid) where pid = pg_backend_pid()'",
        pg.port
    );
    let run = Test::new()
        .file(".env", dotenv)
        .args([
            "--keep",
            "PATH",
            "--file",
            "PGSSLCERT",
            "--file",
            "PGSSLKEY",
            "--file",
            "PGSSLROOTCERT",
        ])
        .args(["--", "sh", "-c", &query])
        .run();
    run.success();
    assert!(
        !run.stderr.contains("PRIVATE KEY"),
        "the key reached stderr"
    );
    assert_eq!(run.stdout, "cert_user|t\n");
}

/// What a Python app does with `GOOGLE_APPLICATION_CREDENTIALS`: `open()` it twice,
/// start a helper with `subprocess` (which closes inherited descriptors by
/// default) that opens it, and re-execute itself (`os.execv`: same process, same
/// descriptors), then open it again. Each read gets the whole JSON.
#[test]
fn a_python_app_reads_its_credentials_file_as_python_does() {
    let json = format!(r#"{{"type": "service_account", "private_key": "{CANARY}"}}"#);
    let script = r#"
import hashlib, json, os, subprocess, sys
path = os.environ["GOOGLE_APPLICATION_CREDENTIALS"]
def digest(): return hashlib.sha256(open(path, "rb").read()).hexdigest()
if len(sys.argv) > 1:
    print(digest(), json.load(open(path))["type"]); sys.exit(0)
print(digest()); print(digest())
helper = "import hashlib, os; print(hashlib.sha256(open(os.environ['GOOGLE_APPLICATION_CREDENTIALS'], 'rb').read()).hexdigest())"
print(subprocess.run([sys.executable, "-c", helper], capture_output=True, text=True, check=True).stdout.strip())
sys.stdout.flush()
os.execv(sys.executable, [sys.executable, "-c", SCRIPT, "again"])
"#;
    // The script holds its own text, to run itself again.
    let script = format!("SCRIPT = {script:?}\n{script}");
    let run = Test::new()
        .file(".env", format!("GOOGLE_APPLICATION_CREDENTIALS='{json}'\n"))
        .args(["--pure", "--file", "GOOGLE_APPLICATION_CREDENTIALS"])
        .args(["--", "/usr/bin/python3", "-c", &script])
        .run();
    run.success().no_canary();
    let sum = sha(&json);
    assert_eq!(
        run.stdout,
        format!("{sum}\n{sum}\n{sum}\n{sum} service_account\n")
    );
}

/// strace of a launch whose memory files are refused (the seccomp filter is set on
/// strace, and so on everything it starts): every file created, renamed or removed
/// is in secretrun's own directory on the tmpfs, and that directory is gone after.
#[test]
fn without_memory_files_only_the_tmpfs_is_written() {
    let test = Test::new().file(".env", format!("DB_PASSWORD={CANARY}\n"));
    let calls = format!("{},mknod,mknodat,rmdir", trace::FILE_CALLS);
    let mut command =
        trace::strace_command(&["-e", &format!("trace={calls}"), "-e", "signal=none"]);
    command
        .arg(crate::util::BIN)
        .args([
            "--pure",
            "--file",
            "DB_PASSWORD_FILE=DB_PASSWORD",
            "--",
            "sh",
            "-c",
        ])
        .arg(r#"sha256sum < "$DB_PASSWORD_FILE""#)
        .env_clear()
        .env("PATH", crate::util::PATH)
        .env("HOME", test.dir())
        .current_dir(test.dir())
        .stdin(std::process::Stdio::null());
    refuse_memfd(&mut command);
    let output = command.output().unwrap();
    let trace = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}", crate::util::redact(&trace));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with(&sha(CANARY)));
    assert!(
        trace.contains("memfd_create(") && trace.contains("EPERM"),
        "memfd was not refused"
    );
    let mut ours = None;
    for line in trace.lines().filter(|l| !l.contains("\"/dev/null\"")) {
        let creates = ["O_CREAT", "O_TRUNC", "O_WRONLY", "O_RDWR"]
            .iter()
            .any(|f| line.contains(f));
        let mutates = [
            "rename", "link(", "linkat(", "mkdir", "unlink", "rmdir", "mknod",
        ]
        .iter()
        .any(|call| line.contains(call));
        if !(creates || mutates) {
            continue;
        }
        let path = line.split('"').nth(1).unwrap_or("");
        // remove_dir_all empties our directory through a descriptor of it: names
        // relative to that descriptor, never AT_FDCWD.
        if line.contains("unlinkat(") && !line.contains("AT_FDCWD") && !path.contains('/') {
            continue;
        }
        let dir = path.find("/secretrun-").map(|at| {
            let end = path[at + 1..].find('/').map_or(path.len(), |e| at + 1 + e);
            &path[..end]
        });
        assert!(
            dir.is_some_and(|d| d.starts_with("/dev/shm/") || d.starts_with("/run/user/")),
            "a write outside the tmpfs: {}",
            crate::util::redact(line)
        );
        ours = dir.map(str::to_owned);
    }
    let ours = ours.expect("no file was made on the tmpfs");
    assert!(
        !std::path::Path::new(&ours).exists(),
        "{ours} is still there"
    );
}

/// Neither a memory file nor a tmpfs (memfd refused, and `/dev/shm` and the runtime
/// directory on a disk, in a mount namespace of the test's own): the launch stops
/// (nothing runs) rather than write the value to a disk.
#[test]
fn with_neither_memory_files_nor_a_tmpfs_the_launch_stops() {
    let disk = Test::new();
    let unshare = crate::launch::which("unshare").expect("unshare (util-linux)");
    let script = format!(
        "mount --bind {disk} /dev/shm || exit 90; \
         if [ -d /run/user/0 ]; then mount --bind {disk} /run/user/0 || exit 91; fi; \
         exec \"$@\"",
        disk = disk.dir().display()
    );
    let test = Test::new().file(".env", format!("DB_PASSWORD={CANARY}\n"));
    let mut command = std::process::Command::new(unshare);
    command
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
            "sh",
        ])
        .arg(crate::util::BIN)
        .args([
            "--pure",
            "--file",
            "DB_PASSWORD",
            "--",
            "sh",
            "-c",
            "echo ran",
        ])
        .env_clear()
        .env("PATH", crate::util::PATH)
        .env("HOME", test.dir())
        .current_dir(test.dir());
    refuse_memfd(&mut command);
    let run = crate::util::Run::from(command.output().unwrap());
    run.no_canary();
    assert_ne!(
        run.status,
        Some(90),
        "could not hide /dev/shm: {}",
        run.stderr
    );
    assert!(
        !run.stdout.contains("ran"),
        "the command ran: {}",
        run.stdout
    );
    // 69: a facility this machine lacks; said once, before anything ran.
    assert_eq!(run.status, Some(69), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "error: delivering files: no memory file (Operation not permitted (os error 1)) and no tmpfs to hold one"
        ),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("the files go on a tmpfs"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_dir(disk.dir()).unwrap().count(),
        0,
        "a file was written to the disk"
    );
}
