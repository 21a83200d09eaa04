//! Escaping for anything echoed from input (paths, names, command words): control
//! characters would otherwise let a file name rewrite the user's terminal.

use std::fmt;

/// Displays a string with control characters escaped (`\n`, `\t`, `\x1b`, `\u{85}`).
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if (c as u32) < 0x20 || c as u32 == 0x7f => write!(f, "\\x{:02x}", c as u32)?,
                c if c.is_control() => write!(f, "\\u{{{:x}}}", c as u32)?,
                c => fmt::Write::write_char(f, c)?,
            }
        }
        Ok(())
    }
}

/// Escapes a path or OS string for display, lossily for non-UTF-8 bytes.
pub fn os(s: &std::ffi::OsStr) -> String {
    Escaped(&s.to_string_lossy()).to_string()
}

/// Escapes a path's bytes for a terminal so that no two paths show alike: control
/// characters as [`Escaped`] does, `\\` as `\\\\`, and each byte that is not UTF-8 as
/// `\\xNN`.
pub fn path_bytes(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        for piece in chunk.valid().split_inclusive('\\') {
            match piece.strip_suffix('\\') {
                Some(before) => out.push_str(&format!("{}\\\\", Escaped(before))),
                None => out.push_str(&Escaped(piece).to_string()),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// A relative URI reference for a path (RFC 3986): every byte but the unreserved
/// ones and `/` percent-encoded, so a space, `%`, `#`, `?`, a newline or a byte that
/// is not UTF-8 all survive the trip to the file.
pub fn uri(path: &[u8]) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn uris_percent_encode_every_byte_but_the_unreserved() {
        assert_eq!(
            super::uri(b"src/a b%#?\n\xff.env"),
            "src/a%20b%25%23%3F%0A%FF.env"
        );
    }

    use super::*;

    #[test]
    fn escapes_control_characters() {
        assert_eq!(
            Escaped("a\nb\t\x1b[31m\u{85}é").to_string(),
            "a\\nb\\t\\x1b[31m\\u{85}é"
        );
    }

    #[test]
    fn paths_that_differ_show_differently() {
        assert_eq!(path_bytes(b"a\nb"), "a\\nb");
        assert_eq!(path_bytes(b"a\\nb"), "a\\\\nb");
        assert_eq!(path_bytes(b"caf\xc3\xa9 \xff.env"), "café \\xff.env");
    }
}
