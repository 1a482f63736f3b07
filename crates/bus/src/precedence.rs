//! Which projection of a process catches up first.
//!
//! After a restart, a rebuild or a burst of webhooks, every projection of a
//! process is behind at once, and on `serve all` they share two cores. What
//! operators read (the conversations view) matters first: until it has
//! caught up, `ListMessages` misses messages that webhooks were answered for.
//! So while a [`Precedence::First`] projection is more than [`CLOSE_ENOUGH`]
//! events from the end of the stream, the process's other projections wait
//! before each batch, for at most [`LONGEST_WAIT`] a batch, so they never
//! stop for good (a stuck first projection only slows them down), and take
//! their turn once it is close. A process without a first projection (one
//! service per process, as on Kubernetes) never waits.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// When a projection applies its batches relative to the others of its
/// process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precedence {
    /// What operators read: the `AfterFirst` ones wait while it is far
    /// behind.
    First,
    /// Waits, batch by batch, while a `First` projection is far behind.
    AfterFirst,
    /// Neither leads nor waits: a projection whose service acts on
    /// deadlines (timers firing, holds running out) settles for what it
    /// has applied after a short wait, so holding it back could make it
    /// act on a state that a stored event already changed.
    Independent,
}

/// How far behind the end of the stream the first projection may be before
/// the others wait for it: a few batches, so live traffic never waits.
pub const CLOSE_ENOUGH: u64 = 2_000;

/// The longest a projection waits for its turn before applying a batch.
pub const LONGEST_WAIT: Duration = Duration::from_secs(2);

/// How far behind the process's first projection is; shared by every clone
/// of a [`Bus`](crate::Bus).
#[derive(Clone)]
pub(crate) struct Turns {
    first_behind: Arc<watch::Sender<u64>>,
}

impl Default for Turns {
    fn default() -> Self {
        Self {
            first_behind: Arc::new(watch::Sender::new(0)),
        }
    }
}

impl Turns {
    /// The first projection is `behind` events from the end of the stream.
    pub(crate) fn first_is_behind(&self, behind: u64) {
        self.first_behind.send_if_modified(|held| {
            let changed = *held != behind;
            *held = behind;
            changed
        });
    }

    /// Waits until the first projection is close to the end of the stream,
    /// or [`LONGEST_WAIT`] has passed.
    pub(crate) async fn wait_for_first(&self) {
        let mut behind = self.first_behind.subscribe();
        let close = behind.wait_for(|behind| *behind <= CLOSE_ENOUGH);
        let _ = tokio::time::timeout(LONGEST_WAIT, close).await;
    }

    /// A guard for the first projection's reader: when it stops (shutdown,
    /// a lost lease, an error), it no longer holds the others back.
    pub(crate) fn first_reading(&self) -> FirstReading {
        FirstReading {
            turns: self.clone(),
        }
    }
}

/// See [`Turns::first_reading`].
pub(crate) struct FirstReading {
    turns: Turns,
}

impl FirstReading {
    /// Reports how far behind the reader is.
    pub(crate) fn behind(&self, behind: u64) {
        self.turns.first_is_behind(behind);
    }
}

impl Drop for FirstReading {
    fn drop(&mut self) {
        self.turns.first_is_behind(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn others_wait_while_the_first_is_far_behind_but_not_forever() {
        let turns = Turns::default();
        let started = tokio::time::Instant::now();
        turns.wait_for_first().await;
        assert_eq!(started.elapsed(), Duration::ZERO, "nothing first: no wait");

        let reading = turns.first_reading();
        reading.behind(CLOSE_ENOUGH + 1);
        turns.wait_for_first().await;
        assert_eq!(started.elapsed(), LONGEST_WAIT, "at most the longest wait");

        let waiting = tokio::spawn({
            let turns = turns.clone();
            async move { turns.wait_for_first().await }
        });
        tokio::task::yield_now().await;
        reading.behind(10);
        waiting.await.unwrap();
        assert_eq!(started.elapsed(), LONGEST_WAIT, "released once close");

        reading.behind(CLOSE_ENOUGH * 10);
        drop(reading);
        turns.wait_for_first().await;
        assert_eq!(
            started.elapsed(),
            LONGEST_WAIT,
            "a stopped reader holds nobody"
        );
    }
}
