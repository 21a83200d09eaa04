//! What each store's path may be: it becomes part of a URL, so only what the store
//! allows is let through, and Google's resource names are brought to one form.

use super::Scheme;

/// The path of a reference to `scheme`, checked, and the version its resource
/// name pins (Google's `…/versions/N`).
pub(super) fn store_path(scheme: Scheme, path: &str) -> Result<(String, Option<u64>), String> {
    match scheme {
        Scheme::Vault => check_vault_path(path).map(|()| (path.to_owned(), None)),
        Scheme::AzureKv => check_azure_path(path).map(|()| (path.to_owned(), None)),
        Scheme::GcpSm => gcp_path(path),
        Scheme::AwsSm => Ok((path.to_owned(), None)),
    }
}

/// A Vault path becomes part of a URL, where `..`, `%2e%2e` and `\` would move the
/// request to another endpoint (`secret/../auth/token/lookup-self`): each segment
/// must be plain.
fn check_vault_path(path: &str) -> Result<(), String> {
    for segment in path.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err("the path has an empty, `.` or `..` segment".into());
        }
    }
    if path.contains(['%', '\\']) || path.chars().any(char::is_control) {
        return Err("the path holds `%`, `\\` or a control character".into());
    }
    Ok(())
}

/// An Azure reference is `VAULT/NAME`: a vault's name (`my-vault`, of
/// `my-vault.vault.azure.net`) or its host (`my-vault.vault.azure.cn`, with a port
/// where one is needed), and a secret name, which Key Vault allows only of
/// `[0-9A-Za-z-]`. Both become part of a URL: nothing else is let through.
fn check_azure_path(path: &str) -> Result<(), String> {
    let Some((vault, name)) = path.split_once('/') else {
        return Err("write it as `VAULT/NAME`".into());
    };
    let host_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':');
    if vault.is_empty() || !vault.bytes().all(host_char) || vault.starts_with(['-', '.']) {
        return Err("the vault is a name or a host, of letters, digits, `-` and `.`".into());
    }
    if name.is_empty()
        || name.len() > 127
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(
            "an Azure secret name is 1 to 127 letters, digits and `-` (no `/`, `_` or `.`)".into(),
        );
    }
    Ok(())
}

/// A Google reference is `PROJECT/SECRET`, or the resource name
/// `projects/PROJECT/secrets/SECRET[/versions/VERSION]`: the path `PROJECT/SECRET`
/// and the version its resource name pins (`latest` pins none). Project ids are
/// lowercase letters, digits and `-`; secret ids letters, digits, `-` and `_`.
fn gcp_path(path: &str) -> Result<(String, Option<u64>), String> {
    let parts: Vec<&str> = path.split('/').collect();
    let (project, secret, version) = match parts.as_slice() {
        [project, secret] => (*project, *secret, None),
        ["projects", project, "secrets", secret] => (*project, *secret, None),
        ["projects", project, "secrets", secret, "versions", version] => {
            (*project, *secret, Some(*version))
        }
        _ => {
            return Err(
                "write it as `PROJECT/SECRET` or `projects/PROJECT/secrets/SECRET[/versions/N]`"
                    .into(),
            );
        }
    };
    let project_ok = !project.is_empty()
        && project
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !project_ok {
        return Err("a Google project id is lowercase letters, digits and `-`".into());
    }
    let secret_ok = !secret.is_empty()
        && secret.len() <= 255
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if !secret_ok {
        return Err("a Google secret id is 1 to 255 letters, digits, `-` and `_`".into());
    }
    let version = match version {
        None | Some("latest") => None,
        Some(v) => Some(v.parse().map_err(|_| "a version is a number or `latest`")?),
    };
    Ok((format!("{project}/{secret}"), version))
}
