//! Applies events to the `notif_` tables and announces new notifications.
//!
//! Every handler is idempotent (notification ids come from stream sequences
//! and inserts ignore existing rows), and a batch commits together with its
//! checkpoint, so a replay from any point converges on the same state. New
//! notifications go to live subscribers only after the commit, so whatever a
//! subscriber sees live is also in the table it resumes from.
//!
//! A run (the whole batch, see [`Rules::run_len`]) works in memory: its
//! conversations are read with one `SELECT … IN (…)`, events change them
//! and collect notifications in order, and the end of the run writes the
//! changed conversations, the notifications and their webhook deliveries
//! with a few multi-row statements. The result is that of applying the
//! events one by one (the runner retries a refused run that way).

use std::sync::Arc;

use omnibus_bus::Delivery;
use omnibus_proto::{Event, event::Payload, notification_event::Change};
use omnibus_store::{AppliedInMemory, Rules, Runner, Step, Store};
use sqlx::AnyConnection;
use tokio::sync::Notify;
use tracing::Instrument as _;

use crate::hub::Hub;
use crate::model::StoredNotification;

mod conversation;
mod emit;
#[cfg(test)]
mod tests;
mod webhooks;

use conversation::{Channels, Conversations, Fact, HandledStored, Kept};
pub use emit::Emitter;
use emit::Outbox;
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
    /// Channels' UNANSWERED thresholds, kept across runs (few, and written
    /// only here); dropped whenever something is rolled back.
    channels: Channels,
    /// Answers counted already, kept across runs like `channels`.
    handled: HandledStored,
    /// Conversations as committed runs left them.
    kept: Kept,
}

/// What a run hands on once its transaction committed.
pub struct Applied {
    /// The notifications it created, to announce.
    fresh: Vec<StoredNotification>,
    /// Its conversations as it left them, to keep.
    ended: Vec<(String, Option<conversation::Conv>)>,
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
            channels: Channels::default(),
            handled: HandledStored::default(),
            kept: Kept::default(),
        };
        Runner::new(store, rules)
    }

    /// Applies `run` in memory and writes its effect at the end.
    async fn apply_run(
        &mut self,
        conn: &mut AnyConnection,
        run: &[Step<'_>],
    ) -> Result<Applied, sqlx::Error> {
        let mut conversations = Conversations::new(std::mem::take(&mut self.kept));
        let mut outbox = Outbox::default();
        self.run_events(conn, run, &mut conversations, &mut outbox)
            .await?;
        outbox.flush(conn).await?;
        conversations.store(conn, &mut self.handled).await?;
        let (kept, ended) = conversations.finish();
        self.kept = kept;
        Ok(Applied {
            fresh: outbox.into_fresh(),
            ended,
        })
    }

    /// Applies `run`'s events to `conversations` (reading those it lacks)
    /// and collects their notifications in `outbox`.
    async fn run_events(
        &mut self,
        conn: &mut AnyConnection,
        run: &[Step<'_>],
        conversations: &mut Conversations,
        outbox: &mut Outbox,
    ) -> Result<(), sqlx::Error> {
        let horizon = (omnibus_core::now_ms() - self.delivery_horizon_ms).max(self.rebuilt_at_ms);
        let ids = run
            .iter()
            .filter(|step| Fact::of(step.event).is_some())
            .map(|step| step.event.conversation_id.as_str());
        conversations.load(conn, ids).await?;
        for step in run {
            let event = step.event;
            let mut emitter = Emitter::new(step.sequence, event, event.recorded_at_ms >= horizon);
            self.apply_event(conn, conversations, outbox, &mut emitter, event)
                .instrument(event_span(step))
                .await?;
            outbox.add(emitter);
        }
        Ok(())
    }

    async fn apply_event(
        &mut self,
        conn: &mut AnyConnection,
        conversations: &mut Conversations,
        outbox: &mut Outbox,
        out: &mut Emitter,
        event: &Event,
    ) -> Result<(), sqlx::Error> {
        if let Some(fact) = Fact::of(event) {
            return conversations
                .apply(conn, &mut self.channels, out, fact)
                .await;
        }
        let Some(payload) = &event.payload else {
            return Ok(());
        };
        match payload {
            Payload::ChannelChanged(changed) => self.channels.changed(conn, changed).await,
            Payload::GroupChanged(changed) => crate::groups::changed(conn, changed).await,
            Payload::Notification(notification) => match &notification.change {
                // An UNANSWERED deadline is a conversation fact, applied above.
                None | Some(Change::UnansweredDetected(_)) => Ok(()),
                Some(change) => {
                    // What was emitted so far gets the webhooks active before
                    // the change, and a stopped webhook abandons it.
                    outbox.flush(conn).await?;
                    webhooks::changed(conn, out, change).await
                }
            },
            _ => Ok(()),
        }
    }
}

/// The span of a run. A run of one event (live traffic) gets the
/// delivery's span, a child of its publisher's trace, so a message is
/// followed end to end into this service. A longer run is a catch-up or a
/// replay: one span for all of it, because an `info` span with trace
/// context extraction per event cost ~2 % of a replay's CPU and linked
/// history to traces long gone.
fn run_span(run: &[Step<'_>]) -> tracing::Span {
    match run {
        [one] => one.delivery.span(NAME),
        _ => tracing::info_span!(
            "consume_run",
            consumer = NAME,
            first_sequence = run.first().map_or(0, |s| s.sequence),
            last_sequence = run.last().map_or(0, |s| s.sequence),
            events = run.len()
        ),
    }
}

/// Per event, a `debug` span only: free unless debug logging is on.
fn event_span(step: &Step<'_>) -> tracing::Span {
    tracing::debug_span!(
        "notifications.apply",
        sequence = step.sequence,
        channel_id = %step.event.channel_id,
        conversation_id = %step.event.conversation_id
    )
}

#[cfg(test)]
impl NotificationsProjection {
    /// What is kept between runs (see `conversation::Kept`).
    fn kept(&self) -> &Kept {
        &self.kept
    }
}

impl Rules for NotificationsProjection {
    type Output = Applied;

    fn name(&self) -> &'static str {
        NAME
    }

    /// The events [`Self::apply_event`] acts on; delivery receipts and
    /// the like cost no transaction.
    fn changes(&self, step: &Step<'_>) -> bool {
        Fact::of(step.event).is_some()
            || matches!(
                step.event.payload,
                Some(
                    Payload::ChannelChanged(_)
                        | Payload::GroupChanged(_)
                        | Payload::Notification(_)
                )
            )
    }

    /// The whole batch in one savepoint; one event at a time only when the
    /// database refuses something in it.
    fn run_len(&self, rest: &[Step<'_>]) -> usize {
        rest.len()
    }

    fn resumed(&mut self, applied: u64) {
        if applied == 0 && self.rebuilt_at_ms == 0 {
            self.rebuilt_at_ms = omnibus_core::now_ms();
        }
        self.channels.clear();
        self.handled.clear();
        self.kept.forget();
    }

    async fn apply(
        &mut self,
        conn: &mut AnyConnection,
        run: &[Step<'_>],
    ) -> Result<Self::Output, sqlx::Error> {
        let span = run_span(run);
        self.apply_run(conn, run).instrument(span).await
    }

    /// A batch of operators' answers (and events that change nothing here)
    /// is first applied in memory: most answers change nothing this
    /// projection stores (the customer's wait was cleared by the first,
    /// today's answer was counted), and then the batch costs no
    /// transaction. One that would write goes the usual way.
    async fn apply_in_memory(
        &mut self,
        conn: &mut AnyConnection,
        batch: &[Step<'_>],
    ) -> Result<AppliedInMemory<Applied>, sqlx::Error> {
        let answers_only = batch.iter().all(|step| {
            matches!(Fact::of(step.event), Some(Fact::Requested(_))) || !self.changes(step)
        });
        if !answers_only {
            return Ok(None);
        }
        let mut conversations = Conversations::new(std::mem::take(&mut self.kept));
        let mut outbox = Outbox::default();
        self.run_events(conn, batch, &mut conversations, &mut outbox)
            .instrument(run_span(batch))
            .await?;
        if !outbox.is_empty() || conversations.writes_anything(&self.handled) {
            self.kept = conversations.give_back();
            return Ok(None);
        }
        let (kept, ended) = conversations.finish();
        self.kept = kept;
        let applied = Applied {
            fresh: Vec::new(),
            ended,
        };
        Ok(Some((Vec::new(), applied)))
    }

    fn committed(&mut self, _batch: &[Delivery], outputs: Vec<Self::Output>) {
        let mut fresh = Vec::new();
        for applied in outputs {
            fresh.extend(applied.fresh);
            self.kept.keep(applied.ended);
        }
        if !fresh.is_empty() {
            self.deliveries.notify_one();
        }
        for note in fresh {
            self.hub.publish(note);
        }
    }

    /// The thresholds, answers and conversations read or written may come
    /// from what was rolled back.
    fn discarded(&mut self) {
        self.channels.clear();
        self.handled.clear();
        self.kept.forget();
    }
}
