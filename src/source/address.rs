//! Server addresses as secretrun shows and compares them. Shown, an address never
//! carries its user name, password, query or fragment (`http://admin:PW@host/?token=…`
//! would otherwise print a credential in an error); compared, it is reduced to its
//! origin (scheme, host, port), the unit a credential is bound to.

use crate::escape::Escaped;

/// `scheme://host[:port]/path` of `addr`, without userinfo, query and fragment,
/// control characters escaped. Everything up to the last `@` is taken for userinfo,
/// wherever it stands (a password may hold `/`, `?` or `#`). Text that is not
/// `scheme://…` does not parse as an address, so where its parts are cannot be known,
/// and it is never shown whole: what follows its last `@`, else what stands before
/// its first `:`, `/`, `?`, `#`, `\\` or space, with `…` for the rest
/// (`http:/user:PASS@host` shows as `…host`, `http:/host` as `http…`).
pub fn shown(addr: &str) -> String {
    let before_query = |s: &str| s[..s.find(['?', '#']).unwrap_or(s.len())].to_owned();
    let text = match addr.split_once("://").filter(|(s, _)| is_scheme(s)) {
        Some((scheme, rest)) => {
            let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{}", before_query(host))
        }
        None => match addr.rsplit_once('@') {
            Some((_, host)) => format!("…{}", before_query(host)),
            None => {
                let end = addr
                    .find(|c: char| matches!(c, ':' | '/' | '?' | '#' | '\\') || c.is_whitespace())
                    .unwrap_or(addr.len());
                let more = if end < addr.len() { "…" } else { "" };
                format!("{}{more}", &addr[..end])
            }
        },
    };
    Escaped(&text).to_string()
}

/// Whether `text` can be a URL's scheme: a letter, then letters, digits, `+`, `-`, `.`.
fn is_scheme(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// Where an address's authority (user, host, port) ends. URL parsers of the web's
/// standard, reqwest's among them, read `\` as `/` in http(s) addresses, so it ends
/// the authority too: `http://evil\@trusted` goes to `evil`.
const AUTHORITY_END: [char; 4] = ['/', '\\', '?', '#'];

/// Whether `addr` carries a user name, password, query or fragment.
pub fn has_extras(addr: &str) -> bool {
    let rest = addr.split_once("://").map_or(addr, |(_, rest)| rest);
    let authority = &rest[..rest.find(AUTHORITY_END).unwrap_or(rest.len())];
    authority.contains('@') || rest.contains(['?', '#'])
}

/// Whether an endpoint the user's own environment or credentials file names may
/// carry a token: https, or plain http to this machine's loopback (a test server),
/// and no user name, password, query or fragment either way.
pub fn is_https_or_loopback(addr: &str) -> bool {
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|l| {
            addr.strip_prefix(l)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        });
    (addr.starts_with("https://") || loopback) && !has_extras(addr)
}

/// The origin of an http(s) address, `scheme://host:port` in lower case with the
/// default port filled in; `None` for anything else, and for an address with a user
/// name or password (whose host is easy to misread, for people and parsers alike).
pub fn origin(addr: &str) -> Option<String> {
    let (scheme, rest) = addr.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let host_port = &rest[..rest.find(AUTHORITY_END).unwrap_or(rest.len())];
    if host_port.contains('@') || host_port.chars().any(|c| c.is_control() || c == ' ') {
        return None;
    }
    let (host, port) = match host_port.rsplit_once(':') {
        // An IPv6 literal's colons are inside brackets.
        Some((host, port)) if !port.contains(']') => (host, port.parse::<u16>().ok()?),
        _ => (host_port, default_port),
    };
    if host.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{}:{port}", host.to_ascii_lowercase()))
}

/// Whether the user trusts `addr`'s origin: it is listed (comma- or space-separated)
/// in `trusted`, the value of `SECRETRUN_TRUSTED_ORIGINS` in the user's environment.
pub fn is_trusted(addr: &str, trusted: Option<&str>) -> bool {
    let Some(wanted) = origin(addr) else {
        return false;
    };
    trusted
        .unwrap_or("")
        .split([',', ' ', '\n', '\t'])
        .filter(|s| !s.is_empty())
        .any(|listed| origin(listed).as_deref() == Some(wanted.as_str()))
}

/// What to set to trust `addr`: `SECRETRUN_TRUSTED_ORIGINS=<its origin>`, for the
/// message that refuses a project file's address.
pub fn trust_hint(addr: &str) -> String {
    let origin = origin(addr).unwrap_or_else(|| shown(addr));
    format!("SECRETRUN_TRUSTED_ORIGINS={}", Escaped(&origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_or_loopback_only_and_no_lookalike_host() {
        for good in [
            "https://login.example.com",
            "http://127.0.0.1:8080/token",
            "http://localhost",
            "http://[::1]:9/x",
        ] {
            assert!(is_https_or_loopback(good), "{good}");
        }
        for bad in [
            "http://example.com",
            "http://localhost.evil.com",
            "http://127.0.0.1.evil.com:80",
            "http://127.0.0.1@evil.com",
            "https://user:pw@example.com",
            "https://example.com/?next=x",
            "ftp://127.0.0.1",
        ] {
            assert!(!is_https_or_loopback(bad), "{bad}");
        }
    }

    #[test]
    fn shown_without_credentials() {
        assert_eq!(
            shown("http://admin:PW@vault.example:8200/x?token=T#f"),
            "http://vault.example:8200/x"
        );
        assert_eq!(shown("https://h:1?token=T"), "https://h:1");
        assert_eq!(shown("https://u@h"), "https://h");
        assert_eq!(shown("https://h\n"), "https://h\\n");
        // A password holding `/`, `?` or `#` is cut with the rest of the userinfo.
        assert_eq!(shown("http://u:p/w?x#y@h:1/z"), "http://h:1/z");
        // Text that is not `scheme://…` is never shown whole.
        for (text, seen) in [
            ("http:/user:CANARY@host", "…host"),
            ("http//user:CANARY@host/p?q", "…host/p"),
            ("CANARY@host", "…host"),
            ("://user:CANARY@host", "…host"),
            ("http:/host:8200", "http…"),
            ("vault.example", "vault.example"),
        ] {
            assert_eq!(shown(text), seen, "{text}");
        }
        assert_eq!(shown("https://[::1]:8200"), "https://[::1]:8200");
    }

    #[test]
    fn extras() {
        assert!(has_extras("http://a:b@h"));
        assert!(has_extras("http://h/?token=1"));
        assert!(has_extras("http://h#x"));
        assert!(!has_extras("https://h:8200/v1/x"));
        assert!(!has_extras("https://h/p@th"));
        assert!(!has_extras("https://h\\p@th"));
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin("HTTPS://Vault.Example").unwrap(),
            "https://vault.example:443"
        );
        assert_eq!(origin("http://h:8200/x").unwrap(), "http://h:8200");
        assert_eq!(origin("http://[::1]:8200").unwrap(), "http://[::1]:8200");
        assert_eq!(origin("http://[::1]").unwrap(), "http://[::1]:80");
        assert_eq!(origin("ftp://h"), None);
        assert_eq!(origin("http://h:notaport"), None);
    }

    #[test]
    fn trust_is_by_origin() {
        let list = Some("https://vault.team.example, http://127.0.0.1:8200");
        assert!(is_trusted("https://vault.team.example:443/", list));
        assert!(is_trusted("http://127.0.0.1:8200", list));
        assert!(!is_trusted("http://127.0.0.1:8201", list));
        assert!(!is_trusted("http://vault.team.example", list));
        assert!(!is_trusted("https://vault.team.example.attacker", list));
        assert!(!is_trusted("https://vault.team.example", None));
        // What a URL parser would send elsewhere is never the trusted origin.
        assert!(!is_trusted(
            "https://evil.example\\@vault.team.example",
            list
        ));
        assert!(!is_trusted("https://vault.team.example@evil.example", list));
        assert!(!is_trusted("https://u:p@vault.team.example", list));
        assert_eq!(
            origin("http://evil\\@trusted").as_deref(),
            Some("http://evil:80")
        );
    }
}
