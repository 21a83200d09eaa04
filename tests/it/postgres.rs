//! A real PostgreSQL server (Debian's `postgresql`) on a loopback port, its data in
//! a temp directory, shared by the tests of this binary: what OpenBao's database
//! secrets engine makes users in. The admin connects without a password, and only
//! from loopback (`trust` for it alone): every other user needs its password, so a
//! leased user that works proves its password was the one Vault made. It speaks
//! TLS too, and `cert_user` logs in only with a client certificate its CA signed
//! (`hostssl … cert`): what a key delivered as a file (`--file`) must open.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct Postgres {
    pub port: u16,
    /// The CA's certificate, and `cert_user`'s certificate and key, as PEM text.
    pub tls: ClientTls,
}

pub struct ClientTls {
    pub ca: String,
    pub cert: String,
    pub key: String,
}

/// Runs openssl in `dir`; fails the test if it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("openssl (the README's test command installs it)");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA, the server's certificate and `cert_user`'s, in `dir` (the data
/// directory, where the server reads its own).
fn certificates(dir: &Path) -> ClientTls {
    let subj = |cn: &str| format!("/CN={cn}");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-subj",
            &subj("test-ca"),
        ],
    );
    for (name, cn) in [("server", "127.0.0.1"), ("client", "cert_user")] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &subj(cn),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &format!("{name}.crt"),
            ],
        );
    }
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    ClientTls {
        ca: read("ca.crt"),
        cert: read("client.crt"),
        key: read("client.key"),
    }
}

/// The server binaries: the newest `/usr/lib/postgresql/N/bin`. Missing is a
/// failure, never a skip.
fn bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!(
            "PostgreSQL is missing (/usr/lib/postgresql/N/bin/postgres): these tests need it; \
             scripts/test installs Debian's `postgresql`"
        )
    })
}

/// PostgreSQL refuses to run as root: as root, its programs run as the `postgres`
/// user the Debian package makes, through setpriv (which also keeps the
/// parent-death signal that changing user clears).
fn as_server_user(program: &Path) -> Command {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Command::new(program);
    }
    let mut command = Command::new("setpriv");
    command
        .args([
            "--reuid=postgres",
            "--regid=postgres",
            "--clear-groups",
            "--pdeathsig=KILL",
        ])
        .arg(program);
    command
}

fn start() -> Postgres {
    let bin = bin_dir();
    let dir = tempfile::tempdir().unwrap().keep();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let status = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success(), "chown of the data directory failed");
    }
    let data = dir.join("data");
    let init = as_server_user(&bin.join("initdb"))
        .args([
            "-U",
            "admin",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        ])
        .args(["--no-sync", "-E", "UTF8", "-D"])
        .arg(&data)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    // The admin alone connects without a password, and only from loopback;
    // `cert_user` only with a certificate.
    std::fs::write(
        data.join("pg_hba.conf"),
        "local all admin trust\nhost all admin 127.0.0.1/32 trust\n\
         hostssl all cert_user 127.0.0.1/32 cert\n\
         host all all 127.0.0.1/32 scram-sha-256\n",
    )
    .unwrap();
    let tls = certificates(&data);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&data)
            .status()
            .unwrap();
        assert!(status.success(), "chown of the certificates failed");
    }
    let port = crate::stub::server_port();
    let mut server = as_server_user(&bin.join("postgres"));
    server
        .arg("-D")
        .arg(&data)
        .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
        .args([
            "-c",
            "ssl=on",
            "-c",
            "ssl_cert_file=server.crt",
            "-c",
            "ssl_key_file=server.key",
        ])
        .args(["-c", "ssl_ca_file=ca.crt"])
        .args(["-p", &port.to_string(), "-k"])
        .arg(&dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    crate::util::spawn_server(server);
    let pg = Postgres { port, tls };
    let started = Instant::now();
    while pg.try_sql("select 1").as_deref() != Some("1") {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "PostgreSQL did not start within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    pg
}

/// The shared server.
pub fn server() -> &'static Postgres {
    static SERVER: OnceLock<Postgres> = OnceLock::new();
    SERVER.get_or_init(start)
}

impl Postgres {
    fn try_sql(&self, query: &str) -> Option<String> {
        let output = Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args([
                "-U", "admin", "-d", "postgres", "-X", "-A", "-t", "-c", query,
            ])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .stdin(Stdio::null())
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// A query as the admin; its output, unaligned, one row a line.
    pub fn sql(&self, query: &str) -> String {
        self.try_sql(query)
            .unwrap_or_else(|| panic!("the query failed: {query}"))
    }

    /// The users whose names contain `part`.
    pub fn users_like(&self, part: &str) -> Vec<String> {
        let query = format!("select rolname from pg_roles where strpos(rolname, '{part}') > 0");
        self.sql(&query)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }
}
