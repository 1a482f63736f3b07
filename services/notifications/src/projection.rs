//! Applies events to the `notif_` tables and announces new notifications.
//!
//! Every handler is idempotent (notification ids come from stream sequences
//! and inserts ignore existing rows), and a batch commits together with its
//! checkpoint, so a replay from any point converges on the same state. New
//! notifications go to live subscribers only after the commit, so whatever a
//! subscriber sees live is also in the table it resumes from.

use omnibus_bus::{Delivery, Projection, ProjectionError, Rejected};
use omnibus_proto::{Event, event::Payload, notification_event::Change};
use omnibus_store::{Store, save_checkpoint};
use sqlx::{AnyConnection, Connection as _};
use tokio::sync::Notify;
use tracing::Instrument as _;

use crate::hub::Hub;
use crate::model::StoredNotification;
use std::sync::Arc;

mod conversation;
mod emit;
mod webhooks;

pub use emit::Emitter;
pub(crate) use webhooks::{DELETED, stop as stop_webhook};

/// Name of the projection's durable consumer and checkpoint.
pub const NAME: &str = "notifications";

/// The notifications read model.
pub struct NotificationsProjection {
    store: Store,
    hub: Hub,
    /// Wakes the webhook dispatcher when deliveries were queued.
    deliveries: Arc<Notify>,
    /// Events recorded longer ago than this create no webhook deliveries:
    /// their retries would have run out anyway.
    delivery_horizon_ms: i64,
    /// Set when the projection starts from nothing (a rebuild): events
    /// recorded before it create no deliveries, because whether they were
    /// delivered was lost with the database, and re-POSTing a day of
    /// history to every receiver is worse than missing what was pending.
    rebuilt_at_ms: i64,
}

impl NotificationsProjection {
    /// A projection writing into `store` and announcing on `hub`.
    pub fn new(store: Store, hub: Hub, deliveries: Arc<Notify>, delivery_horizon_ms: i64) -> Self {
        Self {
            store,
            hub,
            deliveries,
            delivery_horizon_ms,
            rebuilt_at_ms: 0,
        }
    }
}

impl Projection for NotificationsProjection {
    fn name(&self) -> &str {
        NAME
    }

    async fn applied_through(&mut self) -> Result<u64, ProjectionError> {
        let applied = self.store.checkpoint(NAME).await.map_err(transient)?;
        if applied == 0 && self.rebuilt_at_ms == 0 {
            self.rebuilt_at_ms = omnibus_core::now_ms();
        }
        Ok(applied)
    }

    async fn apply(&mut self, batch: &[Delivery]) -> Result<Vec<Rejected>, ProjectionError> {
        let mut tx = self.store.begin_write().await.map_err(transient)?;
        let mut rejected = Vec::new();
        let mut fresh: Vec<StoredNotification> = Vec::new();
        let horizon = (omnibus_core::now_ms() - self.delivery_horizon_ms).max(self.rebuilt_at_ms);
        for delivery in batch {
            let event = match &delivery.event {
                Ok(event) => event,
                Err(err) => {
                    rejected.push(reject(delivery, format!("undecodable event: {err}")));
                    continue;
                }
            };
            let mut savepoint = tx.begin().await.map_err(transient)?;
            let mut emitter =
                Emitter::new(delivery.sequence, event, event.recorded_at_ms >= horizon);
            let applied = apply_event(&mut savepoint, &mut emitter, event)
                .instrument(delivery.span(NAME))
                .await;
            match applied {
                Ok(()) => {
                    let notes = emitter.flush(&mut savepoint).await.map_err(transient)?;
                    savepoint.commit().await.map_err(transient)?;
                    fresh.extend(notes);
                }
                Err(err) if !omnibus_store::is_refusal(&err) => return Err(transient(err)),
                Err(err) => {
                    savepoint.rollback().await.map_err(transient)?;
                    rejected.push(reject(delivery, err.to_string()));
                }
            }
        }
        if let Some(last) = batch.last() {
            save_checkpoint(&mut tx, NAME, last.sequence)
                .await
                .map_err(transient)?;
        }
        tx.commit().await.map_err(transient)?;
        if !fresh.is_empty() {
            self.deliveries.notify_one();
        }
        for note in fresh {
            self.hub.publish(note);
        }
        Ok(rejected)
    }
}

fn transient(err: impl std::fmt::Display) -> ProjectionError {
    ProjectionError(err.to_string())
}

fn reject(delivery: &Delivery, error: String) -> Rejected {
    Rejected {
        sequence: delivery.sequence,
        error,
    }
}

async fn apply_event(
    conn: &mut AnyConnection,
    out: &mut Emitter,
    event: &Event,
) -> Result<(), sqlx::Error> {
    let Some(payload) = &event.payload else {
        return Ok(());
    };
    match payload {
        Payload::ChannelChanged(changed) => conversation::channel_changed(conn, changed).await,
        Payload::MessageReceived(received) => conversation::received(conn, out, received).await,
        Payload::MessageRequested(requested) => conversation::requested(conn, out, requested).await,
        Payload::MessageFailed(failed) => conversation::failed(conn, out, failed).await,
        Payload::ConversationClosed(_) => conversation::closed(conn, out).await,
        Payload::ConversationAssigned(assigned) => {
            conversation::assigned(conn, out, assigned).await
        }
        Payload::NoReplyNeeded(_) => conversation::no_reply_needed(conn, out).await,
        Payload::ConversationStarted(started) => conversation::started(conn, out, started).await,
        Payload::GroupChanged(changed) => crate::groups::changed(conn, changed).await,
        Payload::Notification(notification) => match &notification.change {
            Some(Change::WebhookCreated(created)) => webhooks::created(conn, out, created).await,
            Some(Change::WebhookDeleted(deleted)) => webhooks::deleted(conn, deleted).await,
            Some(Change::WebhookDisabled(disabled)) => webhooks::disabled(conn, disabled).await,
            Some(Change::UnansweredDetected(detected)) => {
                conversation::unanswered(conn, out, detected).await
            }
            None => Ok(()),
        },
        _ => Ok(()),
    }
}
