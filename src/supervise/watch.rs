//! `--watch`: fetch the sources again on an interval, and decide whether the command
//! gets the new values. A failure (fetching, or validating the new values) keeps the
//! command on its old values and is logged once, again only when it changes, and
//! its clearing is logged too: a store that is down for an hour is one line, not
//! one per interval.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::messages;
use crate::secret::SecretSet;

use super::Secrets;
use super::refetch::Refetch;

/// What a changed value does to the running command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnChange {
    /// Stop it (TERM, then KILL after the grace period) and start it again with the
    /// new values.
    Restart,
    /// Send it this signal; it keeps its environment (no process can change
    /// another's), so this is for commands that re-read their secrets themselves:
    /// the files of `--file` change behind their paths first.
    Signal(crate::sigset::Signal),
    /// `--watch`'s default: [`OnChange::Signal`] when every changed value is
    /// delivered as a file (its new content is behind the same path: the command
    /// reads it again on the signal), [`OnChange::Restart`] when one is in the
    /// environment, which a running process cannot see change.
    Auto(crate::sigset::Signal),
}

/// `--watch`: re-fetch the sources on an interval.
#[derive(Debug)]
pub struct Watch {
    pub every: Duration,
    pub on_change: OnChange,
}

/// One wait of `--watch`: the interval less a random tenth of it at the most. Never
/// longer than asked; and replicas of a fleet started at once, all watching on the
/// same interval, drift apart within a few rounds instead of asking their store in
/// lock-step.
fn splayed(every: Duration) -> Duration {
    let tenth = (every / 10).as_nanos() as u64;
    every - Duration::from_nanos(crate::jitter::random_u64() % (tenth + 1))
}

/// The state of watching across intervals.
pub struct Watcher<'w> {
    watch: &'w Watch,
    next: Option<Instant>,
    /// The fetch under way.
    refetch: Refetch,
    /// The failure logged last, while it lasts.
    problem: Option<String>,
}

impl<'w> Watcher<'w> {
    pub fn new(watch: &'w Watch) -> Watcher<'w> {
        Watcher {
            watch,
            next: Some(Instant::now() + splayed(watch.every)),
            refetch: Refetch::default(),
            problem: None,
        }
    }

    pub fn on_change(&self) -> OnChange {
        self.watch.on_change
    }

    /// Starts a fetch when one is due, beside the supervisor (it never waits for a
    /// store); once its answer has come, the new set when values changed and pass
    /// validation.
    pub fn poll(&mut self, secrets: &Arc<dyn Secrets>, current: &SecretSet) -> Option<SecretSet> {
        let Some(fetched) = self.refetch.poll() else {
            if !self.refetch.busy() && self.next.is_some_and(|at| Instant::now() >= at) {
                self.next = Some(Instant::now() + splayed(self.watch.every));
                self.refetch.start(secrets, None);
            }
            return None;
        };
        let (new, problem) = match decide(fetched, current, secrets.as_ref()) {
            Round::Same => (None, None),
            Round::Changed(new, line) => {
                messages::watch(&line);
                (Some(new), None)
            }
            Round::Failed(line) => (None, Some(line)),
        };
        if let Some(line) = self.note(problem) {
            messages::watch(&line);
        }
        new
    }

    /// The line to log for this round's failure (or its absence), if any.
    fn note(&mut self, problem: Option<String>) -> Option<String> {
        if problem == self.problem {
            return None;
        }
        let previous = std::mem::replace(&mut self.problem, problem);
        match (&self.problem, previous) {
            (Some(now), _) => Some(now.clone()),
            (None, Some(_)) => Some("the earlier failure has cleared".into()),
            (None, None) => None,
        }
    }
}

/// What one round of watching found.
#[derive(Debug)]
enum Round {
    /// Nothing changed.
    Same,
    /// Values changed and pass validation: the new set, and the line naming them.
    Changed(SecretSet, String),
    /// Fetching failed, or the new values fail validation: the command keeps its
    /// values, and this says why (never a value).
    Failed(String),
}

/// The watch decision for a fresh fetch.
fn decide(fetched: Result<SecretSet>, current: &SecretSet, secrets: &dyn Secrets) -> Round {
    let new = match fetched {
        Ok(new) => new,
        Err(err) => {
            return Round::Failed(format!(
                "fetching failed, the command keeps its values: {}",
                messages::one_line(&err)
            ));
        }
    };
    let changed = changed_names(current, &new);
    if changed.is_empty() {
        return Round::Same;
    }
    let shown: Vec<String> = changed.iter().map(|n| format!("`{n}`")).collect();
    let problems = secrets.problems(&new);
    if !problems.is_empty() {
        let mut text = format!(
            "changed: {}; the new values fail validation, the command keeps the old ones",
            shown.join(", ")
        );
        for problem in &problems {
            text.push_str(&format!("\n  {problem}"));
        }
        return Round::Failed(text);
    }
    let line = format!("changed: {}", shown.join(", "));
    Round::Changed(new, line)
}

/// The names whose values differ between the two sets (changed, gone or new),
/// sorted.
pub fn changed_names<'a>(current: &'a SecretSet, new: &'a SecretSet) -> Vec<&'a str> {
    let mut changed: Vec<&str> = current
        .iter()
        .filter(|(name, s)| {
            new.get(name)
                .is_none_or(|n| n.value.expose() != s.value.expose())
        })
        .map(|(name, _)| name)
        .collect();
    changed.extend(
        new.iter()
            .map(|(name, _)| name)
            .filter(|name| current.get(name).is_none()),
    );
    changed.sort();
    changed.dedup();
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watch_interval_is_splayed_by_at_most_a_tenth_and_never_lengthened() {
        let every = Duration::from_secs(30);
        let waits: Vec<Duration> = (0..200).map(|_| splayed(every)).collect();
        assert!(waits.iter().all(|w| *w <= every && *w >= every * 9 / 10));
        let distinct: std::collections::HashSet<_> = waits.iter().collect();
        assert!(distinct.len() > 100, "replicas would stay in step");
    }

    #[test]
    fn changed_gone_and_new_names() {
        let old = SecretSet::of(&[("A", "1"), ("B", "2"), ("C", "3")]);
        let new = SecretSet::of(&[("A", "1"), ("B", "two"), ("D", "4")]);
        assert_eq!(changed_names(&old, &new), ["B", "C", "D"]);
        assert!(changed_names(&old, &old).is_empty());
    }

    #[test]
    fn a_failure_is_logged_once_then_when_it_changes_or_clears() {
        let watch = Watch {
            every: Duration::from_secs(1),
            on_change: OnChange::Restart,
        };
        let mut w = Watcher::new(&watch);
        assert_eq!(w.note(None), None);
        assert_eq!(w.note(Some("down".into())).as_deref(), Some("down"));
        assert_eq!(w.note(Some("down".into())), None);
        assert_eq!(w.note(Some("denied".into())).as_deref(), Some("denied"));
        assert_eq!(
            w.note(None).as_deref(),
            Some("the earlier failure has cleared")
        );
        assert_eq!(w.note(None), None);
        assert_eq!(w.note(Some("down".into())).as_deref(), Some("down"));
    }

    /// Validation as a stub: a value `bad` is a problem.
    struct Stub;

    impl Secrets for Stub {
        fn env<'s>(&self, secrets: &'s SecretSet) -> crate::env::ChildEnv<'s> {
            crate::env::ChildEnv::build(secrets, &[], &[], true)
        }
        fn refetch(&self, _: Option<Instant>) -> Result<SecretSet> {
            unreachable!("decide is given the fetch")
        }
        fn problems(&self, secrets: &SecretSet) -> Vec<String> {
            secrets
                .iter()
                .filter(|(_, s)| s.value.expose() == "bad")
                .map(|(name, _)| format!("`{name}` is bad"))
                .collect()
        }
        fn files(&self) -> &[crate::deliver::AsFile] {
            &[]
        }
    }

    #[test]
    fn the_watch_decision() {
        let current = SecretSet::of(&[("A", "1"), ("B", "2")]);
        let same = decide(
            Ok(SecretSet::of(&[("A", "1"), ("B", "2")])),
            &current,
            &Stub,
        );
        assert!(matches!(same, Round::Same), "{same:?}");
        match decide(
            Ok(SecretSet::of(&[("A", "1"), ("B", "3")])),
            &current,
            &Stub,
        ) {
            Round::Changed(new, line) => {
                assert_eq!(line, "changed: `B`");
                assert_eq!(new.get("B").unwrap().value.expose(), "3");
            }
            other => panic!("{other:?}"),
        }
        match decide(
            Ok(SecretSet::of(&[("A", "bad"), ("B", "2")])),
            &current,
            &Stub,
        ) {
            Round::Failed(text) => assert_eq!(
                text,
                "changed: `A`; the new values fail validation, the command keeps the old ones\n  `A` is bad"
            ),
            other => panic!("{other:?}"),
        }
        let down = decide(
            Err(anyhow::anyhow!("down").context("fetching")),
            &current,
            &Stub,
        );
        match down {
            Round::Failed(text) => assert_eq!(
                text,
                "fetching failed, the command keeps its values: fetching: down"
            ),
            other => panic!("{other:?}"),
        }
    }
}
