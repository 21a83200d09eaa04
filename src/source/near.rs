//! Near misses: a source or a dotenv value that looks like a mistyped store
//! reference (`vualt://…`, `vault:/…`) is an error naming what was likely meant,
//! rather than a dotenv path that is not there or a literal handed to the app.

use std::path::Path;

use anyhow::Result;

use super::reference::Scheme;
use crate::error::{Kind, fail};
use crate::escape::{Escaped, os};

/// The reference `text` was likely meant to be, when it looks like a mistyped
/// one: a scheme an edit or two from a known one (`vualt://`), or a known scheme
/// without its two slashes (`vault:/secret/app`, `aws-sm:prod/db`).
pub fn meant(text: &str) -> Option<String> {
    let (scheme, rest) = text.split_once(':')?;
    let rest = rest.trim_start_matches('/');
    let named = |s: &Scheme| s.prefix().trim_end_matches("://").to_owned();
    let known = Scheme::ALL.iter().find(|s| named(s) == scheme);
    let meant = match known {
        // `vault://…` is a reference already; `vault:/…` and `vault:…` are not.
        Some(s) if !text.starts_with(s.prefix()) => s,
        Some(_) => return None,
        None if text[scheme.len()..].starts_with("://") => Scheme::ALL
            .iter()
            .find(|s| crate::names::near(scheme, &named(s)))?,
        None => return None,
    };
    (!rest.is_empty()).then(|| format!("{}{rest}", meant.prefix()))
}

/// A dotenv value that looks like a mistyped reference (`vualt://…`, `vault:/…`) is
/// an error naming the scheme meant, never the value; single quotes keep such a
/// value literal.
pub fn in_dotenv(value: &str, path: &Path, line: usize, name: &str) -> Result<()> {
    let Some(meant) = meant(value) else {
        return Ok(());
    };
    let scheme = &meant[..meant.find("://").map_or(0, |at| at + 3)];
    fail(
        Kind::Config,
        format!(
            "in `{}` line {line}, the value of `{}` looks like a mistyped `{scheme}` reference; \
             write it as one, or in single quotes if it is meant as it is",
            os(path.as_os_str()),
            Escaped(name)
        ),
    )
}
