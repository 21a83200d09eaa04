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

/// The least time a fleet's throttled requests are spread over: told nothing
/// (OpenBao's quota says no `Retry-After`, AWS never does), a fleet coming back
/// within the backoff's first 100 ms would be throttled again at once.
const THROTTLED_SPREAD: Duration = Duration::from_secs(1);

/// The wait before a throttled request is sent again: the store's `Retry-After`
/// (`told`), then anything from nothing to the largest of `told`, a second and
/// the backoff's ceiling, evenly ("full jitter"), but never past `left`. A fleet told to come
/// back in a second comes back over the next second, not in one wave a second
/// later: a jitter of the backoff's 100 ms alone would bunch them all there again.
/// `None` when even `told` does not fit in `left`.
pub fn throttled_wait(told: Duration, attempt: u32, left: Duration) -> Option<Duration> {
    let room = left.checked_sub(told).filter(|room| !room.is_zero())?;
    let spread = told
        .max(THROTTLED_SPREAD)
        .max(ceiling(attempt))
        .min(room - Duration::from_nanos(1));
    Some(told + Duration::from_nanos(random_u64() % (spread.as_nanos() as u64 + 1)))
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

    /// Spread over the whole range, not bunched at its top as equal jitter is.
    fn spans(waits: &[Duration], low: Duration, high: Duration) -> bool {
        let quarter = (high - low) / 4;
        waits.iter().all(|w| (low..=high).contains(w))
            && waits.iter().any(|w| *w < low + quarter)
            && waits.iter().any(|w| *w > high - quarter)
    }

    #[test]
    fn a_throttled_wait_spans_a_second_or_the_ceiling_after_retry_after() {
        let long = Duration::from_secs(60);
        let second = Duration::from_secs(1);
        for attempt in 0..10 {
            // Never bunched into less than a second, even when not told to wait.
            let ceiling = Duration::from_millis(100 * (1 << attempt.min(5)))
                .clamp(second, Duration::from_secs(2));
            let told = |told| -> Vec<_> {
                (0..200)
                    .map(|_| throttled_wait(told, attempt, long).unwrap())
                    .collect()
            };
            assert!(
                spans(&told(Duration::ZERO), Duration::ZERO, ceiling),
                "{attempt}"
            );
            // Told a second: over the next second at least, the ceiling once it is more.
            let high = second + ceiling;
            assert!(spans(&told(second), second, high), "{attempt}");
        }
    }

    #[test]
    fn a_throttled_wait_stays_inside_what_is_left() {
        let second = Duration::from_secs(1);
        let left = Duration::from_millis(1200);
        let waits: Vec<_> = (0..200)
            .map(|_| throttled_wait(second, 3, left).unwrap())
            .collect();
        assert!(spans(&waits, second, left), "{:?}", waits.iter().max());
        assert!(waits.iter().all(|w| *w < left));
        assert_eq!(throttled_wait(second, 0, second), None);
        assert_eq!(throttled_wait(second, 0, second / 2), None);
    }
}
