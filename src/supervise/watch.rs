//! `--watch`: fetch the sources again on an interval, and decide whether the command
//! gets the new values. A failure (fetching, or validating the new values) keeps the
//! command on its old values and is logged once, again only when it changes, and
//! its clearing is logged too: a store that is down for an hour is one line, not
//! one per interval.

use std::time::{Duration, Instant};

use crate::secret::SecretSet;
use crate::{source, validate};

use super::Launch;

/// What a changed value does to the running command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnChange {
    /// Stop it (TERM, then KILL after the grace period) and start it again with the
    /// new values.
    Restart,
    /// Send it this signal; it keeps its environment (no process can change
    /// another's), so this is for commands that re-read their secrets themselves.
    Signal(libc::c_int),
}

/// `--watch`: re-fetch the sources on an interval.
pub struct Watch {
    pub every: Duration,
    pub on_change: OnChange,
}

/// The state of watching across intervals.
pub struct Watcher<'w> {
    watch: &'w Watch,
    next: Option<Instant>,
    /// The failure logged last, while it lasts.
    problem: Option<String>,
}

impl<'w> Watcher<'w> {
    pub fn new(watch: &'w Watch) -> Watcher<'w> {
        Watcher {
            watch,
            next: Some(Instant::now() + watch.every),
            problem: None,
        }
    }

    pub fn on_change(&self) -> OnChange {
        self.watch.on_change
    }

    /// No more fetching (the command is being stopped).
    pub fn stop(&mut self) {
        self.next = None;
    }

    /// When due, fetches again; the new set when values changed and pass validation.
    pub fn poll(&mut self, launch: &Launch, current: &SecretSet) -> Option<SecretSet> {
        if self.next.is_none_or(|at| Instant::now() < at) {
            return None;
        }
        self.next = Some(Instant::now() + self.watch.every);
        let (new, problem) = refetch(launch, current);
        if let Some(line) = self.note(problem) {
            eprintln!("{line}");
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
            (None, Some(_)) => Some("secretrun: watch: the earlier failure has cleared".into()),
            (None, None) => None,
        }
    }
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

/// Fetches the sources again: the new set when a value changed and the new values
/// pass validation, and the failure to log, if any. Logs which names changed (never
/// values).
fn refetch(launch: &Launch, current: &SecretSet) -> (Option<SecretSet>, Option<String>) {
    let new = match source::load(&launch.config.fetch, launch.parent) {
        Ok(new) => new,
        Err(err) => {
            let line = format!(
                "secretrun: watch: fetching failed, the command keeps its values: {}",
                one_line(&err)
            );
            return (None, Some(line));
        }
    };
    let changed = changed_names(current, &new);
    if changed.is_empty() {
        return (None, None);
    }
    let shown: Vec<String> = changed.iter().map(|n| format!("`{n}`")).collect();
    let env = launch.env(&new);
    let report = validate::validate(&env, &launch.config.rules);
    if !report.errors.is_empty() {
        let mut text = format!(
            "secretrun: watch: changed: {}; the new values fail validation, the command keeps the old ones",
            shown.join(", ")
        );
        for error in &report.errors {
            text.push_str(&format!("\nsecretrun: watch:   {}", error.message));
        }
        return (None, Some(text));
    }
    drop(env);
    eprintln!("secretrun: watch: changed: {}", shown.join(", "));
    (Some(new), None)
}

fn one_line(err: &anyhow::Error) -> String {
    err.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

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
            Some("secretrun: watch: the earlier failure has cleared")
        );
        assert_eq!(w.note(None), None);
        assert_eq!(w.note(Some("down".into())).as_deref(), Some("down"));
    }
}
