//! The gate: decides gated messages, releases held ones when the customer
//! answers, and fails those held too long.
//!
//! It acts only on what the projection shows as still open, and only once
//! the projection caught up with the stream as it was at start: during a
//! replay a message looks pending until its decision comes by, and deciding
//! it again then would repeat it after JetStream's duplicate window. After
//! publishing, a round waits until the projection applied its own events,
//! so the next round never sees them as still to do; messages whose events
//! are in flight longer than that are skipped until they are applied.
//!
//! Within a round, releases come before new decisions, so a conversation's
//! messages leave in the order they were requested.

mod act;
pub mod events;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use omnibus_bus::Bus;
use omnibus_core::Clock;
use omnibus_store::Store;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::sql;

/// Most messages looked at per kind of work in one round.
const BATCH: i64 = 200;
/// Longest sleep between rounds: expiries follow an injected clock, which
/// nothing else would wake the loop for.
const TICK: Duration = Duration::from_secs(1);
/// Longest wait for the projection to apply a round's own events.
const APPLIED_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for the projection before expiring held messages anyway.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(2);

/// Everything the gate owns.
pub struct Gate {
    pub bus: Bus,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// How long a message stays held before it fails.
    pub hold_for: Duration,
    /// The projection's applied sequence.
    pub applied: watch::Receiver<u64>,
    /// The stream's last sequence at start: nothing happens before it is applied.
    pub caught_up_at: u64,
    /// Rung by the projection after a commit with something to do.
    pub wake: Arc<Notify>,
    pub shutdown: CancellationToken,
}

/// Messages acted on whose events the projection has not applied yet,
/// with the sequence to wait for.
#[derive(Debug, Default)]
pub(crate) struct InFlight(HashMap<String, u64>);

impl InFlight {
    fn prune(&mut self, applied: u64) {
        self.0.retain(|_, sequence| *sequence > applied);
    }

    fn contains(&self, message_id: &str) -> bool {
        self.0.contains_key(message_id)
    }

    fn insert(&mut self, message_id: &str, sequence: u64) {
        self.0.insert(message_id.to_owned(), sequence);
    }

    fn last(&self) -> u64 {
        self.0.values().copied().max().unwrap_or(0)
    }
}

impl Gate {
    /// Runs until shutdown.
    pub async fn run(self) {
        let mut applied = self.applied.clone();
        let caught_up = applied.wait_for(|applied| *applied >= self.caught_up_at);
        tokio::select! {
            () = self.shutdown.cancelled() => return,
            result = caught_up => if result.is_err() { return },
        }
        tracing::info!(caught_up_at = self.caught_up_at, "window gate started");
        let mut in_flight = InFlight::default();
        loop {
            let wait = match self.round(&mut in_flight).await {
                Ok(wait) => wait,
                Err(err) => {
                    tracing::warn!(error = %err, "the window gate failed a round; retrying");
                    TICK
                }
            };
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// One round of work; returns how long to sleep before the next.
    async fn round(&self, in_flight: &mut InFlight) -> Result<Duration> {
        in_flight.prune(*self.applied.borrow());
        let mut conn = self.store.pool().acquire().await?;
        let mut round = act::Round::new(self, in_flight, self.clock.now_ms());
        let mut full = round.release(&mut conn).await?;
        full |= round.decide(&mut conn).await?;
        if round.has_expired(&mut conn).await? {
            drop(conn);
            self.settle().await;
            conn = self.store.pool().acquire().await?;
            full |= round.expire(&mut conn).await?;
        }
        let last = in_flight.last();
        self.wait_applied(last).await;
        in_flight.prune(*self.applied.borrow());
        let held = sql::held_total(&mut conn).await?;
        omnibus_metrics::held_messages().set(held);
        if full {
            return Ok(Duration::ZERO);
        }
        let next = sql::next_hold_end(&mut conn).await?;
        let until_next = next.map(|due| due.saturating_sub(self.clock.now_ms()).max(0) as u64);
        Ok(until_next.map_or(TICK, |ms| Duration::from_millis(ms).min(TICK)))
    }

    async fn wait_applied(&self, sequence: u64) {
        if sequence == 0 {
            return;
        }
        let mut applied = self.applied.clone();
        let wait = applied.wait_for(|applied| *applied >= sequence);
        if tokio::time::timeout(APPLIED_TIMEOUT, wait).await.is_err() {
            tracing::warn!(sequence, "the window projection lags behind the gate");
        }
    }

    /// Lets the projection apply what the stream holds now, so a customer
    /// message stored just before a hold runs out releases it instead.
    async fn settle(&self) {
        match self.bus.stream_end().await {
            Ok(end) => {
                let mut applied = self.applied.clone();
                let caught_up = applied.wait_for(|applied| *applied >= end);
                if tokio::time::timeout(SETTLE_TIMEOUT, caught_up)
                    .await
                    .is_err()
                {
                    tracing::warn!(end, "the window projection lags; expiring anyway");
                }
            }
            Err(err) => tracing::warn!(error = %err, "cannot read the stream's end"),
        }
    }
}
