//! Leases: what a store gives with a dynamic secret (a database user made for this
//! launch). A [`Lease`] is renewed and revoked through the store that gave it; one
//! that is dropped while still held is revoked then, so no path out of a launch
//! (validation failed, command not found, `check --read-dynamic`) leaves a user
//! behind. Only an exec (`--exec`) lets a lease go on its own, by
//! [`Lease::abandon`]. A leaf: the store behind it is a trait object.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::messages;

/// What a store does with its leases. Each call blocks until the store answers or
/// `timeout` passes; an error whose exit code is 69 (unreachable, 5xx) may be tried
/// again, any other means the store refused (the lease is gone).
pub trait LeaseStore: Send + Sync {
    /// Asks for `increment` more; the store answers with the duration it granted.
    fn renew(&self, id: &str, increment: Duration, timeout: Duration) -> Result<Duration>;
    fn revoke(&self, id: &str, timeout: Duration) -> Result<()>;
}

/// A lease held: revoked when dropped, unless revoked or abandoned before.
pub struct Lease {
    /// The reference it came from, for messages.
    pub source: String,
    /// The duration granted by the last read or renewal.
    pub duration: Duration,
    pub renewable: bool,
    /// When the duration above started.
    pub since: Instant,
    /// Not secret, but of no use to anyone reading messages: never shown.
    id: String,
    store: Arc<dyn LeaseStore>,
    held: bool,
}

/// How long a revocation may take when secretrun is on its way out: a store that
/// stopped answering must not keep a stopping container waiting (`docker stop`
/// gives 10 s in all, most of them the command's own). The lease then ends on its
/// own at its expiry.
pub const REVOKE_TIMEOUT: Duration = Duration::from_secs(3);

impl Lease {
    pub fn new(
        source: String,
        id: String,
        duration: Duration,
        renewable: bool,
        store: Arc<dyn LeaseStore>,
    ) -> Lease {
        Lease {
            source,
            duration,
            renewable,
            since: Instant::now(),
            id,
            store,
            held: true,
        }
    }

    /// When the lease ends unless renewed.
    pub fn expires(&self) -> Instant {
        self.since + self.duration
    }

    /// The store behind it and its id, for a renewal on another thread.
    pub fn handle(&self) -> (Arc<dyn LeaseStore>, String) {
        (self.store.clone(), self.id.clone())
    }

    /// Revokes it now; the error says why not (the lease then ends on its own).
    pub fn revoke(mut self) -> Result<()> {
        self.held = false;
        self.store.revoke(&self.id, REVOKE_TIMEOUT)
    }

    /// Lets it go without revoking: it ends on its own at its expiry.
    pub fn abandon(mut self) {
        self.held = false;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.held {
            self.held = false;
            if let Err(err) = self.store.revoke(&self.id, REVOKE_TIMEOUT) {
                messages::warning(&not_revoked(&self.source, &err));
            }
        }
    }
}

/// The warning for a lease that could not be revoked.
pub fn not_revoked(source: &str, err: &anyhow::Error) -> String {
    format!(
        "the lease of `{source}` was not revoked ({}); it ends on its own at its expiry",
        messages::one_line(err)
    )
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("source", &self.source)
            .field("duration", &self.duration)
            .field("renewable", &self.renewable)
            .finish_non_exhaustive()
    }
}

/// What `list` and `check` show of a leased value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leased {
    /// Read, under a lease of this many seconds.
    Held { seconds: u64, renewable: bool },
    /// A dynamic secret not read: reading it would create credentials
    /// (`--read-dynamic`). Its variables are named, their values empty.
    NotRead,
}

impl Leased {
    /// `1h renewable`, `30s not renewable`, `not read (dynamic)`.
    pub fn describe(self) -> String {
        match self {
            Leased::Held { seconds, renewable } => format!(
                "{} {}",
                exact(seconds),
                if renewable {
                    "renewable"
                } else {
                    "not renewable"
                }
            ),
            Leased::NotRead => "not read (dynamic)".to_owned(),
        }
    }
}

/// Seconds in the largest unit that divides them: `1h`, `90s`, `2m`.
fn exact(seconds: u64) -> String {
    match seconds {
        0 => "0s".to_owned(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_shown_exactly() {
        let held = |seconds| Leased::Held {
            seconds,
            renewable: true,
        };
        assert_eq!(held(3600).describe(), "1h renewable");
        assert_eq!(held(90).describe(), "90s renewable");
        assert_eq!(held(120).describe(), "2m renewable");
        assert_eq!(
            Leased::Held {
                seconds: 0,
                renewable: false
            }
            .describe(),
            "0s not renewable"
        );
        assert_eq!(Leased::NotRead.describe(), "not read (dynamic)");
    }
}
