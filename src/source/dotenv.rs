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
    /// Written in single quotes: taken as it is, never fetched even when it looks
    /// like a reference (`'vault://…'`).
    pub literal: bool,
}

impl Entry {
    /// Whether the value is a reference to be fetched from a store.
    pub fn is_fetched(&self) -> bool {
        !self.literal && is_reference(self.value.expose())
    }
}

/// An expansion may not make one value larger than the kernel takes for one
/// variable (128 KiB, MAX_ARG_STRLEN)…
pub const MAX_EXPANDED_VALUE: usize = 128 * 1024;
/// …nor make a file's values larger than this in all: a few kilobytes of `${A}${A}…`
/// lines must fail at once, not allocate gigabytes.
pub const MAX_EXPANDED_TOTAL: usize = 4 * 1024 * 1024;
/// `${A:-${B:-${C}}}` nests at most this deep.
const MAX_NESTING: usize = 16;

/// What `$NAME` finds: the value, and whether it is a reference still to be fetched.
pub type Lookup<'e> = dyn Fn(&str) -> Option<(&'e str, bool)> + 'e;

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
pub fn parse<'e>(text: &str, earlier: &'e Lookup<'e>) -> Result<Vec<Entry>, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parser = Parser {
        text,
        pos: 0,
        line: 1,
        expanded: 0,
    };
    let mut entries: Vec<Entry> = Vec::new();
    while let Some((name, line)) = parser.next_assignment()? {
        let lookup = |wanted: &str| -> Option<(&str, bool)> {
            entries
                .iter()
                .rev()
                .find(|entry| entry.name == wanted)
                .map(|entry| (entry.value.expose(), entry.is_fetched()))
                .or_else(|| earlier(wanted))
        };
        let literal = parser.starts_single_quoted();
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
            literal,
        });
    }
    Ok(entries)
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
    /// Bytes that expansion has produced so far, against [`MAX_EXPANDED_TOTAL`].
    expanded: usize,
}

/// What an expansion needs besides the text: where it is, what it may look up, and
/// the budget it spends.
struct Expansion<'l, 'b> {
    name: &'l str,
    line: usize,
    lookup: &'l dyn Fn(&str) -> Option<(&'b str, bool)>,
    spent: &'l mut usize,
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
}

/// Copies `text` to `out`, expanding every `$` in it.
fn expand_all(
    text: &str,
    out: &mut String,
    x: &mut Expansion,
    depth: usize,
) -> Result<(), ParseError> {
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        push_zeroizing(out, &rest[..i]);
        let used = expand(&rest[i..], out, x, depth)?;
        rest = &rest[i + used..];
    }
    push_zeroizing(out, rest);
    Ok(())
}

/// Where the `}` closing a `${` at the start of `s` is, nested `${…}` skipped.
fn closing_brace(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let (mut depth, mut i) = (0usize, 0);
    while i < bytes.len() {
        if bytes[i..].starts_with(b"${") {
            depth += 1;
            i += 2;
            continue;
        }
        if bytes[i] == b'}' {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

/// The operators of `${NAME<op>word}`, longest first.
const OPERATORS: &[&str] = &[":-", ":+", ":?", "-", "+", "?"];

/// Expands the reference at the start of `s` (which starts with `$`) into `out` and
/// returns how many bytes it took. A `$` not followed by a name or `{` is literal.
/// The shell's forms are supported: `${NAME}`, `${NAME:-default}` (unset or empty),
/// `${NAME-default}` (unset), `${NAME:+alt}`, `${NAME+alt}`, `${NAME:?message}` and
/// `${NAME?message}`; a default or alternative may hold expansions itself. An
/// undefined name without a default is an error: silently expanding to nothing is
/// how a password with a `$` in it becomes a different password.
fn expand(s: &str, out: &mut String, x: &mut Expansion, depth: usize) -> Result<usize, ParseError> {
    let (name, line) = (x.name, x.line);
    let error = |message: String| ParseError { line, message };
    if depth >= MAX_NESTING {
        return Err(error(format!(
            "the value of `{name}` nests `${{…}}` more than {MAX_NESTING} deep"
        )));
    }
    let after = &s[1..];
    let (wanted, op, word, used) = if after.starts_with('{') {
        let Some(close) = closing_brace(s) else {
            return Err(error(format!(
                "the value of `{name}` opens `${{` without a closing `}}`"
            )));
        };
        let body = &s[2..close];
        let len = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        let (wanted, tail) = body.split_at(len);
        let op = OPERATORS.iter().find(|op| tail.starts_with(**op));
        if !is_valid_name(wanted) || (op.is_none() && !tail.is_empty()) {
            return Err(error(format!(
                "the value of `{name}` has a `${{…}}` that secretrun does not support: it takes \
                 ${{NAME}}, ${{NAME:-default}}, ${{NAME-default}}, ${{NAME:+alt}}, ${{NAME+alt}}, \
                 ${{NAME:?message}} and ${{NAME?message}}"
            )));
        }
        let op = op.copied().unwrap_or("");
        (wanted, op, &tail[op.len()..], close + 1)
    } else {
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if len == 0 || after.as_bytes()[0].is_ascii_digit() {
            push_zeroizing(out, "$");
            return Ok(1);
        }
        (&after[..len], "", "", 1 + len)
    };
    let found = (x.lookup)(wanted);
    let set = found.is_some();
    let non_empty = found.is_some_and(|(v, _)| !v.is_empty());
    // `None`: expand the word instead of the variable; `Some(false)`: nothing.
    let take_variable = match op {
        "" => Some(true),
        ":-" => non_empty.then_some(true),
        "-" => set.then_some(true),
        ":+" => Some(false).filter(|_| !non_empty),
        "+" => Some(false).filter(|_| !set),
        ":?" | "?" if (op == "?" && set) || non_empty => Some(true),
        _ => {
            return Err(error(format!(
                "the value of `{name}` requires `{wanted}`, which no earlier line or source \
                 sets{}",
                if op == ":?" {
                    " to a non-empty value"
                } else {
                    ""
                }
            )));
        }
    };
    let start = out.len();
    match (take_variable, found) {
        (Some(true), Some((_, true))) => {
            return Err(error(format!(
                "the value of `{name}` expands a variable whose value is fetched from a \
                 secret store; expanding fetched values is not supported"
            )));
        }
        (Some(true), Some((value, false))) => push_zeroizing(out, value),
        (Some(true), None) => {
            return Err(error(format!(
                "the value of `{name}` uses `$` with a name that no earlier line or \
                 source defines (secretrun never expands from its own environment); \
                 for a literal `$`, put the value in single quotes"
            )));
        }
        (Some(false), _) => {}
        (None, _) => expand_all(word, out, x, depth + 1)?,
    }
    let grown = out.len() - start;
    *x.spent += grown;
    if out.len() > MAX_EXPANDED_VALUE || *x.spent > MAX_EXPANDED_TOTAL {
        return Err(error(format!(
            "the value of `{name}` grows past {} by expansion; secretrun stops there",
            if out.len() > MAX_EXPANDED_VALUE {
                "128 KiB, the most one variable can hold"
            } else {
                "4 MiB for the whole file"
            }
        )));
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
        let earlier = |name: &str| (name == "HOST").then_some(("db", false));
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
                    assert!(e.line >= 1 && e.line <= line_ends(&text) + 1);
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

    #[test]
    fn an_expansion_bomb_fails_at_once() {
        // `A` is 1000 bytes, each next line 100 copies of the one before.
        let mut text = format!("A={}\n", "x".repeat(1000));
        for (prev, name) in ["A", "B", "C", "D", "E", "F"]
            .iter()
            .zip(["B", "C", "D", "E", "F", "G"])
        {
            text.push_str(&format!(
                "{name}=\"{}\"\n",
                format!("${{{prev}}}").repeat(100)
            ));
        }
        let started = std::time::Instant::now();
        let e = err(&text);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(e.line, 3, "{e}");
        assert!(
            e.message.contains("`C`") && e.message.contains("128 KiB"),
            "{e}"
        );
        // Under the per-value limit, but many of them: the total stops it.
        let mut text = format!("A={}\n", "x".repeat(100 * 1024));
        for i in 0..100 {
            text.push_str(&format!("B{i}=$A\n"));
        }
        let e = err(&text);
        assert!(e.message.contains("4 MiB"), "{e}");
        assert!(e.line < 50, "{e}");
    }

    #[test]
    fn a_lone_carriage_return_ends_a_line() {
        assert_eq!(
            parse_ok("A=1\rB=2\r# c\rC='x\ry'\rD=\"p\rq\"\r"),
            [("A", "1"), ("B", "2"), ("C", "x\ny"), ("D", "p\nq")]
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
        let all = parse("A=1\rB=2\r\nC=3\nD=4", &|_| None).unwrap();
        assert_eq!(all.iter().map(|e| e.line).collect::<Vec<_>>(), [1, 2, 3, 4]);
    }

    #[test]
    fn the_shell_forms_of_expansion() {
        let text = "S=set\nE=\nB=b\n\
            R1=${Z:-${B}}\nR2=${Z:-x${Z:-${B}}y}\nR3=${E:-d}\nR4=${E-d}\nR5=${S:+alt}\n\
            R6=${Z:+alt}\nR7=${E+alt}\nR8=${E:+alt}\nR9=${S:?must be set}\nR10=\"${Z-}\"\n";
        let all = parse_ok(text);
        let got: Vec<&str> = all[3..].iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(got, ["b", "xby", "d", "", "alt", "", "alt", "", "set", ""]);
        let e = err("E=\nA=${E:?CANARY message}");
        assert!(
            e.message.contains("`E`") && e.message.contains("non-empty"),
            "{e}"
        );
        assert!(!e.message.contains("CANARY"));
        let e = err("A=${Z?CANARY}");
        assert!(e.message.contains("requires `Z`"), "{e}");
        for unsupported in ["A=${Z/x/y}", "A=${#Z}", "A=${Z:1}", "A=${Z%x}"] {
            let e = err(unsupported);
            assert!(e.message.contains("does not support"), "{unsupported}: {e}");
        }
        let deep = format!("A={}x{}", "${Z:-".repeat(40), "}".repeat(40));
        assert!(err(&deep).message.contains("deep"));
    }

    #[test]
    fn single_quoted_references_are_literal() {
        let all = parse(
            "A='vault://secret/x#k'\nB=vault://secret/y\nC=\"aws-sm://z\"",
            &|_| None,
        )
        .unwrap();
        assert_eq!(
            all.iter().map(|e| e.is_fetched()).collect::<Vec<_>>(),
            [false, true, true]
        );
        // A literal that looks like a reference may be expanded; a fetched one not.
        assert_eq!(parse_ok("A='vault://x'\nB=$A")[1].1, "vault://x");
        assert!(err("A=vault://x\nB=$A").message.contains("fetched"));
    }

    #[test]
    fn an_unterminated_single_quote_names_the_variable() {
        let e = err("KEY='CANARY");
        assert!(e.message.contains("`KEY`"), "{e}");
        assert!(!e.message.contains("CANARY"));
    }

    #[test]
    fn parsing_leaves_no_copy_of_a_value_in_freed_memory() {
        use crate::freed::{MARK, count};
        let found = count(|| {
            // Built in one buffer of its final size, so the test frees no copy itself.
            let mut text = zeroize::Zeroizing::new(String::with_capacity(4096));
            for piece in [
                "A=",
                MARK,
                "\nB=\"x${A}y${A}z\\n",
                MARK,
                "\"\nC='",
                MARK,
                "\n",
                MARK,
                "'\nD=${Z:-$A}\n",
            ] {
                text.push_str(piece);
            }
            let entries = parse(&text, &|_| None).unwrap();
            assert_eq!(entries.len(), 4);
            drop(entries);
        });
        assert_eq!(found, 0, "the parser freed a buffer holding a value");
    }
}
