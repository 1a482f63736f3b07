//! The dispatcher: a loop that picks due deliveries and POSTs them.
//!
//! Order per conversation: only the oldest pending delivery of each
//! (webhook, conversation) is ever due, so a later notification of the same
//! conversation waits until the earlier one is delivered or given up.
//! Different conversations and webhooks proceed in parallel, bounded by
//! `concurrency`. A failing webhook is gated as a whole by its own backoff
//! (`notif_webhooks.next_attempt_ms`), so it is probed, never spun on.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use omnibus_bus::Bus;
use omnibus_proto::{DeliveryState, WebhookStatus};
use omnibus_store::Store;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::DeliveryConfig;
use super::attempt::{Attempt, Due};

/// How often due deliveries are looked for when nothing wakes the loop.
const POLL: Duration = Duration::from_millis(250);

/// Delivers queued webhook notifications until shutdown.
pub struct Dispatcher {
    /// Shared by every attempt.
    pub attempt: Arc<Attempt>,
    /// The projection store holding the deliveries.
    pub store: Store,
    /// Rung by the projection when it queued deliveries.
    pub wake: Arc<Notify>,
}

impl Dispatcher {
    /// A dispatcher; fails only when no HTTP client can be built.
    pub fn new(
        store: Store,
        bus: Bus,
        config: DeliveryConfig,
        wake: Arc<Notify>,
    ) -> Result<Self, reqwest::Error> {
        let attempt = Attempt::new(store.clone(), bus, config)?;
        Ok(Self {
            attempt: Arc::new(attempt),
            store,
            wake,
        })
    }

    /// Runs until `shutdown`, then lets the POSTs in flight finish (each is
    /// bounded by the timeout) so their outcome is recorded.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut inflight: HashSet<(String, i64)> = HashSet::new();
        let mut tasks: JoinSet<(String, i64)> = JoinSet::new();
        let limit = self.attempt.config().concurrency.max(1);
        while !shutdown.is_cancelled() {
            if inflight.len() < limit {
                self.start_due(limit, &mut inflight, &mut tasks).await;
            }
            tokio::select! {
                () = shutdown.cancelled() => {}
                Some(done) = tasks.join_next() => {
                    if let Ok(key) = done {
                        inflight.remove(&key);
                    }
                }
                () = self.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
        while tasks.join_next().await.is_some() {}
    }

    /// Starts an attempt for each due delivery not yet in flight.
    async fn start_due(
        &self,
        limit: usize,
        inflight: &mut HashSet<(String, i64)>,
        tasks: &mut JoinSet<(String, i64)>,
    ) {
        let now = omnibus_core::now_ms();
        let due = match self.due(now, limit as i64).await {
            Ok(due) => due,
            Err(err) => {
                tracing::warn!(error = %err, "cannot read due webhook deliveries");
                return;
            }
        };
        for item in due {
            let key = (item.webhook_id.clone(), item.ord);
            if inflight.len() >= limit || inflight.contains(&key) {
                continue;
            }
            match self.claim(&item, now).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot claim a webhook delivery");
                    continue;
                }
            }
            inflight.insert(key.clone());
            let attempt = self.attempt.clone();
            tasks.spawn(async move {
                attempt.run(item).await;
                key
            });
        }
    }

    /// Claims a due delivery by moving its next attempt past the POST's
    /// timeout: another dispatcher (a replica sharing the database, or this
    /// one restarted after a crash mid-POST) leaves it alone meanwhile, and
    /// picks it up again if the outcome was never recorded. The outcome
    /// sets the real next time.
    async fn claim(&self, item: &Due, now: i64) -> Result<bool, sqlx::Error> {
        let lease = self.attempt.config().timeout.saturating_mul(2).as_millis() as i64;
        let claimed = sqlx::query(
            "UPDATE notif_deliveries SET next_attempt_ms = $3 \
             WHERE webhook_id = $1 AND ord = $2 AND state = $4 AND next_attempt_ms <= $5",
        )
        .bind(&item.webhook_id)
        .bind(item.ord)
        .bind(now.saturating_add(lease))
        .bind(DeliveryState::Pending as i64)
        .bind(now)
        .execute(self.store.pool())
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    /// The head delivery of each (webhook, conversation) lane that is due.
    async fn due(&self, now: i64, limit: i64) -> Result<Vec<Due>, sqlx::Error> {
        sqlx::query_as(
            "SELECT d.webhook_id, d.ord, d.conversation_id, d.body, d.attempts, d.created_at_ms, \
             w.url, w.secret FROM notif_deliveries d JOIN notif_webhooks w ON w.id = d.webhook_id \
             WHERE d.state = $1 AND d.next_attempt_ms <= $2 AND w.status = $3 \
             AND w.next_attempt_ms <= $2 AND NOT EXISTS (SELECT 1 FROM notif_deliveries e \
             WHERE e.webhook_id = d.webhook_id AND e.conversation_id = d.conversation_id \
             AND e.state = $1 AND e.ord < d.ord) ORDER BY d.ord LIMIT $4",
        )
        .bind(DeliveryState::Pending as i64)
        .bind(now)
        .bind(WebhookStatus::Active as i64)
        .bind(limit)
        .fetch_all(self.store.pool())
        .await
    }
}
