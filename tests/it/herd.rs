//! A fleet starting at once against a store that throttles it: every launch must
//! get its secrets within its deadline when the store's quota allows the whole
//! work in that time, waiting as the store says (`Retry-After`), and no launch may
//! send an unbounded number of requests. Not timed: what is checked is who got
//! through, what the store saw, and when each client came back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::stub::{self, Request};
use crate::util::{Run, Test};

/// Launches at once, paths each, and the quota: requests a second for all of them.
const LAUNCHES: usize = 50;
const PATHS: usize = 10;
const PER_SECOND: f64 = 150.0;
/// Each launch's `--timeout`: far more than the quota needs (50 × 11 requests at
/// 150 a second: under 4 s), so that a slow machine does not fail the test.
const DEADLINE_SECONDS: usize = 30;

/// A token bucket shared by all clients, as Vault's rate-limit quota is: a request
/// beyond it is answered 429 with `Retry-After: 1`.
struct Quota {
    tokens: f64,
    at: Instant,
}

impl Quota {
    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * PER_SECOND;
        self.tokens = (self.tokens + refill).min(PER_SECOND);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What the store saw of one client (one token): when each request came, and
/// whether it was throttled.
type Seen = HashMap<String, Vec<(Instant, bool)>>;

#[test]
fn a_throttled_fleet_gets_through_within_its_deadline() {
    let quota = Arc::new(Mutex::new(Quota {
        tokens: PER_SECOND,
        at: Instant::now(),
    }));
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let (quota_in, seen_in) = (quota.clone(), seen.clone());
    let vault = stub::serve(move |request: &Request| {
        let token = request.header("x-vault-token").unwrap_or("").to_owned();
        let allowed = quota_in.lock().unwrap().take();
        seen_in
            .lock()
            .unwrap()
            .entry(token)
            .or_default()
            .push((Instant::now(), !allowed));
        if !allowed {
            return (
                429,
                r#"{"errors":["request path \"secret/\": rate limit quota exceeded"]}"#.into(),
            );
        }
        if let Some(answer) = stub::vault_checks(request, 2) {
            return answer;
        }
        let name = request.path.rsplit('/').next().unwrap().to_uppercase();
        (200, format!(r#"{{"data":{{"data":{{"{name}":"v"}}}}}}"#))
    });
    let launch = |i: usize| {
        let mut test = Test::new()
            .env("VAULT_ADDR", vault.url())
            .env("VAULT_TOKEN", format!("token-{i}"))
            .args(["--timeout", &format!("{DEADLINE_SECONDS}s"), "--pure"]);
        for p in 0..PATHS {
            test = test.args(["--from", &format!("vault://secret/app/p{p}")]);
        }
        let test = test.args(["--", "env", "-0"]);
        let child = test.command().spawn().unwrap();
        (test, child)
    };
    // All at once: every process started before any is waited for.
    let fleet: Vec<_> = (0..LAUNCHES).map(launch).collect();
    let mut failed = Vec::new();
    for (i, (_test, child)) in fleet.into_iter().enumerate() {
        let run = Run::from(child.wait_with_output().unwrap());
        if run.status != Some(0) || run.env0().len() != PATHS {
            failed.push(format!("launch {i}: {:?} {}", run.status, run.stderr));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {LAUNCHES} failed: {failed:#?}",
        failed.len()
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), LAUNCHES, "one token a launch");
    let throttled: usize = seen.values().flatten().filter(|(_, t)| *t).count();
    assert!(
        throttled > 0,
        "the quota never pushed back: the test shows nothing"
    );
    for (token, requests) in seen.iter() {
        // One mount lookup and the reads, each sent at most once, two retries of a
        // failure, and 12 throttled retries plus two a second of the deadline.
        let bound = (1 + PATHS) * (1 + 2 + 12 + 2 * DEADLINE_SECONDS);
        assert!(
            requests.len() <= bound,
            "{token}: {} requests",
            requests.len()
        );
        // Told to come back in a second, no request of this client came sooner
        // than that after a refusal, unless another of its requests was in flight
        // at the same moment (reads run at once): at most as many as it has paths.
        for (k, &(at, was_throttled)) in requests.iter().enumerate() {
            if !was_throttled {
                continue;
            }
            let early = requests[k + 1..]
                .iter()
                .filter(|(later, _)| later.duration_since(at) < Duration::from_millis(900))
                .count();
            assert!(early <= PATHS + 1, "{token} came back early {early} times");
        }
    }
}

/// A request sent again after a 429 and still unanswered at the deadline was
/// throttled: the launch says so (69, the 429, the store), not that the store did
/// not answer, and it ends at its deadline.
#[test]
fn a_launch_still_throttled_at_its_deadline_says_it_was_throttled() {
    let (release, held) = stub::held();
    let calls = Arc::new(AtomicUsize::new(0));
    let count = calls.clone();
    let vault = stub::serve(move |_: &Request| {
        if count.fetch_add(1, Ordering::SeqCst) == 0 {
            return (429, r#"{"errors":["rate limit quota exceeded"]}"#.into());
        }
        held.wait();
        (503, "{}".into())
    });
    let run = Test::new()
        .env("VAULT_ADDR", vault.url())
        .env("VAULT_TOKEN", "token")
        .args([
            "--timeout",
            "2s",
            "--from",
            "vault://secret/app",
            "--",
            "true",
        ])
        .run();
    run.status(69)
        .stderr_has("answered 429 (too many requests)");
    assert!(!run.stderr.contains("did not answer"), "{}", run.stderr);
    drop(release);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "one 429, then the held request"
    );
}
