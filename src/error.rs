//! The failures a caller branches on: each carries the exit code DESIGN.md promises,
//! so `main` can pick the status by walking the error chain. Everything else is
//! plain `anyhow` context.

use std::fmt;

/// What kind of failure, and so which exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Validation failed or a dotenv file is malformed (EX_DATAERR).
    Invalid,
    /// A source could not be reached or timed out (EX_UNAVAILABLE).
    Unreachable,
    /// A source refused access (EX_NOPERM).
    Denied,
    /// Configuration is wrong: bad config file, missing source file (EX_CONFIG).
    Config,
    /// COMMAND exists but cannot be executed.
    NotExecutable,
    /// COMMAND was not found on PATH.
    NotFound,
}

impl Kind {
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Invalid => 65,
            Kind::Unreachable => 69,
            Kind::Denied => 77,
            Kind::Config => 78,
            Kind::NotExecutable => 126,
            Kind::NotFound => 127,
        }
    }
}

/// An error whose kind decides the exit code. Its message must never hold a secret
/// value: it names variables, sources and line numbers only.
#[derive(Debug)]
pub struct Failure {
    pub kind: Kind,
    message: String,
    /// What the user can do about it, shown on a `hint:` line of its own.
    hint: Option<String>,
}

impl Failure {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
            hint: None,
        }
    }

    /// The same failure with what the user can do about it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The exit code for an error chain: the first [`Failure`] in it decides, else 1.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<Failure>())
        .map_or(1, |failure| failure.kind.exit_code())
}

/// Shorthand for `Err(Failure::new(kind, message).into())`.
pub fn fail<T>(kind: Kind, message: impl Into<String>) -> anyhow::Result<T> {
    Err(Failure::new(kind, message).into())
}

/// An error and its causes as one line, skipping a cause whose text the line already
/// holds (HTTP clients repeat themselves).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
