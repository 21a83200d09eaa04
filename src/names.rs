//! Names and globs: what a variable name is, what a `--keep` pattern is, how a
//! glob matches, and which names are the credentials secretrun fetches with. A leaf
//! module: it uses no other.

/// Prefixes of the credentials and settings secretrun reads to fetch secrets. A glob
/// never passes them; only `--keep` with the exact name does.
pub const PROTECTED_PREFIXES: &[&str] = &[
    "VAULT_",
    "BAO_",
    "AWS_",
    "SECRETRUN_",
    "DOTENV_PRIVATE_KEY",
    // Azure's credential chain: the environment credential, workload identity,
    // App Service's managed identity (and its older MSI_ names).
    "AZURE_",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    // Google's Application Default Credentials and gcloud's configuration.
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CLOUD_PROJECT",
    "GCE_METADATA_",
    "CLOUDSDK_",
];

/// Whether `name` is one of the credentials and settings secretrun fetches with.
pub fn is_protected(name: &str) -> bool {
    PROTECTED_PREFIXES
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// True for a POSIX portable variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'A'..=b'Z' | b'a'..=b'z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A `--keep` pattern: a variable name where `*` and `?` may stand for characters.
pub fn is_valid_pattern(pattern: &str) -> bool {
    !pattern.is_empty()
        && pattern
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'*' | b'?'))
}

/// `*` matches any run of characters, `?` one character; everything else itself.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    // Where to resume after the last `*`: the pattern index past it, and the name
    // index it has consumed up to.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi + 1, ni));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((after, consumed)) => {
                    pi = after;
                    ni = consumed + 1;
                    star = Some((after, consumed + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("LC_*", "LC_ALL"));
        assert!(glob_match("LC_*", "LC_"));
        assert!(!glob_match("LC_*", "LANG"));
        assert!(glob_match("*_URL", "DATABASE_URL"));
        assert!(glob_match("A?C*D", "ABCxxD"));
        assert!(!glob_match("A?C*D", "ABCxxE"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXbYbZc"));
        assert!(!glob_match("PORT", "PORTS"));
    }

    #[test]
    fn patterns() {
        assert!(is_valid_pattern("RAILWAY_*"));
        assert!(!is_valid_pattern("A=B"));
        assert!(!is_valid_pattern(""));
    }
}
