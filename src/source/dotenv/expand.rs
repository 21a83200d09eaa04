//! Expansion in dotenv values: `$NAME` and the shell's `${…}` forms, from earlier
//! lines and sources only, bounded as it happens (one value, the whole file, the
//! nesting).

use super::ParseError;
use crate::names::is_valid_name;
use crate::secret::push_zeroizing;

/// An expansion may not make one value larger than the kernel takes for one
/// variable (128 KiB, MAX_ARG_STRLEN)…
pub const MAX_EXPANDED_VALUE: usize = 128 * 1024;
/// …nor make the values of all of a launch's dotenv files larger than this in all: a
/// few kilobytes of `${A}${A}…` lines, or a config listing hundreds of such files,
/// must fail at once, not allocate gigabytes.
pub const MAX_EXPANDED_TOTAL: usize = 4 * 1024 * 1024;
/// Marks where a fetched value goes in a composed one (`${DB_PASSWORD}` in a URL):
/// `COMPOSED NAME COMPOSED`, filled in by [`super::compose`] after the fetch.
pub const COMPOSED: &str = "\0";

/// `${A:-${B:-${C}}}` nests at most this deep.
const MAX_NESTING: usize = 16;

/// What an expansion needs besides the text: where it is, what it may look up, and
/// the budget it spends.
pub struct Expansion<'l, 'b> {
    pub name: &'l str,
    pub line: usize,
    pub lookup: &'l dyn Fn(&str) -> Option<(&'b str, bool)>,
    pub spent: &'l mut usize,
}

/// Copies `text` to `out`, expanding every `$` in it.
pub fn expand_all(
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

/// The brace that opens `${…}`. (Named, so that the brace in a literal does not
/// unbalance the tools that count braces to find a function's end.)
const OPEN: char = '{';

/// The operators of `${NAME<op>word}`, longest first.
const OPERATORS: &[&str] = &[":-", ":+", ":?", "-", "+", "?"];

/// A `$…` form as written: the name, the operator of `${NAME<op>word}` (`""` for
/// none) and its word, and how many bytes the form takes; `None` for a `$` that is
/// literal (not followed by a name or `{`).
type Form<'s> = (&'s str, &'static str, &'s str, usize);

/// Reads the `$…` form at the start of `s`.
fn form<'s>(
    s: &'s str,
    error: &dyn Fn(String) -> ParseError,
) -> Result<Option<Form<'s>>, ParseError> {
    let after = &s[1..];
    if !after.starts_with(OPEN) {
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if len == 0 || after.as_bytes()[0].is_ascii_digit() {
            return Ok(None);
        }
        return Ok(Some((&after[..len], "", "", 1 + len)));
    }
    let Some(close) = closing_brace(s) else {
        return Err(error("opens `${` without a closing `}`".into()));
    };
    let body = &s[2..close];
    let len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    let (wanted, tail) = body.split_at(len);
    let op = OPERATORS.iter().find(|op| tail.starts_with(**op));
    if !is_valid_name(wanted) || (op.is_none() && !tail.is_empty()) {
        return Err(error(
            "has a `${…}` that secretrun does not support: it takes ${NAME}, \
             ${NAME:-default}, ${NAME-default}, ${NAME:+alt}, ${NAME+alt}, ${NAME:?message} \
             and ${NAME?message}"
                .into(),
        ));
    }
    let op = op.copied().unwrap_or("");
    Ok(Some((wanted, op, &tail[op.len()..], close + 1)))
}

/// What an operator makes of the variable: `Some(true)` its value, `Some(false)`
/// nothing, `None` the word instead; `Err` for `:?`/`?` (and a bare name) when it
/// is not set, with what to say.
fn choose(op: &str, set: bool, non_empty: bool) -> Result<Option<bool>, &'static str> {
    Ok(match op {
        "" => Some(true),
        ":-" => non_empty.then_some(true),
        "-" => set.then_some(true),
        ":+" => Some(false).filter(|_| !non_empty),
        "+" => Some(false).filter(|_| !set),
        ":?" if non_empty => Some(true),
        "?" if set => Some(true),
        ":?" => return Err(" to a non-empty value"),
        _ => return Err(""),
    })
}

/// Expands the reference at the start of `s` (which starts with `$`) into `out` and
/// returns how many bytes it took. A `$` not followed by a name or `{` is literal.
/// The shell's forms are supported: `${NAME}`, `${NAME:-default}` (unset or empty),
/// `${NAME-default}` (unset), `${NAME:+alt}`, `${NAME+alt}`, `${NAME:?message}` and
/// `${NAME?message}`; a default or alternative may hold expansions itself. An
/// undefined name without a default is an error: silently expanding to nothing is
/// how a password with a `$` in it becomes a different password.
pub fn expand(
    s: &str,
    out: &mut String,
    x: &mut Expansion,
    depth: usize,
) -> Result<usize, ParseError> {
    let (name, line) = (x.name, x.line);
    let error = |message: String| ParseError {
        line,
        message: format!("the value of `{name}` {message}"),
        kind: crate::error::Kind::Invalid,
    };
    if depth >= MAX_NESTING {
        return Err(error(format!(
            "nests `${{…}}` more than {MAX_NESTING} deep"
        )));
    }
    let Some((wanted, op, word, used)) = form(s, &error)? else {
        push_zeroizing(out, "$");
        return Ok(1);
    };
    let found = (x.lookup)(wanted);
    let non_empty = found.is_some_and(|(v, _)| !v.is_empty());
    let take = choose(op, found.is_some(), non_empty).map_err(|how| {
        error(format!(
            "requires `{wanted}`, which no earlier line or source sets{how}"
        ))
    })?;
    let start = out.len();
    match (take, found) {
        // A value still to be fetched: a mark that composing fills in once it is
        // (NUL cannot be in a dotenv text, so the mark cannot be forged).
        (Some(true), Some((_, true))) if op.is_empty() => {
            push_zeroizing(out, COMPOSED);
            push_zeroizing(out, wanted);
            push_zeroizing(out, COMPOSED);
        }
        (Some(true), Some((_, true))) => {
            return Err(error(format!(
                "uses `${{{wanted}{op}…}}`, but `{wanted}` is fetched from a secret store: a \
                 fetched value composes as `${{{wanted}}}` alone"
            )));
        }
        (Some(true), Some((value, false))) => push_zeroizing(out, value),
        (Some(true), None) => {
            return Err(error(
                "uses `$` with a name that no earlier line or source defines (secretrun \
                 never expands from its own environment); for a literal `$`, put the value \
                 in single quotes"
                    .into(),
            ));
        }
        (Some(false), _) => {}
        (None, _) => expand_all(word, out, x, depth + 1)?,
    }
    *x.spent += out.len() - start;
    if out.len() > MAX_EXPANDED_VALUE {
        return Err(error(
            "grows past 128 KiB, the most one variable can hold, by expansion; secretrun \
             stops there"
                .into(),
        ));
    }
    if *x.spent > MAX_EXPANDED_TOTAL {
        return Err(error(
            "grows the launch's values past 4 MiB in all by expansion; secretrun stops there"
                .into(),
        ));
    }
    Ok(used)
}
