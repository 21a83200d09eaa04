//! The one pipeline: the configuration's [`Steps`] and the parent's environment
//! become what every action needs (the secrets, the command's environment, the
//! validation report). The launch, `list`, `check` and every `--watch` refetch go
//! through it, so they cannot disagree on what the command would get.

use std::ffi::{OsStr, OsString};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;

use crate::env::ChildEnv;
use crate::messages;
use crate::secret::SecretSet;
use crate::source::{self, Plan};
use crate::supervise::Secrets;
use crate::validate::{self, Report, Rules};

/// What each step of the pipeline is to do, from the configuration.
#[derive(Debug)]
pub struct Steps {
    /// What to fetch, and how: for `source`.
    pub fetch: Plan,
    /// What the values must be: for `validate`.
    pub rules: Rules,
    /// Names or globs of parent variables to pass through: for `env`.
    pub keep: Vec<String>,
    /// Pass nothing of the parent but what `keep` names.
    pub pure: bool,
    /// The values the command gets as files: for `launch` and `list`.
    pub files: Vec<crate::deliver::AsFile>,
}

/// The steps and the environment secretrun was started with. Cheap to clone, and
/// owned, so that the supervisor's fetches can run on threads of their own.
#[derive(Clone)]
pub struct Pipeline {
    steps: Arc<Steps>,
    /// Taken once at start: every step sees the same parent.
    parent: Arc<[(OsString, OsString)]>,
}

impl Pipeline {
    pub fn new(steps: Arc<Steps>, parent: Vec<(OsString, OsString)>) -> Pipeline {
        Pipeline {
            steps,
            parent: parent.into(),
        }
    }

    /// The parent's environment, as read at start.
    pub fn parent(&self) -> &[(OsString, OsString)] {
        &self.parent
    }

    /// What validation finds in the command's environment, built by [`Pipeline::env`]
    /// from what [`Pipeline::load`] returned: the caller keeps that environment for
    /// the command, so it is built once.
    pub fn validate(&self, env: &ChildEnv) -> Report {
        validate::validate(env, &self.steps.rules)
    }

    /// Loads every source, without validating (`list` shows, it does not judge).
    /// What loading warns of is shown as it comes.
    pub fn load(&self) -> Result<SecretSet> {
        let warn = &mut |text: String| messages::warning(&text);
        source::load(&self.steps.fetch, &self.parent, warn, None)
    }

    /// What the values must be.
    pub fn rules(&self) -> &Rules {
        &self.steps.rules
    }

    /// The values the command gets as files.
    pub fn files(&self) -> &[crate::deliver::AsFile] {
        &self.steps.files
    }

    /// The command's environment with these secrets.
    /// The command's environment, each variable the schema marks `secret = false`
    /// marked so (`list` and `check` then show it in clear).
    pub fn env<'s>(&self, secrets: &'s SecretSet) -> ChildEnv<'s> {
        let mut env = ChildEnv::build(secrets, &self.parent, &self.steps.keep, self.steps.pure);
        for var in &mut env.vars {
            let spec = self.steps.rules.vars.get(&var.name);
            var.not_secret = spec.is_some_and(|s| s.secret == Some(false));
        }
        env
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

impl Secrets for Pipeline {
    fn env<'s>(&self, secrets: &'s SecretSet) -> ChildEnv<'s> {
        Pipeline::env(self, secrets)
    }

    fn files(&self) -> &[crate::deliver::AsFile] {
        Pipeline::files(self)
    }

    /// Fetches again; what loading warns of was shown at the start.
    fn refetch(&self, until: Option<Instant>) -> Result<SecretSet> {
        source::load(&self.steps.fetch, &self.parent, &mut |_| {}, until)
    }

    fn problems(&self, secrets: &SecretSet) -> Vec<String> {
        let report = self.validate(&self.env(secrets));
        report.errors.into_iter().map(|f| f.message).collect()
    }
}
