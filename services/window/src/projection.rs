//! The window projection: events → `window_` tables.
//!
//! It records the facts every decision needs (channels, when each customer
//! last wrote, templates) and the life of every gated message, including
//! the service's own decisions when they come back from the stream: a
//! message is decided, released or expired once, because the gate only acts
//! on what this projection shows as still open, and only after it caught up.
//! State and checkpoint commit in one transaction, like every projection.

use std::sync::Arc;

use omnibus_bus::{Delivery, Projection, ProjectionError, Rejected, Subjects};
use omnibus_proto::{Event, event::Payload};
use omnibus_store::{Store, save_checkpoint};
use sqlx::{AnyConnection, Connection as _};
use tokio::sync::Notify;
use tracing::Instrument as _;

mod channels;
mod messages;

/// Name of the projection's durable consumer and checkpoint.
pub const NAME: &str = "window";

/// The window read model.
pub struct WindowProjection {
    store: Store,
    routes: Routes,
    /// Wakes the gate after a commit that gave it something to do.
    wake: Arc<Notify>,
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
    seq: i64,
    /// Set when the gate has something new to look at.
    touched: bool,
}

impl WindowProjection {
    /// A projection writing into `store` and waking the gate through `wake`.
    pub fn new(store: Store, subjects: &Subjects, wake: Arc<Notify>) -> Self {
        Self {
            store,
            routes: Routes::new(subjects),
            wake,
        }
    }

    async fn apply_batch(
        &mut self,
        batch: &[Delivery],
    ) -> Result<(Vec<Rejected>, bool), ProjectionError> {
        let transient = |e: sqlx::Error| ProjectionError(e.to_string());
        let mut tx = self
            .store
            .begin_write()
            .await
            .map_err(|e| ProjectionError(e.to_string()))?;
        let mut rejected = Vec::new();
        let mut touched = false;
        for delivery in batch {
            let event = match &delivery.event {
                Ok(event) => event,
                Err(err) => {
                    rejected.push(reject(delivery, format!("undecodable event: {err}")));
                    continue;
                }
            };
            let mut savepoint = tx.begin().await.map_err(transient)?;
            let mut step = Step {
                conn: &mut savepoint,
                subject: &delivery.subject,
                routes: &self.routes,
                seq: i64::try_from(delivery.sequence).unwrap_or(i64::MAX),
                touched: false,
            };
            match apply_event(&mut step, event).await {
                Ok(()) => {
                    touched |= step.touched;
                    savepoint.commit().await.map_err(transient)?;
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
                .map_err(|e| ProjectionError(e.to_string()))?;
        }
        tx.commit().await.map_err(transient)?;
        Ok((rejected, touched))
    }
}

impl Projection for WindowProjection {
    fn name(&self) -> &str {
        NAME
    }

    async fn applied_through(&mut self) -> Result<u64, ProjectionError> {
        self.store
            .checkpoint(NAME)
            .await
            .map_err(|e| ProjectionError(e.to_string()))
    }

    async fn apply(&mut self, batch: &[Delivery]) -> Result<Vec<Rejected>, ProjectionError> {
        let (rejected, touched) = self.apply_batch(batch).await?;
        if touched {
            self.wake.notify_one();
        }
        Ok(rejected)
    }
}

fn reject(delivery: &Delivery, error: String) -> Rejected {
    Rejected {
        sequence: delivery.sequence,
        error,
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
