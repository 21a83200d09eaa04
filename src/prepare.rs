//! The one pipeline: a [`Config`] and the parent's environment become what every
//! action needs (the secrets, the command's environment, the validation report).
//! The launch, `list`, `check` and every `--watch` refetch go through it, so they
//! cannot disagree on what the command would get.

use std::ffi::{OsStr, OsString};

use anyhow::Result;

use crate::config::Config;
use crate::env::ChildEnv;
use crate::messages;
use crate::secret::SecretSet;
use crate::source;
use crate::supervise::Secrets;
use crate::validate::{self, Report};

/// A configuration and the environment secretrun was started with.
pub struct Pipeline<'c> {
    config: &'c Config,
    /// Taken once at start: every step sees the same parent.
    parent: Vec<(OsString, OsString)>,
}

/// What the pipeline made: the secrets, and what validation found.
pub struct Prepared {
    pub secrets: SecretSet,
    pub report: Report,
}

impl<'c> Pipeline<'c> {
    pub fn new(config: &'c Config, parent: Vec<(OsString, OsString)>) -> Pipeline<'c> {
        Pipeline { config, parent }
    }

    /// Loads every source and validates what the command would get. What loading
    /// warns of is shown as it comes.
    pub fn prepare(&self) -> Result<Prepared> {
        let warn = &mut |text: String| messages::warning(&text);
        let secrets = source::load(&self.config.fetch, &self.parent, warn)?;
        let report = validate::validate(&self.env(&secrets), &self.config.rules);
        Ok(Prepared { secrets, report })
    }

    /// The command's environment with these secrets.
    pub fn env<'s>(&self, secrets: &'s SecretSet) -> ChildEnv<'s> {
        ChildEnv::build(
            secrets,
            self.parent.iter().cloned(),
            &self.config.keep,
            self.config.pure,
        )
    }

    /// The parent's PATH, where the command is looked up (never the child's, which
    /// a secret could set).
    pub fn path(&self) -> Option<&OsStr> {
        self.parent
            .iter()
            .find(|(n, _)| n == "PATH")
            .map(|(_, v)| v.as_os_str())
    }
}

impl Secrets for Pipeline<'_> {
    fn env<'s>(&self, secrets: &'s SecretSet) -> ChildEnv<'s> {
        Pipeline::env(self, secrets)
    }

    /// Fetches again; what loading warns of was shown at the start.
    fn refetch(&self) -> Result<SecretSet> {
        source::load(&self.config.fetch, &self.parent, &mut |_| {})
    }

    fn problems(&self, secrets: &SecretSet) -> Vec<String> {
        let report = validate::validate(&self.env(secrets), &self.config.rules);
        report.errors.into_iter().map(|f| f.message).collect()
    }
}
