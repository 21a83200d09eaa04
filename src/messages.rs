//! How secretrun speaks to a person: every line it writes to stderr of its own is
//! made here, in one voice.
//!
//! Two situations, two forms. Before the command runs (or instead of it), secretrun
//! is alone on the terminal: `error: …` (then `caused by: …` for each cause) and
//! `warning: …`. While a supervised command runs, its output and ours share the
//! terminal, so each of our lines says whose it is: `secretrun: watch: …`.
//!
//! The texts come escaped from where they were made (names and paths through
//! [`crate::escape`]); values never reach a message. A leaf module.

use std::io::Write;

/// An error that ends secretrun, with its causes, one a line, then what to do about
/// it when the failure knows (`hint: …`).
pub fn error(err: &anyhow::Error) {
    let _ = write!(std::io::stderr().lock(), "{}", error_lines(err));
}

fn error_lines(err: &anyhow::Error) -> String {
    let mut text = format!("error: {err}\n");
    for cause in err.chain().skip(1) {
        text.push_str(&format!("caused by: {cause}\n"));
    }
    let hint = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<crate::error::Failure>()?.hint());
    if let Some(hint) = hint {
        text.push_str(&format!("hint: {hint}\n"));
    }
    text
}

/// Something the user should know that does not stop the launch.
pub fn warning(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "warning: {text}");
}

/// What a command that runs nothing did (`encrypt`, `edit`, `keygen`):
/// `secretrun: …`, a line of its own beside the editor's or the shell's.
pub fn note(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "secretrun: {text}");
}

/// A command's answer on standard output (keygen's public key), one line.
pub fn answer(text: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// A line of `--watch` while the command runs; a text of several lines gets the
/// prefix on each.
pub fn watch(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{}", watch_lines(text));
}

/// A line about a lease while the command runs.
pub fn lease(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{}", prefixed("lease", text));
}

fn watch_lines(text: &str) -> String {
    prefixed("watch", text)
}

fn prefixed(whose: &str, text: &str) -> String {
    text.lines()
        .map(|line| format!("secretrun: {whose}: {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// An error in one line, its causes joined with `: `, for a log line that must not
/// break (a `--watch` failure while the command runs).
pub fn one_line(err: &anyhow::Error) -> String {
    crate::error::chain(err.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_watch_line_says_whose_it_is() {
        assert_eq!(
            watch_lines("changed: `A`\n  `A` is not a port"),
            "secretrun: watch: changed: `A`\nsecretrun: watch:   `A` is not a port"
        );
    }

    #[test]
    fn a_hint_follows_the_causes_on_a_line_of_its_own() {
        use crate::error::{Failure, Kind};
        let err = anyhow::Error::new(Failure::new(Kind::Config, "inner").with_hint("do this"))
            .context("outer");
        assert_eq!(
            error_lines(&err),
            "error: outer\ncaused by: inner\nhint: do this\n"
        );
        let plain = anyhow::anyhow!("alone");
        assert_eq!(error_lines(&plain), "error: alone\n");
    }

    #[test]
    fn one_line_joins_the_causes() {
        let err = anyhow::anyhow!("inner").context("outer");
        assert_eq!(one_line(&err), "outer: inner");
    }
}
