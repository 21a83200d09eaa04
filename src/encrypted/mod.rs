//! Files and values encrypted at rest, opened in memory only: age files (the format
//! of `age`, `rage` and sops) and dotenvx's `encrypted:` values. The plain text never
//! touches disk and is zeroed once parsed.

pub mod age;
pub mod dotenvx;
pub mod passphrase;
