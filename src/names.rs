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

/// Whether `typed` looks like a misspelling of `known`: different, and one edit
/// away (a letter added, dropped, changed, or two swapped), or two for a word of
/// six letters or more. Long words are never near: the measure is quadratic.
pub fn near(typed: &str, known: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (typed.chars().collect(), known.chars().collect());
    if a == b || a.len() > 64 || b.len() > 64 {
        return false;
    }
    let allowed = if b.len() >= 6 { 2 } else { 1 };
    if a.len().abs_diff(b.len()) > allowed {
        return false;
    }
    // Optimal string alignment distance, row by row.
    let mut before = vec![0usize; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (previous[j] + 1)
                .min(row[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(before[j - 2] + 1);
            }
        }
        before = std::mem::replace(&mut previous, row);
    }
    previous[b.len()] <= allowed
}

#[cfg(test)]
mod tests {
    #[test]
    fn near_misses_are_an_edit_or_two_away() {
        for (typed, known) in [
            ("vualt", "vault"),
            ("lsit", "list"),
            ("chek", "check"),
            ("aws-ms", "aws-sm"),
            ("gcp-sn", "gcp-sm"),
            ("azure-vk", "azure-kv"),
        ] {
            assert!(near(typed, known), "{typed} ~ {known}");
        }
        for (typed, known) in [
            ("vault", "vault"),
            ("http", "vault"),
            ("postgres", "vault"),
            ("ls", "list"),
            ("s3", "aws-sm"),
        ] {
            assert!(!near(typed, known), "{typed} !~ {known}");
        }
        assert!(!near(&"a".repeat(1000), "vault"));
    }

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
