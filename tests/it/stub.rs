//! A tiny HTTP/1.1 server on loopback that answers as a provider does, for probe
//! tests. It records each request's method, path and headers.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

/// Holds a stub's answers while the test's launch runs: [`Held::wait`] returns
/// once the test drops the [`Release`] (or after half a minute, so a failing test
/// still ends). A store that does not answer, for as long as the test needs.
pub struct Held(Mutex<std::sync::mpsc::Receiver<()>>);
pub struct Release(#[allow(dead_code)] std::sync::mpsc::Sender<()>);

pub fn held() -> (Release, Held) {
    let (release, held) = std::sync::mpsc::channel();
    (Release(release), Held(Mutex::new(held)))
}

impl Held {
    pub fn wait(&self) {
        let held = self.0.lock().unwrap();
        let _ = held.recv_timeout(std::time::Duration::from_secs(30));
    }
}

#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct Stub {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Request>>>,
}

impl Stub {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Serves `handler`'s (status, JSON body) for every request until the test ends. For
/// a 3xx status the body is the `Location` it redirects to.
pub fn serve(handler: impl Fn(&Request) -> (u16, String) + Send + Sync + 'static) -> Stub {
    serve_with_body(move |request, _| handler(request))
}

/// As [`serve`], with the request's body.
pub fn serve_with_body(
    handler: impl Fn(&Request, &str) -> (u16, String) + Send + Sync + 'static,
) -> Stub {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&requests);
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (seen, handler) = (Arc::clone(&seen), Arc::clone(&handler));
            // One thread a connection, so that slow answers overlap as a server's do.
            std::thread::spawn(move || answer(stream, &*handler, &seen));
        }
    });
    Stub { addr, requests }
}

fn answer(
    mut stream: std::net::TcpStream,
    handler: &dyn Fn(&Request, &str) -> (u16, String),
    seen: &Mutex<Vec<Request>>,
) {
    {
        {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                return;
            }
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or("").to_owned();
            let path = parts.next().unwrap_or("").to_owned();
            let mut headers = Vec::new();
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                    break;
                }
                if let Some((n, v)) = header.split_once(':') {
                    headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
                }
            }
            let length: usize = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
                return;
            }
            let request = Request {
                method,
                path,
                headers,
            };
            let (status, body) = handler(&request, &String::from_utf8_lossy(&body));
            seen.lock().unwrap().push(request);
            // A redirect's "body" is where it points.
            // A throttling answer says when to come back, as stores do.
            let (location, body) = if (300..400).contains(&status) {
                (format!("Location: {body}\r\n"), String::new())
            } else if status == 429 {
                ("Retry-After: 1\r\n".to_owned(), body)
            } else {
                (String::new(), body)
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\n{location}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    }
}

/// A loopback port that provably has nothing listening on it, for as long as the
/// tests run: a socket of ours is bound to it and never listens, so a connection is
/// refused and no server (of these tests or another program) can take the port.
pub fn closed_port() -> u16 {
    use std::os::fd::{FromRawFd, OwnedFd};
    static HELD: Mutex<Vec<OwnedFd>> = Mutex::new(Vec::new());
    // SAFETY: plain socket calls on a descriptor we own; the address is a valid
    // sockaddr_in of the size given.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let fd = OwnedFd::from_raw_fd(fd);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
        let bound = libc::bind(raw, (&raw const addr).cast(), len);
        assert_eq!(bound, 0, "bind: {}", std::io::Error::last_os_error());
        let mut len = len;
        let named = libc::getsockname(raw, (&raw mut addr).cast(), &mut len);
        assert_eq!(named, 0, "getsockname: {}", std::io::Error::last_os_error());
        HELD.lock().unwrap().push(fd);
        u16::from_be(addr.sin_port)
    }
}

/// A loopback address that accepts connections and never answers (a server that
/// hangs), for as long as the tests run.
pub fn stalled_listener() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let _held: Vec<_> = listener.incoming().collect();
    });
    addr
}

/// A loopback port for a test server to listen on: free when chosen, and never
/// handed out twice in this test process, so the servers of tests that run at once
/// cannot pick the same one. (A server still checks, once up, that what answers on
/// its port is itself.)
pub fn server_port() -> u16 {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut given = GIVEN.lock().unwrap();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// A minimal blocking HTTP/1.1 client for test servers on loopback: returns the
/// status and the body as text.
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    use std::io::Read;
    let rest = url.strip_prefix("http://").expect("http:// URL");
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream =
        std::net::TcpStream::connect(host).unwrap_or_else(|e| panic!("connecting to {host}: {e}"));
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
    {
        request.push_str("Content-Type: application/json\r\n");
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer);
    let (head, rest) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    (
        status,
        if chunked {
            dechunk(rest)
        } else {
            rest.to_owned()
        },
    )
}

/// [`http`] with a JSON body and a JSON answer (Null when empty or not JSON).
pub fn http_json(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&serde_json::Value>,
) -> (u16, serde_json::Value) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let (status, text) = http(method, url, headers, &body);
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// Counts requests in progress at a stub and the most there were at once: proof of
/// concurrency that does not depend on how fast the machine is.
#[derive(Default)]
pub struct InFlight {
    now: std::sync::atomic::AtomicUsize,
    max: std::sync::atomic::AtomicUsize,
}

pub struct InFlightGuard<'a>(&'a InFlight);

impl InFlight {
    /// Marks a request in progress until the guard is dropped.
    pub fn enter(&self) -> InFlightGuard<'_> {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.now.fetch_add(1, SeqCst) + 1;
        self.max.fetch_max(now, SeqCst);
        InFlightGuard(self)
    }

    pub fn max(&self) -> usize {
        self.max.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// What a Vault stub answers before its own logic, as OpenBao would: no token → 403;
/// the mount lookup (`sys/internal/ui/mounts/…`) → a KV mount of this `version` at
/// `secret/`, and 403 for a path on any other mount; a method other than GET → 405;
/// a read outside the KV read path of that version (`secret/data/…` for v2,
/// `secret/…` for v1) → 404. `None` for a correct read, which the stub answers. A
/// client that forgets the token, the lookup or the `data/` step fails against it.
pub fn vault_checks(request: &Request, version: u8) -> Option<(u16, String)> {
    let denied = || (403, r#"{"errors":["permission denied"]}"#.to_owned());
    if request.header("x-vault-token").is_none_or(str::is_empty) {
        return Some(denied());
    }
    if let Some(rest) = request.path.strip_prefix("/v1/sys/internal/ui/mounts/") {
        return Some(if rest.starts_with("secret/") {
            let answer = format!(
                r#"{{"data":{{"path":"secret/","type":"kv","options":{{"version":"{version}"}}}}}}"#
            );
            (200, answer)
        } else {
            denied()
        });
    }
    if request.method != "GET" {
        return Some((405, r#"{"errors":[]}"#.to_owned()));
    }
    let read = if version == 2 {
        "/v1/secret/data/"
    } else {
        "/v1/secret/"
    };
    if !request.path.starts_with(read) {
        return Some((404, r#"{"errors":[]}"#.to_owned()));
    }
    None
}

/// What an AWS Secrets Manager stub answers before its own logic, as AWS would: a
/// POST to `/` in the `x-amz-json-1.1` protocol, signed with SigV4 for `us-east-1`
/// and the `secretsmanager` service (the scope is checked, not the signature, which
/// moto's tests cover), with the operation in `x-amz-target`. `None` when all holds.
pub fn aws_checks(request: &Request, operation: &str) -> Option<(u16, String)> {
    let error = |status: u16, kind: &str| {
        Some((status, format!(r#"{{"__type":"{kind}","message":"stub"}}"#)))
    };
    if request.method != "POST" || request.path != "/" {
        return error(404, "UnknownOperationException");
    }
    if request.header("content-type") != Some("application/x-amz-json-1.1") {
        return error(400, "SerializationException");
    }
    let Some(auth) = request.header("authorization") else {
        return error(400, "MissingAuthenticationTokenException");
    };
    let complete = auth.starts_with("AWS4-HMAC-SHA256 Credential=")
        && auth.contains("SignedHeaders=")
        && auth.contains("Signature=")
        && request.header("x-amz-date").is_some();
    if !complete {
        return error(400, "IncompleteSignatureException");
    }
    if !auth.contains("/us-east-1/secretsmanager/aws4_request") {
        // As AWS says of a credential scoped to another region or service.
        return error(403, "InvalidSignatureException");
    }
    if request.header("x-amz-target") != Some(&format!("secretsmanager.{operation}")) {
        return error(400, "UnknownOperationException");
    }
    None
}

#[test]
fn the_vault_stub_refuses_what_vault_refuses() {
    let vault = serve(|request| vault_checks(request, 2).unwrap_or((200, "{}".into())));
    let url = |path: &str| format!("{}{path}", vault.url());
    let token = [("X-Vault-Token", "t")];
    assert_eq!(http("GET", &url("/v1/secret/data/app"), &[], "").0, 403);
    assert_eq!(http("GET", &url("/v1/secret/app"), &token, "").0, 404);
    assert_eq!(http("POST", &url("/v1/secret/data/app"), &token, "").0, 405);
    assert_eq!(
        http(
            "GET",
            &url("/v1/sys/internal/ui/mounts/other/x"),
            &token,
            ""
        )
        .0,
        403
    );
    assert_eq!(
        http(
            "GET",
            &url("/v1/sys/internal/ui/mounts/secret/x"),
            &token,
            ""
        )
        .0,
        200
    );
    assert_eq!(http("GET", &url("/v1/secret/data/app"), &token, "").0, 200);
}

#[test]
fn the_aws_stub_refuses_unsigned_or_misdirected_calls() {
    let aws =
        serve(|request| aws_checks(request, "BatchGetSecretValue").unwrap_or((200, "{}".into())));
    let signed = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Date", "20261129T000000Z"),
        ("X-Amz-Target", "secretsmanager.BatchGetSecretValue"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIA/20261129/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00",
        ),
    ];
    let post = |headers: &[(&str, &str)]| http("POST", &format!("{}/", aws.url()), headers, "{}").0;
    assert_eq!(post(&signed), 200);
    assert_eq!(post(&signed[..3]), 400);
    let mut wrong_region = signed;
    wrong_region[3].1 = "AWS4-HMAC-SHA256 Credential=AKIA/20261129/eu-west-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00";
    assert_eq!(post(&wrong_region), 403);
    let mut wrong_operation = signed;
    wrong_operation[2].1 = "secretsmanager.GetSecretValue";
    assert_eq!(post(&wrong_operation), 400);
}
