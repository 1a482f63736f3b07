//! The window projection: events → `window_` tables.
//!
//! It records the facts every decision needs (channels, when each customer
//! last wrote, templates) and the life of every gated message, including
//! the service's own decisions when they come back from the stream: a
//! message is decided, released or expired once, because the gate only acts
//! on what this projection shows as still open, and only after it caught up.
//! State and checkpoint commit in one transaction, like every projection.
//!
//! A run (the whole batch) keeps its conversations in memory: read once
//! at its start, written once at its end (`working`), so a replay costs two
//! statements a run for the customer messages instead of three each.

use std::sync::Arc;

use omnibus_bus::{Delivery, Subjects};
use omnibus_proto::{Event, event::Payload};
use omnibus_store::{Rules, Runner, Store};
use sqlx::AnyConnection;
use tokio::sync::Notify;
use tracing::Instrument as _;

mod channels;
mod messages;
#[cfg(test)]
mod tests;
mod working;

use working::{Channels, Conversations};

/// Name of the projection's durable consumer and checkpoint.
pub const NAME: &str = "window";

/// The window read model: its rules, run by the shared [`Runner`].
pub struct WindowProjection {
    routes: Routes,
    /// Wakes the gate after a commit that gave it something to do.
    wake: Arc<Notify>,
    /// Which channels are windowed, kept across runs until a rollback.
    channels: Channels,
}

/// Which subjects carry which kind of message.
#[derive(Debug, Clone)]
pub(crate) struct Routes {
    /// `<prefix>.window.`: requests waiting for a decision.
    gate: String,
    /// `<prefix>.send.`: what goes to the ingresses.
    send: String,
}

impl Routes {
    pub(crate) fn new(subjects: &Subjects) -> Self {
        let all = subjects.all();
        let prefix = all.trim_end_matches('>');
        Self {
            gate: subjects.all_gated().trim_end_matches('>').to_owned(),
            send: format!("{prefix}send."),
        }
    }
}

/// What one event's handler works with.
pub(crate) struct Step<'a> {
    conn: &'a mut AnyConnection,
    /// The subject the event came on.
    subject: &'a str,
    routes: &'a Routes,
    /// The channel cache, updated by every channel the run writes.
    channels: &'a mut Channels,
    /// The run's conversations: every read and write of them goes here.
    conversations: &'a mut Conversations,
    seq: i64,
    /// Set when the gate has something new to look at.
    touched: bool,
}

impl WindowProjection {
    /// The projection writing into `store` and waking the gate through `wake`.
    pub fn new(store: Store, subjects: &Subjects, wake: Arc<Notify>) -> Runner<Self> {
        let rules = Self {
            routes: Routes::new(subjects),
            wake,
            channels: Channels::default(),
        };
        Runner::new(store, rules)
    }
}

impl Rules for WindowProjection {
    /// Whether the gate has something new to look at.
    type Output = bool;

    fn name(&self) -> &'static str {
        NAME
    }

    /// The events [`dispatch`] acts on. Outbound messages that never went
    /// through the gate (every Telegram reply, say) and delivery receipts
    /// cost no transaction.
    fn changes(&self, step: &omnibus_store::Step<'_>) -> bool {
        let event = step.event;
        match &event.payload {
            Some(Payload::MessageRequested(_)) => {
                messages::acts_on_request(&self.routes, step.subject, &event.id)
            }
            Some(Payload::MessageHeld(_)) => messages::acts_on_hold(&event.id),
            Some(
                Payload::ChannelChanged(_)
                | Payload::TemplateChanged(_)
                | Payload::MessageReceived(_)
                | Payload::ConversationStarted(_)
                | Payload::MessageFailed(_)
                | Payload::MessageOutsideWindow(_),
            ) => true,
            _ => false,
        }
    }

    /// The whole batch in one savepoint; one event at a time only when the
    /// database refuses something in it.
    fn run_len(&self, rest: &[omnibus_store::Step<'_>]) -> usize {
        rest.len()
    }

    async fn apply(
        &mut self,
        conn: &mut AnyConnection,
        run: &[omnibus_store::Step<'_>],
    ) -> Result<bool, sqlx::Error> {
        // The run's conversations in one read, its changes in one write:
        // two statements a run instead of two or three an event.
        let mut conversations = Conversations::default();
        let ids = run.iter().filter_map(|one| conversation_of(one.event));
        conversations.prefetch(conn, ids).await?;
        let mut touched = false;
        for one in run {
            let mut step = Step {
                conn: &mut *conn,
                subject: one.subject,
                routes: &self.routes,
                channels: &mut self.channels,
                conversations: &mut conversations,
                seq: i64::try_from(one.sequence).unwrap_or(i64::MAX),
                touched: false,
            };
            apply_event(&mut step, one.event).await?;
            touched |= step.touched;
        }
        conversations.flush(conn).await?;
        Ok(touched)
    }

    /// The rolled-back writes may have reached the channel cache.
    fn discarded(&mut self) {
        self.channels.clear();
    }

    /// A (re)started reader: start from what the tables hold.
    fn resumed(&mut self, _applied: u64) {
        self.channels.clear();
    }

    fn committed(&mut self, _batch: &[Delivery], outputs: Vec<bool>) {
        if outputs.contains(&true) {
            self.wake.notify_one();
        }
    }
}

/// The conversation an event may read or write, to read it with the run's
/// other conversations; a conversation found only while applying (an
/// outside-window answer naming just the message) is read then.
fn conversation_of(event: &Event) -> Option<&str> {
    match event.payload.as_ref()? {
        Payload::MessageReceived(_)
        | Payload::ConversationStarted(_)
        | Payload::MessageRequested(_)
        | Payload::MessageHeld(_)
        | Payload::MessageOutsideWindow(_) => Some(&event.conversation_id),
        _ => None,
    }
}

async fn apply_event(step: &mut Step<'_>, event: &Event) -> Result<(), sqlx::Error> {
    let Some(payload) = &event.payload else {
        return Ok(());
    };
    let span = tracing::debug_span!(
        "window.apply",
        sequence = step.seq,
        channel_id = %event.channel_id,
        conversation_id = %event.conversation_id
    );
    dispatch(step, event, payload).instrument(span).await
}

async fn dispatch(
    step: &mut Step<'_>,
    event: &Event,
    payload: &Payload,
) -> Result<(), sqlx::Error> {
    match payload {
        Payload::ChannelChanged(changed) => channels::changed(step, changed).await,
        Payload::TemplateChanged(changed) => channels::template(step, event, changed).await,
        Payload::MessageReceived(received) => channels::received(step, event, received).await,
        Payload::ConversationStarted(_) => channels::seen(step, event).await,
        Payload::MessageRequested(requested) => messages::requested(step, event, requested).await,
        Payload::MessageHeld(held) => messages::held(step, event, held).await,
        Payload::MessageFailed(failed) => messages::failed(step, event, failed).await,
        Payload::MessageOutsideWindow(outside) => messages::outside(step, event, outside).await,
        _ => Ok(()),
    }
}
