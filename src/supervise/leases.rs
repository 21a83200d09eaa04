//! Keeping leases while the command runs: each is renewed at about two thirds of
//! its duration (with jitter, so many launches do not renew at once), on a thread
//! of its own so signals are still forwarded while the store answers. A renewal
//! that fails for a while (the store down) is tried again within the lease's time
//! left; one the store refuses, or one that can extend no further (not renewable,
//! or capped at the lease's maximum TTL), ends the lease as `--on-change` says:
//! fresh credentials and a restart, or a signal now and a stop when it expires.
//! The command never runs on past a lease known to be over. [`Keeper::revoke_all`]
//! revokes what is held when the command is done.

use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::duration::show_duration;
use crate::error::{Kind, exit_code};
use crate::lease::{self, Lease};
use crate::messages;
use crate::secret::SecretSet;

use super::refetch::Refetch;
use super::{OnChange, Secrets};

/// The longest wait before a failed renewal is tried again.
const RETRY_CAP: Duration = Duration::from_secs(30);

/// The most a renewal may take.
const RENEW_TIMEOUT: Duration = Duration::from_secs(10);

/// What the supervisor is to do for the leases.
#[derive(Debug)]
pub enum Event {
    /// Restart the command with these fresh values (and their leases).
    Restart(SecretSet),
    /// Send the command this signal: a lease is ending.
    Signal(crate::sigset::Signal),
    /// Stop the command: its credentials are over. The text says why.
    Stop(String),
}

/// One lease held, and where its renewal stands.
struct Held {
    lease: Lease,
    /// What each renewal asks for: the duration first granted.
    increment: Duration,
    /// When to act next: renew, or end it.
    next: Instant,
    /// It can be extended no further: at `next`, it ends.
    last: bool,
    /// A renewal under way: when it was sent, and its answer to come.
    renewing: Option<(Instant, mpsc::Receiver<Result<Duration>>)>,
    /// Renewals failed in a row (the store unreachable).
    failures: u32,
    /// `--on-change signal` was sent for its end.
    signalled: bool,
}

/// The leases of the running command.
pub struct Keeper {
    held: Vec<Held>,
    end: OnChange,
    /// A restart's fetch that failed, logged once.
    refetch_failed: bool,
    /// The fresh read for a restart, under way, and why it was started.
    refetch: Refetch,
    reason: Option<String>,
}

impl Keeper {
    pub fn new(leases: Vec<Lease>, end: OnChange) -> Keeper {
        let mut keeper = Keeper {
            held: Vec::new(),
            end,
            refetch_failed: false,
            refetch: Refetch::default(),
            reason: None,
        };
        keeper.hold(leases);
        keeper
    }

    fn hold(&mut self, leases: Vec<Lease>) {
        self.held = leases
            .into_iter()
            .map(|lease| Held {
                next: renew_time(lease.since, lease.duration),
                last: !lease.renewable,
                increment: lease.duration,
                renewing: None,
                failures: 0,
                signalled: false,
                lease,
            })
            .collect();
        self.refetch_failed = false;
    }

    /// The new leases of a restarted command; the old command is gone, so its
    /// leases are revoked.
    pub fn replace(&mut self, leases: Vec<Lease>) {
        self.revoke_all();
        self.hold(leases);
    }

    /// Revokes every lease held, all at once, saying which could not be. It takes
    /// [`lease::REVOKE_TIMEOUT`] at the most, however many leases and however slow
    /// the stores: one that has not answered by then is left to expire.
    pub fn revoke_all(&mut self) {
        let deadline = Instant::now() + lease::REVOKE_TIMEOUT + Duration::from_millis(200);
        let (tx, rx) = mpsc::channel();
        let mut pending = Vec::new();
        for held in self.held.drain(..) {
            let source = held.lease.source.clone();
            let tx = tx.clone();
            let answer = source.clone();
            let spawned = std::thread::Builder::new()
                .name("lease-revoke".into())
                .spawn(move || {
                    let _ = tx.send((answer, held.lease.revoke()));
                });
            if spawned.is_ok() {
                pending.push(source);
            }
        }
        drop(tx);
        while !pending.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok((source, answer)) = rx.recv_timeout(left) else {
                break;
            };
            pending.retain(|p| *p != source);
            if let Err(err) = answer {
                messages::lease(&lease::not_revoked(&source, &err));
            }
        }
        for source in pending {
            let err = anyhow::anyhow!("no answer within {}", show_duration(lease::REVOKE_TIMEOUT));
            messages::lease(&lease::not_revoked(&source, &err));
        }
    }

    /// Checks on renewals under way, starts those that are due, and says what the
    /// end of a lease asks of the supervisor. Nothing here waits on a store.
    pub fn poll(&mut self, secrets: &Arc<dyn Secrets>) -> Option<Event> {
        let now = Instant::now();
        let mut ending: Option<String> = None;
        for held in &mut self.held {
            if let Some(why) = held.poll(now) {
                ending.get_or_insert(why);
            }
        }
        let why = ending?;
        self.end_with(secrets, why, now)
    }

    /// A lease is over or about to be: what `--on-change` makes of it.
    fn end_with(&mut self, secrets: &Arc<dyn Secrets>, why: String, now: Instant) -> Option<Event> {
        let expired = self.held.iter().any(|h| now >= h.lease.expires());
        match self.end {
            // New credentials are in the environment: `Auto` restarts too.
            OnChange::Restart | OnChange::Auto(_) => self.restart(secrets, why, now, expired),
            OnChange::Signal(sig) => self.signal(sig, why, now, expired),
        }
    }

    /// `--on-change restart`: fresh credentials, read beside the supervisor and of no
    /// use past the first expiry (the read ends there); the command is stopped at the
    /// expiry when none have come.
    fn restart(
        &mut self,
        secrets: &Arc<dyn Secrets>,
        why: String,
        now: Instant,
        expired: bool,
    ) -> Option<Event> {
        let Some(answer) = self.refetch.poll() else {
            if expired {
                return Some(Event::Stop(format!(
                    "{why}; fresh credentials did not come before it: the command was stopped"
                )));
            }
            if !self.refetch.busy() {
                let until = self.held.iter().map(|h| h.lease.expires()).min();
                self.refetch.start(secrets, until);
                self.reason = Some(why);
            }
            return None;
        };
        // What started the read says why, unless the lease has expired since.
        let why = match self.reason.take() {
            Some(reason) if !expired => reason,
            _ => why,
        };
        match fresh(answer, secrets.as_ref()) {
            Ok(new) => {
                messages::lease(&format!(
                    "{why}: restarting the command with fresh credentials"
                ));
                Some(Event::Restart(new))
            }
            Err(failure) if expired => Some(Event::Stop(format!(
                "{why}; fresh credentials could not be read ({failure}): the command was stopped"
            ))),
            Err(failure) => {
                if !self.refetch_failed {
                    messages::lease(&format!(
                        "{why}; fresh credentials could not be read, trying again: {failure}"
                    ));
                    self.refetch_failed = true;
                }
                for held in &mut self.held {
                    if held.last && held.next <= now {
                        let left = held.lease.expires().saturating_duration_since(now);
                        held.next = now + (left / 4).clamp(Duration::from_millis(200), RETRY_CAP);
                    }
                }
                None
            }
        }
    }

    /// `--on-change SIGNAL`: the signal once, and a stop at the expiry.
    fn signal(
        &mut self,
        sig: crate::sigset::Signal,
        why: String,
        now: Instant,
        expired: bool,
    ) -> Option<Event> {
        if expired {
            return Some(Event::Stop(format!("{why}: the command was stopped")));
        }
        let mut first = false;
        for held in self.held.iter_mut().filter(|h| h.last && h.next <= now) {
            first |= !held.signalled;
            held.signalled = true;
            held.next = held.lease.expires();
        }
        first.then(|| {
            messages::lease(&format!(
                "{why}: the command was signalled; it is stopped when the lease expires"
            ));
            Event::Signal(sig)
        })
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        self.revoke_all();
    }
}

impl Held {
    /// Moves this lease on; the reason it ends, when it does.
    fn poll(&mut self, now: Instant) -> Option<String> {
        // A lease of no duration does not expire: there is nothing to renew, only
        // the revocation at the end.
        if self.lease.duration.is_zero() && self.renewing.is_none() {
            return None;
        }
        let source = self.lease.source.clone();
        if let Some((sent, answer)) = &self.renewing {
            match answer.try_recv() {
                Err(mpsc::TryRecvError::Empty) => {}
                Err(mpsc::TryRecvError::Disconnected) => {
                    self.renewing = None;
                    self.retry(now);
                }
                Ok(Ok(granted)) => {
                    let sent = *sent;
                    self.renewing = None;
                    self.renewed(sent, granted);
                }
                Ok(Err(err)) => {
                    self.renewing = None;
                    if exit_code(&err) != Kind::Unreachable.exit_code() {
                        self.last = true;
                        self.next = now;
                        return Some(format!(
                            "the lease of `{source}` could not be renewed ({})",
                            messages::one_line(&err)
                        ));
                    }
                    if self.failures == 0 {
                        messages::lease(&format!(
                            "renewing the lease of `{source}` failed, trying again: {}",
                            messages::one_line(&err)
                        ));
                    }
                    self.failures += 1;
                    self.retry(now);
                }
            }
        }
        if now >= self.lease.expires() {
            self.last = true;
            return Some(format!("the lease of `{source}` expired"));
        }
        if self.renewing.is_some() || now < self.next {
            return None;
        }
        if self.last {
            let left = self.lease.expires().saturating_duration_since(now);
            let why = if self.lease.renewable {
                "reaches its maximum TTL"
            } else {
                "is not renewable, and ends"
            };
            return Some(format!(
                "the lease of `{source}` {why} in {}",
                show_duration(Duration::from_secs(left.as_secs().max(1)))
            ));
        }
        self.start_renewal(now);
        None
    }

    /// Asks for a renewal on a thread of its own.
    fn start_renewal(&mut self, now: Instant) {
        let (store, id) = self.lease.handle();
        let increment = self.increment;
        let left = self.lease.expires().saturating_duration_since(now);
        let timeout = RENEW_TIMEOUT.min(left).max(Duration::from_millis(100));
        let (tx, rx) = mpsc::channel();
        let started = std::thread::Builder::new()
            .name("lease-renewal".into())
            .spawn(move || {
                let _ = tx.send(store.renew(&id, increment, timeout));
            });
        match started {
            Ok(_) => self.renewing = Some((now, rx)),
            Err(_) => self.retry(now),
        }
    }

    /// A renewal granted `granted` from `sent` on. Less than asked means the
    /// lease's maximum TTL caps it: this stretch is its last, and the lease ends
    /// now, while the most of it is left for a restart.
    fn renewed(&mut self, sent: Instant, granted: Duration) {
        self.failures = 0;
        self.lease.since = sent;
        self.lease.duration = granted;
        if granted < self.increment {
            self.last = true;
            self.next = sent;
        } else {
            self.next = renew_time(sent, granted);
        }
    }

    /// The next try of a failed renewal: backing off, within the time left.
    fn retry(&mut self, now: Instant) {
        let left = self.lease.expires().saturating_duration_since(now);
        let backoff = Duration::from_secs(1)
            .saturating_mul(1 << self.failures.min(5))
            .min(RETRY_CAP);
        self.next = now + backoff.min(left / 2).max(Duration::from_millis(100));
    }
}

/// When a lease granted `duration` at `since` is renewed: at 60–72% of it (two
/// thirds, give or take, so many launches spread out).
fn renew_time(since: Instant, duration: Duration) -> Instant {
    let share = 600 + crate::jitter::random_u64() % 121;
    since + duration * share as u32 / 1000
}

/// Fresh values for a restart, if they were read and pass validation; else why not.
fn fresh(answer: Result<SecretSet>, secrets: &dyn Secrets) -> Result<SecretSet, String> {
    let new = answer.map_err(|e| messages::one_line(&e))?;
    let problems = secrets.problems(&new);
    if problems.is_empty() {
        Ok(new)
    } else {
        Err(format!(
            "the new values fail validation: {}",
            problems.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    use crate::error::Failure;
    use crate::lease::LeaseStore;

    /// A store that answers renewals from a script and counts revocations.
    #[derive(Default)]
    struct Script {
        renewals: Mutex<Vec<Result<Duration, Kind>>>,
        revoked: Mutex<u32>,
    }

    impl LeaseStore for Script {
        fn renew(&self, _: &str, _: Duration, _: Duration) -> Result<Duration> {
            match self.renewals.lock().unwrap().remove(0) {
                Ok(d) => Ok(d),
                Err(kind) => Err(Failure::new(kind, "scripted").into()),
            }
        }
        fn revoke(&self, _: &str, _: Duration) -> Result<()> {
            *self.revoked.lock().unwrap() += 1;
            Ok(())
        }
    }

    fn held(store: &Arc<Script>, seconds: u64, renewable: bool) -> Held {
        let lease = Lease::new(
            "vault://database/creds/app".into(),
            "id".into(),
            Duration::from_secs(seconds),
            renewable,
            store.clone(),
        );
        Held {
            next: renew_time(lease.since, lease.duration),
            last: !renewable,
            increment: lease.duration,
            renewing: None,
            failures: 0,
            signalled: false,
            lease,
        }
    }

    /// Polls until the renewal thread has answered.
    fn settle(h: &mut Held, at: Instant) -> Option<String> {
        let mut why = h.poll(at);
        while h.renewing.is_some() {
            std::thread::sleep(Duration::from_millis(1));
            why = why.or(h.poll(at));
        }
        why
    }

    #[test]
    fn renewal_is_due_at_about_two_thirds() {
        let now = Instant::now();
        for _ in 0..100 {
            let at = renew_time(now, Duration::from_secs(100)) - now;
            assert!(
                at >= Duration::from_secs(60) && at <= Duration::from_secs(72),
                "{at:?}"
            );
        }
    }

    #[test]
    fn a_capped_renewal_is_the_last_and_then_the_lease_ends() {
        let store = Arc::new(Script::default());
        *store.renewals.lock().unwrap() =
            vec![Ok(Duration::from_secs(60)), Ok(Duration::from_secs(20))];
        let mut h = held(&store, 60, true);
        let start = h.lease.since;
        assert_eq!(h.poll(start), None, "nothing is due at the start");
        let due = h.next;
        assert_eq!(settle(&mut h, due), None);
        assert!(!h.last, "a full renewal is not the last");
        let due = h.next;
        let why = settle(&mut h, due).expect("a renewal granting less than asked ends it");
        assert!(h.last);
        assert!(why.contains("reaches its maximum TTL"), "{why}");
        drop(h);
        assert_eq!(*store.revoked.lock().unwrap(), 1, "dropped, it is revoked");
    }

    #[test]
    fn a_refused_renewal_ends_the_lease_and_an_unreachable_store_is_tried_again() {
        let store = Arc::new(Script::default());
        *store.renewals.lock().unwrap() = vec![Err(Kind::Unreachable), Err(Kind::Config)];
        let mut h = held(&store, 60, true);
        let due = h.next;
        assert_eq!(settle(&mut h, due), None, "unreachable: tried again");
        assert_eq!(h.failures, 1);
        assert!(h.next > due && h.next < h.lease.expires());
        let due = h.next;
        let why = settle(&mut h, due).expect("refused: the lease ends");
        assert!(why.contains("could not be renewed"), "{why}");
    }

    #[test]
    fn a_lease_past_its_expiry_is_over() {
        let store = Arc::new(Script::default());
        let mut h = held(&store, 1, true);
        let why = h.poll(h.lease.expires()).expect("expired");
        assert!(why.contains("expired"), "{why}");
    }

    #[test]
    fn a_lease_of_no_duration_is_never_renewed_nor_ended() {
        let store = Arc::new(Script::default());
        let mut h = held(&store, 0, true);
        let later = Instant::now() + Duration::from_secs(3600);
        assert_eq!(h.poll(later), None);
        assert!(h.renewing.is_none(), "a renewal was asked for");
    }

    #[test]
    fn a_lease_that_is_not_renewable_ends_without_asking() {
        let store = Arc::new(Script::default());
        let mut h = held(&store, 30, false);
        let why = h.poll(h.next).expect("its end");
        assert!(why.contains("is not renewable"), "{why}");
        assert!(store.renewals.lock().unwrap().is_empty());
    }
}
