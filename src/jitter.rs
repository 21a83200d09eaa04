//! Randomness for spreading clients out in time: retry backoffs and `--watch`'s
//! intervals. Not for keys. A leaf.

use std::time::Duration;

/// The backoff's ceiling for this attempt: 100 ms, doubling, at most 2 s.
fn ceiling(attempt: u32) -> Duration {
    Duration::from_millis(100)
        .saturating_mul(1 << attempt.min(5))
        .min(Duration::from_secs(2))
}

/// A wait of half the ceiling to the whole of it ("equal jitter"): retries of a
/// failure that may pass, spread out but never too soon.
pub fn backoff(attempt: u32) -> Duration {
    let nanos = ceiling(attempt).as_nanos() as u64;
    Duration::from_nanos(nanos / 2 + random_u64() % (nanos / 2 + 1))
}

/// A wait of anything from nothing to the ceiling ("full jitter"), which spreads
/// many clients' retries the most: what a throttled request adds to the store's
/// `Retry-After`.
pub fn full_jitter(attempt: u32) -> Duration {
    Duration::from_nanos(random_u64() % (ceiling(attempt).as_nanos() as u64 + 1))
}

/// A random number, good enough for jitter (not for keys).
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_a_cap() {
        for attempt in 0..10 {
            let b = backoff(attempt);
            let ceiling =
                Duration::from_millis(100 * (1 << attempt.min(5))).min(Duration::from_secs(2));
            assert!(b >= ceiling / 2 && b <= ceiling, "{attempt}: {b:?}");
        }
    }

    #[test]
    fn full_jitter_spans_nothing_to_the_ceiling() {
        for attempt in 0..10 {
            let ceiling =
                Duration::from_millis(100 * (1 << attempt.min(5))).min(Duration::from_secs(2));
            let waits: Vec<Duration> = (0..200).map(|_| full_jitter(attempt)).collect();
            assert!(waits.iter().all(|w| *w <= ceiling), "{attempt}");
            // Spread over the whole range, not bunched at its top as equal jitter is.
            assert!(waits.iter().any(|w| *w < ceiling / 4), "{attempt}");
            assert!(waits.iter().any(|w| *w > ceiling * 3 / 4), "{attempt}");
        }
    }
}
