//! Progress of a scan on a terminal: files (or commits) and bytes read so far, on
//! one line of standard error rewritten at most ten times a second, and cleared at
//! the end. Never when standard error is not a terminal, nor for JSON or SARIF.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How often the line is rewritten at most.
const EVERY: Duration = Duration::from_millis(100);

/// What the scan has read so far.
pub struct Progress {
    on: bool,
    files: AtomicUsize,
    commits: AtomicUsize,
    bytes: AtomicU64,
    /// When the line was last written; `None` before the first time.
    last: Mutex<Option<Instant>>,
}

impl Progress {
    pub fn new(on: bool) -> Progress {
        Progress {
            on,
            files: AtomicUsize::new(0),
            commits: AtomicUsize::new(0),
            bytes: AtomicU64::new(0),
            last: Mutex::new(None),
        }
    }

    /// A file (or a blob) read.
    pub fn file(&self, bytes: usize) {
        self.files.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.tick();
    }

    /// A commit of the history begun.
    pub fn commit(&self) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.tick();
    }

    /// Lines of a commit read, as bytes.
    pub fn bytes(&self, bytes: usize) {
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    fn tick(&self) {
        if !self.on {
            return;
        }
        // Another thread writing the line: this one need not.
        let Ok(mut last) = self.last.try_lock() else {
            return;
        };
        if last.is_some_and(|at| at.elapsed() < EVERY) {
            return;
        }
        *last = Some(Instant::now());
        let mib = self.bytes.load(Ordering::Relaxed) as f64 / (1u64 << 20) as f64;
        let line = match self.commits.load(Ordering::Relaxed) {
            0 => format!(
                "scanning: {} files, {mib:.1} MiB",
                self.files.load(Ordering::Relaxed)
            ),
            commits => format!("scanning history: {commits} commits, {mib:.1} MiB"),
        };
        let _ = write!(std::io::stderr(), "\r\x1b[K{line}");
    }

    /// Clears the line, if it was written.
    pub fn done(&self) {
        let written = self.last.lock().map(|l| l.is_some()).unwrap_or(false);
        if self.on && written {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}
