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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters() {
        assert_eq!(
            Escaped("a\nb\t\x1b[31m\u{85}é").to_string(),
            "a\\nb\\t\\x1b[31m\\u{85}é"
        );
    }
}
