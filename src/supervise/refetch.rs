//! Fetching the sources again beside the supervisor's loop, never in it: a store
//! that accepts a connection and never answers, or a source file that blocks, must
//! not hold up the signals the loop forwards. One fetch at a time runs on a thread
//! of its own and hands its answer over a channel; the loop looks for it on each
//! turn. A fetch still under way when secretrun leaves is abandoned with the process.

use std::sync::{Arc, mpsc};
use std::time::Instant;

use anyhow::{Result, anyhow};

use crate::secret::SecretSet;

use super::Secrets;

/// At most one fetch under way, and its answer to come.
#[derive(Default)]
pub struct Refetch {
    answer: Option<mpsc::Receiver<Result<SecretSet>>>,
}

impl Refetch {
    /// Whether a fetch is under way.
    pub fn busy(&self) -> bool {
        self.answer.is_some()
    }

    /// Starts a fetch, ending at `until` if it comes before the plan's own timeout;
    /// nothing when one is under way already.
    pub fn start(&mut self, secrets: &Arc<dyn Secrets>, until: Option<Instant>) {
        if self.busy() {
            return;
        }
        let (tx, rx) = mpsc::channel();
        let secrets = secrets.clone();
        let started = std::thread::Builder::new()
            .name("refetch".into())
            .spawn(move || {
                let _ = tx.send(secrets.refetch(until));
            });
        self.answer = Some(match started {
            Ok(_) => rx,
            Err(e) => {
                // No thread: the answer is that failure, at once.
                let (tx, rx) = mpsc::channel();
                let _ = tx.send(Err(anyhow!("starting a fetch: {e}")));
                rx
            }
        });
    }

    /// The answer of the fetch under way, once it has come.
    pub fn poll(&mut self) -> Option<Result<SecretSet>> {
        let answer = match self.answer.as_ref()?.try_recv() {
            Err(mpsc::TryRecvError::Empty) => return None,
            Err(mpsc::TryRecvError::Disconnected) => {
                Err(anyhow!("the fetch ended without an answer"))
            }
            Ok(answer) => answer,
        };
        self.answer = None;
        Some(answer)
    }
}
