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
                match self.due(limit as i64).await {
                    Ok(due) => {
                        for item in due {
                            let key = (item.webhook_id.clone(), item.ord);
                            if inflight.len() < limit && inflight.insert(key.clone()) {
                                let attempt = self.attempt.clone();
                                tasks.spawn(async move {
                                    attempt.run(item).await;
                                    key
                                });
                            }
                        }
                    }
                    Err(err) => tracing::warn!(error = %err, "cannot read due webhook deliveries"),
                }
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

    /// The head delivery of each (webhook, conversation) lane that is due.
    async fn due(&self, limit: i64) -> Result<Vec<Due>, sqlx::Error> {
        let now = omnibus_core::now_ms();
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
