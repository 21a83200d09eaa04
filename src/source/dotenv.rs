//! The dotenv format users already write, parsed without ever echoing a value.
//!
//! Written here rather than taken from dotenvy: dotenvy expands `${X}` from the
//! process environment (so `X=${AWS_SECRET_ACCESS_KEY}` would copy the launcher's own
//! credentials), reads `pa$$word` as `pa`, and prints the offending line in its
//! errors. The rules, and where they differ from python-dotenv, are in the README.

use std::fmt;

use crate::secret::{SecretValue, push_zeroizing};
use crate::source::remote::is_reference;

/// One `NAME=value` assignment.
pub struct Entry {
    pub name: String,
    pub value: SecretValue,
    /// The line the assignment starts on (1-based).
    pub line: usize,
}

/// A malformed line. The message names the line and, where it is known to be a
/// name, the variable; never the text of the line, which may be a secret pasted
/// in the wrong place.
#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// True for a POSIX portable variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'A'..=b'Z' | b'a'..=b'z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Parses a dotenv text. `$NAME` and `${NAME}` expand from the lines before, then
/// from `earlier` (the sources loaded before this one), never from the environment.
pub fn parse<'e>(
    text: &str,
    earlier: &'e dyn Fn(&str) -> Option<&'e str>,
) -> Result<Vec<Entry>, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parser = Parser {
        text,
        pos: 0,
        line: 1,
    };
    let mut entries: Vec<Entry> = Vec::new();
    while let Some((name, line)) = parser.next_assignment()? {
        let lookup = |wanted: &str| -> Option<&str> {
            entries
                .iter()
                .rev()
                .find(|entry| entry.name == wanted)
                .map(|entry| entry.value.expose())
                .or_else(|| earlier(wanted))
        };
        let value = parser.value(name, line, &lookup)?;
        if value.expose().contains('\0') {
            return Err(ParseError {
                line,
                message: format!(
                    "the value of `{name}` holds a NUL byte, which no environment variable can"
                ),
            });
        }
        entries.push(Entry {
            name: name.to_owned(),
            value,
            line,
        });
    }
    Ok(entries)
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
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

    /// Consumes a line end (`\n` or `\r\n`) if one is here.
    fn eat_newline(&mut self) -> bool {
        let rest = self.rest();
        let len = if rest.starts_with('\n') {
            1
        } else if rest.starts_with("\r\n") {
            2
        } else {
            return false;
        };
        self.pos += len;
        self.line += 1;
        true
    }

    fn skip_to_next_line(&mut self) {
        match self.rest().find('\n') {
            Some(i) => {
                self.pos += i + 1;
                self.line += 1;
            }
            None => self.pos = self.text.len(),
        }
    }

    fn error(&self, line: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            line,
            message: message.into(),
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
        lookup: &dyn Fn(&str) -> Option<&'b str>,
    ) -> Result<SecretValue, ParseError> {
        let start = self.pos;
        self.skip_blanks();
        let value = match self.peek() {
            Some(b'\'') => self.single_quoted(line)?,
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

    /// `'…'`: literal to the next `'`, across lines; `\r\n` becomes `\n`.
    fn single_quoted(&mut self, line: usize) -> Result<SecretValue, ParseError> {
        self.pos += 1;
        let Some(len) = self.rest().find('\'') else {
            return Err(self.error(line, "unterminated single quote"));
        };
        let raw = &self.rest()[..len];
        self.line += raw.matches('\n').count();
        self.pos += len + 1;
        let mut out = String::with_capacity(raw.len());
        let mut pieces = raw.split("\r\n");
        if let Some(first) = pieces.next() {
            push_zeroizing(&mut out, first);
        }
        for piece in pieces {
            push_zeroizing(&mut out, "\n");
            push_zeroizing(&mut out, piece);
        }
        Ok(SecretValue::new(out))
    }

    /// `"…"`: escapes `\n \r \t \" \\ \$`, expansion, across lines.
    fn double_quoted<'b>(
        &mut self,
        name: &str,
        line: usize,
        lookup: &dyn Fn(&str) -> Option<&'b str>,
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
                    let used = expand(rest, &mut out, name, line, lookup)?;
                    self.pos += used;
                }
                _ => {
                    if !self.eat_newline() {
                        // A lone `\r` is kept as it is.
                        push_zeroizing(&mut out, "\r");
                        self.pos += 1;
                    } else {
                        push_zeroizing(&mut out, "\n");
                    }
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
        lookup: &dyn Fn(&str) -> Option<&'b str>,
    ) -> Result<SecretValue, ParseError> {
        let rest = self.rest();
        let end = rest.find('\n').unwrap_or(rest.len());
        let mut raw = &rest[..end];
        if let Some(i) = raw
            .as_bytes()
            .windows(2)
            .position(|w| is_blank(w[0]) && w[1] == b'#')
        {
            raw = &raw[..i];
        }
        let raw = raw.trim_matches([' ', '\t', '\r']);
        self.pos += end;
        self.eat_newline();

        let mut out = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(i) = rest.find('$') {
            push_zeroizing(&mut out, &rest[..i]);
            let used = expand(&rest[i..], &mut out, name, line, lookup)?;
            rest = &rest[i + used..];
        }
        push_zeroizing(&mut out, rest);
        Ok(SecretValue::new(out))
    }
}

/// Expands the reference at the start of `s` (which starts with `$`) into `out` and
/// returns how many bytes it took. A `$` not followed by a name or `{` is literal.
/// An undefined name is an error: silently expanding to nothing is how a password
/// with a `$` in it becomes a different password.
fn expand<'b>(
    s: &str,
    out: &mut String,
    name: &str,
    line: usize,
    lookup: &dyn Fn(&str) -> Option<&'b str>,
) -> Result<usize, ParseError> {
    let after = &s[1..];
    let (wanted, default, used) = if let Some(inner) = after.strip_prefix('{') {
        let Some(close) = inner.find('}') else {
            return Err(ParseError {
                line,
                message: format!("the value of `{name}` opens `${{` without a closing `}}`"),
            });
        };
        let body = &inner[..close];
        let (wanted, default) = match body.split_once(":-") {
            Some((wanted, default)) => (wanted, Some(default)),
            None => (body, None),
        };
        if !is_valid_name(wanted) {
            return Err(ParseError {
                line,
                message: format!(
                    "the value of `{name}` has a `${{…}}` that does not hold a variable name"
                ),
            });
        }
        (wanted, default, 2 + close + 1)
    } else {
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if len == 0 || after.as_bytes()[0].is_ascii_digit() {
            push_zeroizing(out, "$");
            return Ok(1);
        }
        (&after[..len], None, 1 + len)
    };
    match lookup(wanted).or(default) {
        Some(value) if is_reference(value) => {
            return Err(ParseError {
                line,
                message: format!(
                    "the value of `{name}` expands a variable whose value is fetched from a \
                     secret store; expanding fetched values is not supported"
                ),
            });
        }
        Some(value) => push_zeroizing(out, value),
        None => {
            return Err(ParseError {
                line,
                message: format!(
                    "the value of `{name}` uses `$` with a name that no earlier line or \
                     source defines (secretrun never expands from its own environment); \
                     for a literal `$`, put the value in single quotes"
                ),
            });
        }
    }
    Ok(used)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Vec<(String, String)> {
        parse(text, &|_| None)
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.value.expose().to_owned()))
            .collect()
    }

    fn one(text: &str) -> String {
        let mut all = parse_ok(text);
        assert_eq!(all.len(), 1, "expected one entry");
        all.pop().unwrap().1
    }

    fn err(text: &str) -> ParseError {
        match parse(text, &|_| None) {
            Ok(_) => panic!("expected a parse error"),
            Err(e) => e,
        }
    }

    #[test]
    fn plain_and_export() {
        assert_eq!(
            parse_ok("A=1\nexport B=two\n  C = three  \nexport=4\n"),
            [("A", "1"), ("B", "two"), ("C", "three"), ("export", "4")]
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
    }

    #[test]
    fn comments() {
        assert_eq!(one("# c\n\n   # indented\nA=x#y # comment\n"), "x#y");
        assert_eq!(one("A='q' # c"), "q");
        assert_eq!(one("A=\"q\"\t# c"), "q");
        assert_eq!(one("A=#notacomment"), "#notacomment");
    }

    #[test]
    fn single_quotes_are_literal() {
        assert_eq!(one("A='pa$$word \\n ${X}'"), "pa$$word \\n ${X}");
    }

    #[test]
    fn double_quote_escapes() {
        assert_eq!(one(r#"A="a\nb\"c\\d\te\$f\q""#), "a\nb\"c\\d\te$f\\q");
    }

    #[test]
    fn multi_line_pem() {
        let text = "KEY=\"-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\"\nB=2\n";
        let all = parse(text, &|_| None).unwrap();
        assert_eq!(
            all[0].value.expose(),
            "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----"
        );
        assert_eq!((all[1].name.as_str(), all[1].line), ("B", 4));
        assert_eq!(one("K='l1\r\nl2'\r\n"), "l1\nl2");
    }

    #[test]
    fn empty_values() {
        assert_eq!(
            parse_ok("A=\nB=''\nC=\"\"\nD= # c\n")
                .iter()
                .map(|e| e.1.as_str())
                .collect::<Vec<_>>(),
            ["", "", "", ""]
        );
    }

    #[test]
    fn crlf_and_bom() {
        assert_eq!(
            parse_ok("\u{feff}A=1\r\nB=\"x\"\r\n"),
            [("A", "1"), ("B", "x")].map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
    }

    #[test]
    fn expansion_from_earlier_lines_and_sources() {
        let earlier = |name: &str| (name == "HOST").then_some("db");
        let all = parse(
            "U=me\nURL=\"pg://$U@${HOST}:${PORT:-5432}\"\nX=$U-$\nY=$5",
            &earlier,
        )
        .unwrap();
        assert_eq!(all[1].value.expose(), "pg://me@db:5432");
        assert_eq!(all[2].value.expose(), "me-$");
        assert_eq!(all[3].value.expose(), "$5");
    }

    #[test]
    fn undefined_reference_is_an_error_and_never_reads_the_environment() {
        // PATH is set in every test process; it must not be used.
        let e = err("A=${PATH}");
        assert_eq!(e.line, 1);
        assert!(e.message.contains("`A`"));
        let e = err("A=x\nB=pa$$word");
        assert_eq!(e.line, 2);
        assert!(!e.message.contains("word"));
    }

    #[test]
    fn malformed_lines_never_echo_their_text() {
        for (text, line) in [
            ("A=1\nsk_live_CANARYpasted\n", 2),
            ("BAD KEY=CANARY", 1),
            ("1X=CANARY", 1),
            ("A-B=CANARY", 1),
            ("A=\"CANARY", 1),
            ("A='CANARY\n\n", 1),
            ("A=\"CANARY\" trailing", 1),
            ("A=${CANARY", 1),
        ] {
            let e = err(text);
            assert_eq!(e.line, line, "line for case {line}");
            assert!(!e.to_string().contains("CANARY"), "leaked in a parse error");
        }
    }

    #[test]
    fn nul_in_value_is_an_error() {
        assert!(err("A=\"a\0b\"").message.contains("NUL"));
    }

    #[test]
    fn later_line_wins_in_expansion() {
        assert_eq!(parse_ok("A=1\nA=2\nB=$A")[2].1, "2");
    }

    #[test]
    fn names() {
        assert!(is_valid_name("_A1"));
        assert!(!is_valid_name("1A"));
        assert!(!is_valid_name("A.B"));
        assert!(!is_valid_name(""));
    }

    /// A small deterministic generator, so the fuzz cases below need no extra crate
    /// and a failure reproduces.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 as usize
        }
    }

    // `-CANARY` can never be part of a name, which messages do show: only values.
    const PIECES: &[&str] = &[
        "A", "B_1", "=", "'", "\"", "\\", "$", "${", "}", ":-", "#", " ", "\t", "\n", "\r\n", "\r",
        "export ", "-CANARY", "x", "\u{feff}", "é", "\0", "1",
    ];

    #[test]
    fn fuzz_never_panics_nor_echoes() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..50_000 {
            let len = rng.next() % 24;
            let text: String = (0..len)
                .map(|_| PIECES[rng.next() % PIECES.len()])
                .collect();
            match parse(&text, &|_| None) {
                Ok(entries) => {
                    for entry in entries {
                        assert!(is_valid_name(&entry.name));
                        assert!(!entry.value.expose().contains('\0'));
                    }
                }
                Err(e) => {
                    assert!(e.line >= 1 && e.line <= text.matches('\n').count() + 1);
                    assert!(!e.message.contains("CANARY"), "echoed input for {text:?}");
                }
            }
        }
    }

    #[test]
    fn fuzz_quoting_round_trips() {
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let alphabet: Vec<char> = "aZ9 _=#'\"\\$\n\t{}é-".chars().collect();
        for _ in 0..20_000 {
            let len = rng.next() % 16;
            let value: String = (0..len)
                .map(|_| alphabet[rng.next() % alphabet.len()])
                .collect();
            let mut double = String::from("V=\"");
            for c in value.chars() {
                match c {
                    '"' | '\\' | '$' => {
                        double.push('\\');
                        double.push(c);
                    }
                    '\n' => double.push_str("\\n"),
                    '\t' => double.push_str("\\t"),
                    c => double.push(c),
                }
            }
            double.push_str("\" # comment\n");
            assert_eq!(one(&double), value, "double-quoted {double:?}");
            if !value.contains('\'') {
                assert_eq!(one(&format!("V='{value}'\n")), value, "single-quoted");
            }
        }
    }
}
