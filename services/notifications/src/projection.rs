//! Applies events to the `notif_` tables and announces new notifications.
//!
//! Every handler is idempotent (notification ids come from stream sequences
//! and inserts ignore existing rows), and a batch commits together with its
//! checkpoint, so a replay from any point converges on the same state. New
//! notifications go to live subscribers only after the commit, so whatever a
//! subscriber sees live is also in the table it resumes from.

use omnibus_bus::Delivery;
use omnibus_proto::{Event, event::Payload, notification_event::Change};
use omnibus_store::{Rules, Runner, Step, Store};
use sqlx::AnyConnection;
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

/// The notifications read model: its rules, run by the shared [`Runner`].
pub struct NotificationsProjection {
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
    /// The projection writing into `store` and announcing on `hub`.
    pub fn new(
        store: Store,
        hub: Hub,
        deliveries: Arc<Notify>,
        delivery_horizon_ms: i64,
    ) -> Runner<Self> {
        let rules = Self {
            hub,
            deliveries,
            delivery_horizon_ms,
            rebuilt_at_ms: 0,
        };
        Runner::new(store, rules)
    }
}

impl Rules for NotificationsProjection {
    /// The notifications the event created, announced after the commit.
    type Output = Vec<StoredNotification>;

    fn name(&self) -> &'static str {
        NAME
    }

    /// The whole batch in one savepoint; one event at a time only when the
    /// database refuses something in it.
    fn run_len(&self, rest: &[omnibus_store::Step<'_>]) -> usize {
        rest.len()
    }

    fn resumed(&mut self, applied: u64) {
        if applied == 0 && self.rebuilt_at_ms == 0 {
            self.rebuilt_at_ms = omnibus_core::now_ms();
        }
    }

    async fn apply(
        &mut self,
        conn: &mut AnyConnection,
        run: &[Step<'_>],
    ) -> Result<Self::Output, sqlx::Error> {
        let horizon = (omnibus_core::now_ms() - self.delivery_horizon_ms).max(self.rebuilt_at_ms);
        let mut fresh = Vec::new();
        // The active webhooks, read once per run until an event changes them.
        let mut hooks = None;
        for step in run {
            let event = step.event;
            if matches!(event.payload, Some(Payload::Notification(_))) {
                hooks = None;
            }
            let mut emitter = Emitter::new(step.sequence, event, event.recorded_at_ms >= horizon);
            apply_event(conn, &mut emitter, event)
                .instrument(step.delivery.span(NAME))
                .await?;
            fresh.extend(emitter.flush(conn, &mut hooks).await?);
        }
        Ok(fresh)
    }

    fn committed(&mut self, _batch: &[Delivery], outputs: Vec<Self::Output>) {
        let mut fresh = outputs.into_iter().flatten().peekable();
        if fresh.peek().is_some() {
            self.deliveries.notify_one();
        }
        for note in fresh {
            self.hub.publish(note);
        }
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
