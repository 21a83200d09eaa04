//! Test-only: the generator of the property tests (`fuzz`, and the tests of the
//! modules whose parsers are private): inputs made three ways from a seeded generator
//! (so a failure can be run again): random bytes; random strings over the pieces that
//! mean something to a parser; and valid samples mutated (a byte changed, a piece
//! inserted, a byte removed, a piece repeated, the rest cut). `FUZZ_ROUNDS` in the
//! environment sets the rounds per seed (default 1,000; CI runs the default). A
//! leaf: it depends on nothing of the crate.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// xorshift64*: small, fast, and the same sequence for the same seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

fn rounds() -> usize {
    std::env::var("FUZZ_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000)
}

/// One input made from `rng`: random bytes, a string over `alphabet`, or a sample
/// mutated.
fn input(rng: &mut Rng, alphabet: &[&str], samples: &[&str]) -> Vec<u8> {
    match rng.below(3) {
        0 => (0..rng.below(64)).map(|_| rng.next() as u8).collect(),
        1 => {
            let mut text = String::new();
            for _ in 0..rng.below(24) {
                text.push_str(rng.pick(alphabet));
            }
            text.into_bytes()
        }
        _ => {
            let mut bytes = rng.pick(samples).as_bytes().to_vec();
            for _ in 0..=rng.below(4) {
                mutate(rng, &mut bytes, alphabet);
            }
            bytes
        }
    }
}

fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>, alphabet: &[&str]) {
    let at = rng.below(bytes.len() + 1);
    match rng.below(5) {
        0 if at < bytes.len() => bytes[at] = rng.next() as u8,
        1 => {
            let piece = rng.pick(alphabet).as_bytes();
            bytes.splice(at..at, piece.iter().copied());
        }
        2 if at < bytes.len() => {
            bytes.remove(at);
        }
        3 => {
            let end = (at + rng.below(16)).min(bytes.len());
            let piece: Vec<u8> = bytes[at..end].to_vec();
            for _ in 0..rng.below(8) {
                bytes.splice(at..at, piece.iter().copied());
            }
        }
        _ => bytes.truncate(at),
    }
}

/// Runs `check` on `rounds()` inputs per seed; a panic fails the test naming the
/// seed and round, never the input (it may look like a secret).
pub fn run(name: &str, alphabet: &[&str], samples: &[&str], check: impl Fn(&[u8])) {
    for seed in 1..=4u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        for round in 0..rounds() {
            let bytes = input(&mut rng, alphabet, samples);
            let outcome = catch_unwind(AssertUnwindSafe(|| check(&bytes)));
            assert!(
                outcome.is_ok(),
                "{name}: seed {seed}, round {round} panicked"
            );
        }
    }
}
