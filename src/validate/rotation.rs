//! Rotation: how old each value is against its `max_age`, and how near the expiry
//! its store records. Only what a store recorded counts: a dotenv value has no known
//! age, and is "unknown", never guessed.

use std::time::Duration;

use crate::duration::{show_coarse, show_duration};
use crate::secret::Dates;
use crate::timestamp::{self, Seconds};

/// The rotation rules of the configuration.
#[derive(Debug)]
pub struct Policy {
    /// `max_age` for a variable without its own (`[rotation] max_age`).
    pub max_age: Option<Duration>,
    /// How long before a recorded expiry a value is warned of.
    pub warn_before_expiry: Duration,
    /// An overdue value is an error, not a warning (`check --strict`,
    /// `[rotation] strict`).
    pub strict: bool,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            max_age: None,
            warn_before_expiry: Duration::from_secs(14 * 86_400),
            strict: false,
        }
    }
}

/// Where a value stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// The store recorded nothing (a dotenv value, KV v1).
    Unknown,
    Ok,
    /// Older than its `max_age`.
    Overdue,
    /// Within the warning window of its recorded expiry.
    Expiring,
    /// Past its recorded expiry.
    Expired,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Unknown => "unknown",
            State::Ok => "ok",
            State::Overdue => "overdue",
            State::Expiring => "expiring",
            State::Expired => "expired",
        }
    }
}

/// What rotation found for one variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Age {
    pub dates: Dates,
    /// Seconds since the value was written (0 when the store's clock is ahead).
    pub age: Option<u64>,
    pub max_age: Option<Duration>,
    pub state: State,
}

/// How bad a finding is.
#[derive(Debug, PartialEq, Eq)]
pub enum Severity {
    Warning,
    Error,
}

/// Judges one variable at `now`: where it stands, and the finding to report, if
/// any (a message naming the variable, never its value).
pub fn judge(
    name: &str,
    dates: Dates,
    max_age: Option<Duration>,
    policy: &Policy,
    now: Seconds,
) -> (Age, Option<(Severity, String)>) {
    let age = dates.created.map(|at| now.saturating_sub(at).max(0) as u64);
    let mut state = if dates.created.is_some() || dates.expires.is_some() {
        State::Ok
    } else {
        State::Unknown
    };
    let mut finding = None;
    if let (Some(age), Some(max)) = (age, max_age)
        && age > max.as_secs()
    {
        state = State::Overdue;
        let severity = if policy.strict {
            Severity::Error
        } else {
            Severity::Warning
        };
        let message = format!(
            "`{name}` was written {} ago, over its max_age of {}: rotate it",
            show_coarse(age),
            show_max_age(max)
        );
        finding = Some((severity, message));
    }
    if let Some(expires) = dates.expires {
        let when = timestamp::show(expires);
        if expires <= now {
            state = State::Expired;
            let ago = show_coarse((now - expires) as u64);
            let message = format!("`{name}` expired {ago} ago ({when}, as its store records)");
            finding = Some((Severity::Error, message));
        } else if ((expires - now) as u64) < policy.warn_before_expiry.as_secs()
            && state != State::Overdue
        {
            state = State::Expiring;
            let left = show_coarse((expires - now) as u64);
            let message = format!("`{name}` expires in {left} ({when}, as its store records)");
            finding = Some((Severity::Warning, message));
        }
    }
    let age = Age {
        dates,
        age,
        max_age,
        state,
    };
    (age, finding)
}

/// A `max_age` as it would be written: `90d`, or finer when it is not whole days.
pub fn show_max_age(max: Duration) -> String {
    if max.as_secs() >= 86_400 && max.as_secs().is_multiple_of(86_400) {
        format!("{}d", max.as_secs() / 86_400)
    } else {
        show_duration(max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    const NOW: Seconds = 1_795_921_686;

    fn dates(created: Option<i64>, expires: Option<i64>) -> Dates {
        Dates {
            created,
            expires,
            leased: None,
            version: None,
        }
    }

    #[test]
    fn unknown_without_recorded_dates() {
        let (age, finding) = judge(
            "A",
            Dates::default(),
            Some(Duration::from_secs(1)),
            &Policy::default(),
            NOW,
        );
        assert_eq!((age.state, age.age, finding), (State::Unknown, None, None));
    }

    #[test]
    fn overdue_warns_and_strict_refuses() {
        let written = dates(Some(NOW - 412 * DAY), None);
        let max = Some(Duration::from_secs(90 * 86_400));
        let (age, finding) = judge("A", written, max, &Policy::default(), NOW);
        assert_eq!(age.state, State::Overdue);
        assert_eq!(age.age, Some(412 * 86_400));
        assert_eq!(
            finding,
            Some((
                Severity::Warning,
                "`A` was written 412d ago, over its max_age of 90d: rotate it".to_owned()
            ))
        );
        let strict = Policy {
            strict: true,
            ..Policy::default()
        };
        assert_eq!(
            judge("A", written, max, &strict, NOW).1.unwrap().0,
            Severity::Error
        );
        // Within its max_age, or with none: fine.
        let (age, finding) = judge("A", written, None, &Policy::default(), NOW);
        assert_eq!((age.state, finding), (State::Ok, None));
        let young = dates(Some(NOW - 89 * DAY), None);
        assert_eq!(judge("A", young, max, &Policy::default(), NOW).1, None);
    }

    #[test]
    fn expiry_is_an_error_past_it_and_a_warning_near_it() {
        let past = dates(Some(NOW - 10 * DAY), Some(NOW - 3 * DAY));
        let (age, finding) = judge("A", past, None, &Policy::default(), NOW);
        assert_eq!(age.state, State::Expired);
        assert_eq!(
            finding,
            Some((
                Severity::Error,
                "`A` expired 3d ago (2026-11-26T03:08:06Z, as its store records)".to_owned()
            ))
        );
        let soon = dates(None, Some(NOW + 5 * DAY));
        let (age, finding) = judge("A", soon, None, &Policy::default(), NOW);
        assert_eq!(age.state, State::Expiring);
        assert_eq!(finding.unwrap().0, Severity::Warning);
        let later = dates(None, Some(NOW + 30 * DAY));
        assert_eq!(
            judge("A", later, None, &Policy::default(), NOW).0.state,
            State::Ok
        );
    }

    #[test]
    fn a_store_clock_ahead_of_ours_is_age_zero() {
        let ahead = dates(Some(NOW + 60), None);
        let (age, _) = judge(
            "A",
            ahead,
            Some(Duration::from_secs(1)),
            &Policy::default(),
            NOW,
        );
        assert_eq!((age.age, age.state), (Some(0), State::Ok));
    }
}
