//! The test builder: runs the real binary in a temp dir with a cleared environment,
//! then asserts on status, stdout and stderr. Child output comes back through pipes,
//! never files.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_secretrun");

/// The PATH every test runs with.
pub const PATH: &str = "/usr/local/bin:/usr/bin:/bin";

pub struct Test {
    dir: tempfile::TempDir,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
}

impl Test {
    pub fn new() -> Test {
        let dir = tempfile::tempdir().expect("temp dir");
        let home = dir.path().to_path_buf();
        Test {
            dir,
            args: Vec::new(),
            env: vec![("PATH".into(), PATH.into()), ("HOME".into(), home.into())],
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file under the temp dir (dotenv inputs and configs: the sources, not
    /// anything secretrun writes).
    pub fn file(self, name: &str, contents: impl AsRef<[u8]>) -> Test {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, contents).unwrap();
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Test {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets a variable in secretrun's (the parent's) environment.
    pub fn env(mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> Test {
        let name = name.into();
        self.env.retain(|(n, _)| *n != name);
        self.env.push((name, value.into()));
        self
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(&self.args)
            .env_clear()
            .envs(self.env.iter().map(|(n, v)| (n, v)))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        default_signals(&mut command);
        command
    }

    pub fn run(&self) -> Run {
        Run::from(self.command().output().expect("running secretrun"))
    }

    /// Runs secretrun with `args` too, in `subdir` of the test's directory, keeping
    /// the test (its files stay to be read after, and to run again).
    pub fn run_in(&self, subdir: &str, args: &[&str]) -> Run {
        let mut command = self.command();
        command.current_dir(self.dir().join(subdir)).args(args);
        Run::from(command.output().expect("running secretrun"))
    }

    /// Runs secretrun to its end within `limit`, and what it used.
    pub fn run_measured(&self, limit: std::time::Duration) -> (Run, Usage) {
        measured(self.command(), limit)
    }
}

/// Waits for `child` to end, at most `limit` (then kills it and fails the test);
/// its exit code, `None` for a death by signal.
#[track_caller]
pub fn wait_within(child: &mut std::process::Child, limit: std::time::Duration) -> Option<i32> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for the child") {
            return status.code();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the process did not end within {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// `command` (made by [`Test::command`]) run in a network namespace of its own,
/// where nothing listens on any port (`unshare --net`, as root): for a test of a
/// default address that must not reach a server this machine may run there.
pub fn without_network(command: &Command) -> Command {
    let unshare = ["/usr/bin/unshare", "/bin/unshare"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("unshare (util-linux) is needed");
    wrapped(command, unshare, &["--net", "--"])
}

/// `command` (made by [`Test::command`]) run through `program` with `args` before
/// it: the same environment (cleared, then what the test set), directory and signal
/// dispositions, its output piped.
fn wrapped(command: &Command, program: &str, args: &[&str]) -> Command {
    let mut wrapper = Command::new(program);
    wrapper
        .args(args)
        .arg(command.get_program())
        .args(command.get_args())
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in command.get_envs() {
        if let Some(value) = value {
            wrapper.env(name, value);
        }
    }
    if let Some(dir) = command.get_current_dir() {
        wrapper.current_dir(dir);
    }
    default_signals(&mut wrapper);
    wrapper
}

/// What one process used, as the kernel counted it for that process alone (`wait4`).
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// Peak resident memory, in KiB.
    pub max_rss_kib: u64,
    /// CPU time, user and system.
    pub cpu: std::time::Duration,
}

/// A small process between the test and the measured one: it forks and execs the
/// command and reports the command's rusage (`wait4`) on a last line of stderr. The
/// kernel counts a process's resident memory from its fork on, when it still holds
/// its parent's pages: forked from this test process, with other tests' data in it,
/// the command would be charged tens of megabytes that are not its own.
const MEASURE: &str = r#"
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, ru = os.wait4(pid, 0)
sys.stderr.write("\n@@usage %d %d\n" % (ru.ru_maxrss, int((ru.ru_utime + ru.ru_stime) * 1e6)))
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
"#;

/// Runs `command` (made by [`Test::command`]: a cleared environment) to its end
/// within `limit` (killed, and the test failed, after it), and returns its output
/// and what it used, as the kernel counted it for that process alone.
pub fn measured(command: Command, limit: std::time::Duration) -> (Run, Usage) {
    let mut child = wrapped(&command, "python3", &["-c", MEASURE])
        .spawn()
        .expect("starting the command");
    let drain = |stream: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut stream) = stream {
                let _ = stream.read_to_end(&mut text);
            }
            text
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    );
    let status = wait_within(&mut child, limit);
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).into_owned();
    let (stderr, report) = stderr
        .rsplit_once("\n@@usage ")
        .expect("the measuring process reports the command's usage");
    let numbers: Vec<u64> = report
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let run = Run {
        status,
        stdout: String::from_utf8_lossy(&out.join().unwrap()).into_owned(),
        stderr: stderr.to_owned(),
    };
    let usage = Usage {
        max_rss_kib: numbers[0],
        cpu: std::time::Duration::from_micros(numbers[1]),
    };
    (run, usage)
}

pub struct Run {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            status: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts the exit status. On failure it prints stderr, which in these tests
    /// holds no secret unless secretrun leaked one; canaries are cut out regardless.
    #[track_caller]
    pub fn status(&self, code: i32) -> &Run {
        assert_eq!(
            self.status,
            Some(code),
            "unexpected status; stderr: {}",
            redact(&self.stderr)
        );
        self
    }

    #[track_caller]
    pub fn success(&self) -> &Run {
        self.status(0)
    }

    #[track_caller]
    pub fn stdout_is(&self, expected: &str) -> &Run {
        assert_eq!(redact(&self.stdout), expected);
        self
    }

    /// `check`'s text report: its `config:` line, a blank line, then `expected`.
    #[track_caller]
    pub fn report_is(&self, expected: &str) -> &Run {
        let text = redact(&self.stdout);
        let (config, rest) = text.split_once("\n\n").unwrap_or(("", &text));
        assert!(config.starts_with("config: "), "no config line: {text}");
        assert_eq!(rest, expected);
        self
    }

    #[track_caller]
    pub fn stderr_is(&self, expected: &str) -> &Run {
        assert_eq!(redact(&self.stderr), expected);
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, part: &str) -> &Run {
        assert!(
            self.stdout.contains(part),
            "stdout lacks {part:?}: {}",
            redact(&self.stdout)
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, part: &str) -> &Run {
        assert!(
            self.stderr.contains(part),
            "stderr lacks {part:?}: {}",
            redact(&self.stderr)
        );
        self
    }

    /// Asserts that no canary appears in stdout or stderr, without printing one.
    #[track_caller]
    pub fn no_canary(&self) -> &Run {
        for (stream, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            assert!(
                !text.contains(CANARY_MARK),
                "a canary value leaked to {stream}"
            );
        }
        self
    }

    /// The child's environment, when the command was `env -0`.
    pub fn env0(&self) -> BTreeMap<String, String> {
        self.stdout
            .split('\0')
            .filter(|s| !s.is_empty())
            .map(|s| {
                let (name, value) = s.split_once('=').expect("NAME=value");
                (name.to_owned(), value.to_owned())
            })
            .collect()
    }
}

/// The signals the tests send, back to their defaults in a program a test starts.
/// A test runner started under `nohup`, or as a background job of a script, passes
/// ignored dispositions on; secretrun rightly keeps a signal its parent ignored (and
/// a non-interactive bash cannot trap one), so a test that sends HUP or INT must not
/// depend on how the test runner itself was started. Tests of ignored signals set
/// the disposition themselves, after this.
pub fn default_signals(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: signal() is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            for sig in [
                libc::SIGHUP,
                libc::SIGINT,
                libc::SIGQUIT,
                libc::SIGTERM,
                libc::SIGUSR1,
                libc::SIGUSR2,
                libc::SIGWINCH,
                libc::SIGCHLD,
            ] {
                libc::signal(sig, libc::SIG_DFL);
            }
            Ok(())
        });
    }
}

/// Every canary value holds this mark; no output of secretrun may.
pub const CANARY_MARK: &str = "CANARY";

/// A canary value that looks like a live Stripe key.
pub const CANARY: &str = "sk_live_CANARY4d5e6f7a8b9c0d1e2f3a4b5c";

/// Replaces anything canary-like so that a failing assertion never prints one.
pub fn redact(text: &str) -> String {
    text.split(CANARY_MARK).collect::<Vec<_>>().join("<canary>")
}

/// A test server's binary (or the Python with Django): in ./.venv, where scripts/test
/// installs them, else on PATH. Missing is a failure, never a skip.
pub fn tool(name: &str) -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(".venv/bin")
        .join(name);
    let on_path = || {
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    };
    venv.is_file().then_some(venv).or_else(on_path).unwrap_or_else(|| {
        panic!("`{name}` is missing: these tests need it installed; run scripts/test, which installs it")
    })
}

/// A program of the fresh virtualenv where scripts/test installs the built wheel,
/// with Django and gunicorn. Missing, the test fails: it does not skip.
pub fn wheel_tool(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/wheel-venv/bin")
        .join(name);
    assert!(
        path.is_file(),
        "`{}` is missing: scripts/test builds the wheel and installs it there",
        path.display()
    );
    path
}

/// The command for a test server: `tool` with a cleared environment whose HOME is a
/// fresh directory (no server reads or writes the real one), output discarded.
/// Returns the command and that HOME.
pub fn server_command(tool_name: &str) -> (Command, PathBuf) {
    let home = tempfile::tempdir().unwrap().keep();
    let mut command = Command::new(tool(tool_name));
    command
        .env_clear()
        .env("HOME", &home)
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    (command, home)
}

/// Starts a server that lives as long as the test process: it is spawned from a
/// thread that never ends, with PR_SET_PDEATHSIG (which follows the spawning
/// thread), so the server is killed when the tests are done.
pub fn spawn_server(mut command: Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only an async-signal-safe call between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        tx.send(command.spawn().map(|c| c.id())).unwrap();
        loop {
            std::thread::park();
        }
    });
    rx.recv().unwrap().expect("starting a test server");
}

/// A pty pair (master, slave) with this window size (rows, columns), for tests that
/// give secretrun a terminal.
pub fn open_pty(size: (u16, u16)) -> (std::fs::File, std::os::fd::OwnedFd) {
    use std::os::fd::FromRawFd;
    let (mut master, mut slave) = (-1, -1);
    let size = libc::winsize {
        ws_row: size.0,
        ws_col: size.1,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: a window size and two out-pointers, all valid.
    let opened = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(opened, 0, "openpty");
    // Close-on-exec, as every descriptor the tests open: a server spawned meanwhile
    // (OpenBao, PostgreSQL) must not inherit the pty and hold it open, or a reader
    // waiting for its end would wait for ever. The slave reaches the program it is
    // meant for as its stdin/stdout/stderr, which dup2 makes inheritable.
    for fd in [master, slave] {
        // SAFETY: a descriptor openpty just gave us.
        let set = unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        assert_eq!(set, 0, "FD_CLOEXEC on the pty");
    }
    // SAFETY: fresh descriptors we own.
    unsafe {
        (
            std::fs::File::from_raw_fd(master),
            std::os::fd::OwnedFd::from_raw_fd(slave),
        )
    }
}

/// Everything written to a pty, once the other side is closed (a master answers EIO
/// then).
pub fn read_pty(mut master: std::fs::File) -> String {
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = std::io::Read::read(&mut master, &mut buf) {
        text.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// A program on a real terminal: a fresh pty whose slave is the program's stdin,
/// stdout, stderr and controlling terminal (it leads a new session), so a shell on
/// it has job control and Ctrl-C, Ctrl-Z and SIGTTOU behave as in a real terminal.
pub struct Terminal {
    master: std::fs::File,
    child: std::process::Child,
    seen: std::sync::mpsc::Receiver<Vec<u8>>,
    /// Everything read so far.
    pub text: String,
}

impl Terminal {
    /// Starts `args` on a new terminal in `dir`, with exactly `env`.
    pub fn spawn(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Terminal {
        use std::os::unix::process::CommandExt;
        let (master, slave) = open_pty((24, 80));
        let mut command = Command::new(args[0]);
        command
            .args(&args[1..])
            .env_clear()
            .envs(env.iter().copied())
            .current_dir(dir)
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        default_signals(&mut command);
        // SAFETY: setsid and ioctl are async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY, 0);
                Ok(())
            });
        }
        let child = command.spawn().expect("starting a program on a pty");
        drop(command);
        let mut reader = master.try_clone().unwrap();
        let (tx, seen) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = std::io::Read::read(&mut reader, &mut buf) {
                if tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Terminal {
            master,
            child,
            seen,
            text: String::new(),
        }
    }

    /// Waits for the program to exit, for at most `limit`; its exit code.
    #[track_caller]
    pub fn exit_code(&mut self, limit: std::time::Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still running after {limit:?}; the terminal shows: {:?}",
                redact(&self.text)
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Types `text` at the terminal (`\x03` is Ctrl-C, `\x1a` Ctrl-Z).
    pub fn send(&mut self, text: &str) {
        std::io::Write::write_all(&mut self.master, text.as_bytes()).unwrap();
    }

    /// Reads until the output holds `want` (after what earlier calls consumed), or
    /// fails after `limit`. Returns the output up to and including it, and consumes it.
    #[track_caller]
    pub fn expect(&mut self, want: &str, limit: std::time::Duration) -> String {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(at) = self.text.find(want) {
                let upto: String = self.text.drain(..at + want.len()).collect();
                return upto;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.seen.recv_timeout(left) {
                Ok(bytes) => self.text.push_str(&String::from_utf8_lossy(&bytes)),
                Err(_) => panic!(
                    "no {want:?} on the terminal within {limit:?}; it shows: {:?}",
                    redact(&self.text)
                ),
            }
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        // Everything in the session, in whatever process group (a stopped secretrun
        // of a failing test would otherwise outlive the run).
        let session = self.child.id() as i32;
        for pid in session_members(session) {
            // SAFETY: a signal to a process of the session this test started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let _ = self.child.wait();
    }
}

/// The processes whose session id is `session`.
fn session_members(session: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    // Fields after the command name: state, ppid, pgrp, session.
                    let rest = stat.rsplit_once(") ")?.1.to_owned();
                    rest.split(' ').nth(3)?.parse::<i32>().ok()
                })
                == Some(session)
        })
        .collect()
}

/// The lines of a stream, read by a thread, so that waiting for one has a limit
/// that holds whether or not other lines arrive.
pub struct Lines(std::sync::mpsc::Receiver<String>);

impl Lines {
    pub fn new(stream: impl std::io::Read + Send + 'static) -> Lines {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stream)) {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines(rx)
    }

    /// The next line; `None` at the end of the stream. Fails after `limit`.
    #[track_caller]
    pub fn next_within(&self, limit: std::time::Duration) -> Option<String> {
        match self.0.recv_timeout(limit) {
            Ok(line) => Some(line),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => None,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                panic!("no line within {limit:?}")
            }
        }
    }

    /// [`Lines::wait_for`] on a child's stdout; when the output ends first, the
    /// failure says how the child ended and what it wrote to stderr (redacted).
    #[track_caller]
    pub fn wait_for_child(
        &self,
        want: &str,
        limit: std::time::Duration,
        child: &mut std::process::Child,
    ) {
        let deadline = std::time::Instant::now() + limit;
        while let Some(line) =
            self.next_within(deadline.saturating_duration_since(std::time::Instant::now()))
        {
            if line == want {
                return;
            }
        }
        let status = wait_within(child, limit);
        let mut stderr = String::new();
        if let Some(mut err) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
        }
        panic!(
            "the output ended before `{}`; the child ended with {status:?}: {}",
            redact(want),
            redact(&stderr)
        );
    }

    /// Reads lines until one equals `want`; fails after `limit` or at the end.
    #[track_caller]
    pub fn wait_for(&self, want: &str, limit: std::time::Duration) {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.0.recv_timeout(left) {
                Ok(line) if line == want => return,
                Ok(_) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("the output ended before `{}`", redact(want))
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    panic!("no `{}` within {limit:?}", redact(want))
                }
            }
        }
    }
}

/// The DER inside a PEM text's first block (the base64 between its BEGIN and END
/// lines).
pub fn pem_der(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN "))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END "))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("a PEM block holds base64")
}

/// Watches a file for opens (inotify, close-on-exec): how a test knows a poller
/// (`--watch`) has read it again, without waiting for time.
pub struct Opens {
    fd: std::os::fd::OwnedFd,
}

impl Opens {
    pub fn of(path: &Path) -> Opens {
        use std::os::fd::FromRawFd;
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: plain system calls; the path is NUL-terminated by CString.
        unsafe {
            let fd = libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK);
            assert!(fd >= 0, "inotify_init1");
            let name = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
            let watch = libc::inotify_add_watch(fd, name.as_ptr(), libc::IN_OPEN);
            assert!(watch >= 0, "inotify_add_watch {}", path.display());
            Opens {
                fd: std::os::fd::OwnedFd::from_raw_fd(fd),
            }
        }
    }

    /// Waits until the file has been opened `count` more times, for at most
    /// `limit`; fails with a message if it was not.
    #[track_caller]
    pub fn wait_for(&self, count: usize, limit: std::time::Duration) {
        use std::os::fd::AsRawFd;
        let deadline = std::time::Instant::now() + limit;
        let mut seen = 0;
        let mut buf = [0u8; 4096];
        while seen < count {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            assert!(!left.is_zero(), "{seen} of {count} opens within {limit:?}");
            let mut poll = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd; a read into a buffer of its length.
            let n = unsafe {
                libc::poll(&mut poll, 1, left.as_millis().min(1000) as i32);
                libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len())
            };
            // Events without a name are 16 bytes each (a watch on a file, not a
            // directory).
            if n > 0 {
                seen += n as usize / size_of::<libc::inotify_event>();
            }
        }
    }
}

/// `dir` and everything below it, each directory before what it holds.
pub fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut all = vec![dir.to_owned()];
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        match entry.path() {
            path if path.is_dir() => all.extend(tree(&path)),
            path => all.push(path),
        }
    }
    all
}
