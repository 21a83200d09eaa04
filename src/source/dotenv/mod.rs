//! The dotenv format users already write, parsed without ever echoing a value.
//!
//! Written here rather than taken from dotenvy: dotenvy expands `${X}` from the
//! process environment (so `X=${AWS_SECRET_ACCESS_KEY}` would copy the launcher's own
//! credentials), reads `pa$$word` as `pa`, and prints the offending line in its
//! errors. The rules, and where they differ from python-dotenv, are in docs/guide.md, "The dotenv format".

use std::collections::HashMap;
use std::fmt;

mod expand;

use crate::encrypted::dotenvx;
use crate::error::Kind;
use crate::names::is_valid_name;
use crate::secret::{SecretValue, push_zeroizing};
use crate::source::reference::is_reference;
use expand::{Expansion, expand, expand_all};

pub use expand::{MAX_EXPANDED_TOTAL, MAX_EXPANDED_VALUE};

/// One `NAME=value` assignment.
pub struct Entry {
    pub name: String,
    pub value: SecretValue,
    /// The line the assignment starts on (1-based).
    pub line: usize,
    /// Written in single quotes: taken as it is, never fetched even when it looks
    /// like a reference (`'vault://…'`).
    pub literal: bool,
    /// A dotenvx `encrypted:` value, opened.
    pub sealed: bool,
    /// It expands fetched values (`postgres://app:${DB_PASSWORD}@db/app`): marks
    /// stand where they go until [`compose`] fills them in.
    pub composed: bool,
}

impl Entry {
    /// Whether the value is known only after the fetch: a reference, or composed
    /// from one.
    pub fn is_fetched(&self) -> bool {
        self.composed || (!self.literal && is_reference(self.value.expose()))
    }
}

/// A composed value with each fetched value in its place, `fetched` giving them by
/// name (the values of the lines and sources before it); `spent` is what expansion
/// has produced in the launch so far. `Err` names the variable and why, never a
/// value.
pub fn compose<'v>(
    entry: &Entry,
    fetched: &dyn Fn(&str) -> Option<&'v str>,
    spent: &mut usize,
) -> Result<SecretValue, ParseError> {
    let error = |message: String| ParseError {
        line: entry.line,
        message: format!("the value of `{}` {message}", entry.name),
        kind: Kind::Invalid,
    };
    let mut out = String::new();
    let mut parts = entry.value.expose().split(expand::COMPOSED);
    while let Some(text) = parts.next() {
        push_zeroizing(&mut out, text);
        let Some(name) = parts.next() else { break };
        let value = fetched(name).ok_or_else(|| {
            error(format!(
                "uses `${{{name}}}`, which its source did not return"
            ))
        })?;
        if value.contains('\0') {
            return Err(error(format!("uses `${{{name}}}`, which holds a NUL byte")));
        }
        *spent += value.len();
        push_zeroizing(&mut out, value);
        if out.len() > MAX_EXPANDED_VALUE || *spent > MAX_EXPANDED_TOTAL {
            return Err(error(
                "grows past the bounds of expansion (128 KiB a value, 4 MiB in all) once \
                 its fetched values are in; secretrun stops there"
                    .into(),
            ));
        }
    }
    Ok(SecretValue::new(out))
}

/// What `$NAME` finds: the value, and whether it is a reference still to be fetched.
pub type Lookup<'e> = dyn Fn(&str) -> Option<(&'e str, bool)> + 'e;

/// A malformed line. The message names the line and, where it is known to be a
/// name, the variable; never the text of the line, which may be a secret pasted
/// in the wrong place.
#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
    /// Which exit code: [`Kind::Invalid`] for a malformed line; what the opener said
    /// for an encrypted value that did not open.
    pub kind: Kind,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Opens a dotenvx `encrypted:` value: its plain text, or the kind and message of
/// why not (a message that holds no byte of the value).
pub type Opener<'o> = dyn FnMut(&str) -> Result<SecretValue, (Kind, String)> + 'o;

/// Parses a dotenv text. `$NAME` and `${NAME}` expand from the lines before, then
/// from `earlier` (the sources loaded before this one), never from the environment.
pub fn parse<'e>(text: &str, earlier: &'e Lookup<'e>) -> Result<Vec<Entry>, ParseError> {
    parse_with(text, earlier, None, &mut 0)
}

/// [`parse`], opening dotenvx's `encrypted:` values with `open` as they are read, so
/// that a later line's `${NAME}` sees the plain text and the plain text expands, as
/// `dotenvx run` does. Without an opener they stay as written. `expanded` is what
/// expansion has produced so far in the whole launch, every file before this one
/// included, against [`MAX_EXPANDED_TOTAL`].
pub fn parse_with<'e>(
    text: &str,
    earlier: &'e Lookup<'e>,
    mut open: Option<&mut Opener>,
    expanded: &mut usize,
) -> Result<Vec<Entry>, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // No NUL anywhere: no variable can hold one, and composing marks with it.
    if let Some(at) = text.find('\0') {
        return Err(ParseError {
            line: line_ends(&text[..at]) + 1,
            message: "holds a NUL byte, which no environment variable can".into(),
            kind: Kind::Invalid,
        });
    }
    let mut parser = Parser {
        text,
        pos: 0,
        line: 1,
        expanded: *expanded,
    };
    let mut entries: Vec<Entry> = Vec::new();
    // The last entry of each name, so that a lookup costs the same however many
    // lines came before (a search back through them made a file of `X=$B` lines
    // cost the square of its length).
    let mut last: HashMap<String, usize> = HashMap::new();
    while let Some((name, line)) = parser.next_assignment()? {
        let lookup = |wanted: &str| -> Option<(&str, bool)> {
            last.get(wanted)
                .map(|&at| (entries[at].value.expose(), entries[at].is_fetched()))
                .or_else(|| earlier(wanted))
        };
        let literal = parser.starts_single_quoted();
        let mut value = parser.value(name, line, &lookup)?;
        // In any quotes, as dotenvx does: it keeps the quotes a value had when it
        // encrypts it, and opens single-quoted values without expanding them.
        let sealed = value.expose().starts_with(dotenvx::PREFIX) && open.is_some();
        if let Some(open) = open.as_mut().filter(|_| sealed) {
            let plain = open(value.expose()).map_err(|(kind, message)| ParseError {
                line,
                message: format!("`{name}` {message}"),
                kind,
            })?;
            if plain.expose().contains('\0') {
                return Err(parser.error(
                    line,
                    format!(
                        "the value of `{name}` holds a NUL byte, which no environment variable can"
                    ),
                ));
            }
            value = if literal {
                plain
            } else {
                parser.expand_text(name, line, plain.expose(), &lookup)?
            };
        }
        let composed = value.expose().contains(expand::COMPOSED);
        last.insert(name.to_owned(), entries.len());
        entries.push(Entry {
            name: name.to_owned(),
            value,
            line,
            literal,
            sealed,
            composed,
        });
    }
    *expanded = parser.expanded;
    Ok(entries)
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
    /// Bytes that expansion has produced so far in the launch, against
    /// [`MAX_EXPANDED_TOTAL`].
    expanded: usize,
}

/// The number of line ends in `s`: `\n`, `\r\n` and a lone `\r` each count once.
fn line_ends(s: &str) -> usize {
    s.matches('\n').count() + s.matches('\r').count() - s.matches("\r\n").count()
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn skip_blanks(&mut self) {
        while self.peek().is_some_and(is_blank) {
            self.pos += 1;
        }
    }

    /// Consumes a line end (`\n`, `\r\n`, or an old Mac's lone `\r`) if one is here.
    fn eat_newline(&mut self) -> bool {
        let rest = self.rest();
        let len = if rest.starts_with("\r\n") {
            2
        } else if rest.starts_with(['\n', '\r']) {
            1
        } else {
            return false;
        };
        self.pos += len;
        self.line += 1;
        true
    }

    fn skip_to_next_line(&mut self) {
        match self.rest().find(['\n', '\r']) {
            Some(i) => {
                self.pos += i;
                self.eat_newline();
            }
            None => self.pos = self.text.len(),
        }
    }

    /// Whether the value about to be read is single-quoted.
    fn starts_single_quoted(&self) -> bool {
        self.rest()
            .trim_start_matches([' ', '\t'])
            .starts_with('\'')
    }

    fn error(&self, line: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            line,
            message: message.into(),
            kind: Kind::Invalid,
        }
    }

    /// Skips blank and comment lines and reads `[export ]NAME=`, leaving the cursor
    /// at the value. `None` at the end of the text.
    fn next_assignment(&mut self) -> Result<Option<(&'a str, usize)>, ParseError> {
        loop {
            self.skip_blanks();
            match self.peek() {
                None => return Ok(None),
                Some(b'#') => self.skip_to_next_line(),
                _ if self.eat_newline() => {}
                _ => break,
            }
        }
        let line = self.line;
        if let Some(after) = self.rest().strip_prefix("export")
            && after.starts_with([' ', '\t'])
        {
            self.pos += "export".len();
            self.skip_blanks();
        }
        let start = self.pos;
        let len = self
            .rest()
            .find(['=', ' ', '\t', '\n', '\r'])
            .unwrap_or(self.rest().len());
        self.pos += len;
        let name = &self.text[start..self.pos];
        self.skip_blanks();
        if self.peek() != Some(b'=') {
            return Err(self.error(line, "expected `NAME=value`"));
        }
        if !is_valid_name(name) {
            return Err(self.error(
                line,
                "the name before `=` is not a valid variable name \
                 (letters, digits and `_`, not starting with a digit)",
            ));
        }
        self.pos += 1;
        Ok(Some((name, line)))
    }

    fn value<'b>(
        &mut self,
        name: &str,
        line: usize,
        lookup: &dyn Fn(&str) -> Option<(&'b str, bool)>,
    ) -> Result<SecretValue, ParseError> {
        let start = self.pos;
        self.skip_blanks();
        let value = match self.peek() {
            Some(b'\'') => self.single_quoted(name, line)?,
            Some(b'"') => self.double_quoted(name, line, lookup)?,
            _ => {
                // Unquoted values start right after `=`, so that in `A= # note` the
                // blank before `#` makes it a comment, as in a shell.
                self.pos = start;
                return self.unquoted(name, line, lookup);
            }
        };
        self.skip_blanks();
        match self.peek() {
            None => {}
            Some(b'#') => self.skip_to_next_line(),
            _ if self.eat_newline() => {}
            _ => {
                return Err(self.error(
                    self.line,
                    format!("unexpected text after the closing quote of `{name}`"),
                ));
            }
        }
        Ok(value)
    }

    /// `'…'`: literal to the next `'`, across lines; `\r\n` and a lone `\r` become
    /// `\n`.
    fn single_quoted(&mut self, name: &str, line: usize) -> Result<SecretValue, ParseError> {
        self.pos += 1;
        let Some(len) = self.rest().find('\'') else {
            return Err(self.error(line, format!("unterminated single quote in `{name}`")));
        };
        let raw = &self.rest()[..len];
        self.line += line_ends(raw);
        self.pos += len + 1;
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(i) = rest.find('\r') {
            push_zeroizing(&mut out, &rest[..i]);
            push_zeroizing(&mut out, "\n");
            rest = &rest[i + 1..];
            rest = rest.strip_prefix('\n').unwrap_or(rest);
        }
        push_zeroizing(&mut out, rest);
        Ok(SecretValue::new(out))
    }

    /// `"…"`: escapes `\n \r \t \" \\ \$`, expansion, across lines.
    fn double_quoted<'b>(
        &mut self,
        name: &str,
        line: usize,
        lookup: &dyn Fn(&str) -> Option<(&'b str, bool)>,
    ) -> Result<SecretValue, ParseError> {
        self.pos += 1;
        let mut out = String::with_capacity(self.rest().find('"').unwrap_or(0) + 16);
        loop {
            let rest = self.rest();
            let Some(i) = rest.find(['"', '\\', '$', '\r', '\n']) else {
                return Err(self.error(line, format!("unterminated double quote in `{name}`")));
            };
            push_zeroizing(&mut out, &rest[..i]);
            self.pos += i;
            let rest = self.rest();
            match rest.as_bytes()[0] {
                b'"' => {
                    self.pos += 1;
                    return Ok(SecretValue::new(out));
                }
                b'\\' => {
                    let Some(next) = rest[1..].chars().next() else {
                        return Err(
                            self.error(line, format!("unterminated double quote in `{name}`"))
                        );
                    };
                    let unescaped = match next {
                        'n' => "\n",
                        'r' => "\r",
                        't' => "\t",
                        '"' => "\"",
                        '\\' => "\\",
                        '$' => "$",
                        _ => {
                            // Unknown escapes stay as written, as in python-dotenv.
                            push_zeroizing(&mut out, "\\");
                            self.pos += 1;
                            continue;
                        }
                    };
                    push_zeroizing(&mut out, unescaped);
                    self.pos += 2;
                }
                b'$' => {
                    let mut x = Expansion {
                        name,
                        line,
                        lookup,
                        spent: &mut self.expanded,
                    };
                    let used = expand(rest, &mut out, &mut x, 0)?;
                    self.pos += used;
                }
                _ => {
                    // `\n`, `\r\n` or a lone `\r`: a line end, kept as `\n`.
                    self.eat_newline();
                    push_zeroizing(&mut out, "\n");
                }
            }
        }
    }

    /// Unquoted: to the end of the line, a ` #` starts a comment, trailing blanks go,
    /// `$` expands.
    fn unquoted<'b>(
        &mut self,
        name: &str,
        line: usize,
        lookup: &dyn Fn(&str) -> Option<(&'b str, bool)>,
    ) -> Result<SecretValue, ParseError> {
        let rest = self.rest();
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let mut raw = &rest[..end];
        if let Some(i) = raw
            .as_bytes()
            .windows(2)
            .position(|w| is_blank(w[0]) && w[1] == b'#')
        {
            raw = &raw[..i];
        }
        let raw = raw.trim_matches([' ', '\t']);
        self.pos += end;
        self.eat_newline();

        let mut out = String::with_capacity(raw.len());
        let mut x = Expansion {
            name,
            line,
            lookup,
            spent: &mut self.expanded,
        };
        expand_all(raw, &mut out, &mut x, 0)?;
        Ok(SecretValue::new(out))
    }

    /// Expands the `$` in a text that was not read from this file (an opened value).
    fn expand_text<'b>(
        &mut self,
        name: &str,
        line: usize,
        text: &str,
        lookup: &dyn Fn(&str) -> Option<(&'b str, bool)>,
    ) -> Result<SecretValue, ParseError> {
        let mut out = String::with_capacity(text.len());
        let mut x = Expansion {
            name,
            line,
            lookup,
            spent: &mut self.expanded,
        };
        expand_all(text, &mut out, &mut x, 0)?;
        Ok(SecretValue::new(out))
    }
}

#[cfg(test)]
mod tests;
