//! Writing age files: the recipients as written (keys, recipients files) and the
//! encryption `encrypt` and `edit` do.

use std::io::Write;
use std::path::Path;

use age::Encryptor;
use age::armor::{ArmoredWriter, Format};
use anyhow::Result;

use crate::error::{Failure, Kind};
use crate::escape::os;

/// A recipient as written: `age1…`, or an SSH public key line.
pub fn parse_recipient(text: &str, label: &str) -> Result<Box<dyn age::Recipient + Send>> {
    let text = text.trim();
    if text.starts_with("age1") {
        return text
            .parse::<age::x25519::Recipient>()
            .map(|r| Box::new(r) as Box<dyn age::Recipient + Send>)
            .map_err(|_| {
                Failure::new(Kind::Config, format!("{label}: not a valid age recipient")).into()
            });
    }
    if text.starts_with("ssh-") {
        return text
            .parse::<age::ssh::Recipient>()
            .map(|r| Box::new(r) as Box<dyn age::Recipient + Send>)
            .map_err(|_| {
                Failure::new(
                    Kind::Config,
                    format!("{label}: not an SSH public key age can use (ssh-ed25519 or ssh-rsa)"),
                )
                .into()
            });
    }
    Err(Failure::new(
        Kind::Config,
        format!("{label}: a recipient is an `age1…` key or an SSH public key"),
    )
    .into())
}

/// The recipients of a recipients file: one a line, `#` comments and blank lines
/// skipped (the format of `age -R`, and of GitHub's `https://github.com/USER.keys`).
pub fn parse_recipients_file(path: &Path) -> Result<Vec<(Box<dyn age::Recipient + Send>, String)>> {
    let shown = os(path.as_os_str());
    let bytes = super::read_file(path)
        .map_err(|e| Failure::new(Kind::Config, format!("recipients file `{shown}`: {e}")))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let recipient = parse_recipient(line, &format!("`{shown}` line {}", i + 1))?;
        out.push((recipient, short_recipient(line)));
    }
    Ok(out)
}

/// A recipient shortened for a message that lets a person see who a file is
/// encrypted to: `age1qyqs…x7dp`, `ssh-ed25519 …Jz4q alice@example`.
pub fn short_recipient(text: &str) -> String {
    let text = text.trim();
    let mut words = text.split_whitespace();
    let first = words.next().unwrap_or("");
    let tail = |w: &str| w.get(w.len().saturating_sub(4)..).unwrap_or("").to_owned();
    if first.starts_with("age1") {
        return format!("{}…{}", first.get(..9).unwrap_or(first), tail(first));
    }
    let key = words.next().unwrap_or("");
    let comment: Vec<&str> = words.collect();
    let shown = format!("{first} …{} {}", tail(key), comment.join(" "));
    crate::escape::Escaped(shown.trim_end()).to_string()
}

/// Encrypts to the recipients, armored or binary.
pub fn encrypt(
    plain: &[u8],
    recipients: &[Box<dyn age::Recipient + Send>],
    armor: bool,
) -> Result<Vec<u8>> {
    let encryptor = Encryptor::with_recipients(recipients.iter().map(|r| r.as_ref() as _))
        .map_err(|e| {
            Failure::new(
                Kind::Config,
                format!("cannot encrypt to these recipients: {e}"),
            )
        })?;
    let format = if armor {
        Format::AsciiArmor
    } else {
        Format::Binary
    };
    let armored = ArmoredWriter::wrap_output(Vec::new(), format)?;
    let mut writer = encryptor.wrap_output(armored)?;
    writer.write_all(plain)?;
    Ok(writer.finish()?.finish()?)
}
