//! Applies events to the conversations tables.
//!
//! Every handler is idempotent (inserts ignore existing rows, statuses only
//! move forward), and a batch commits together with its checkpoint, so a
//! replay from any point converges on the same state.

use omnibus_bus::{Delivery, Projection, ProjectionError, Rejected};
use omnibus_proto::{Event, event::Payload};
use omnibus_store::{Store, save_checkpoint};
use sqlx::{AnyConnection, Connection as _};
use tokio::sync::broadcast;

mod bulk;
mod channel;
mod conversation;
mod echo;
mod message;

/// Name of the projection's durable consumer and checkpoint.
pub const NAME: &str = "conversations";

/// The conversations read model.
pub struct ConversationsProjection {
    store: Store,
    /// Tells API callers which conversations changed (for waiting and streams).
    changes: broadcast::Sender<String>,
}

impl ConversationsProjection {
    /// A projection writing into `store`.
    pub fn new(store: Store, changes: broadcast::Sender<String>) -> Self {
        Self { store, changes }
    }
}

impl Projection for ConversationsProjection {
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
        let transient = |e: sqlx::Error| ProjectionError(e.to_string());
        let mut tx = self
            .store
            .begin_write()
            .await
            .map_err(|e| ProjectionError(e.to_string()))?;
        let mut rejected = Vec::new();
        let mut rest = batch;
        while !rest.is_empty() {
            let run = received_run(rest);
            if run.len() > 1 {
                let mut savepoint = tx.begin().await.map_err(transient)?;
                match bulk::apply(&mut savepoint, &run).await {
                    Ok(()) => {
                        savepoint.commit().await.map_err(transient)?;
                        rest = &rest[run.len()..];
                        continue;
                    }
                    Err(err) if is_transient(&err) => return Err(transient(err)),
                    // One of them is refused: find it one event at a time.
                    Err(_) => savepoint.rollback().await.map_err(transient)?,
                }
            }
            let one = run.len().max(1);
            for delivery in &rest[..one] {
                apply_one(&mut tx, delivery, &mut rejected).await?;
            }
            rest = &rest[one..];
        }
        if let Some(last) = batch.last() {
            save_checkpoint(&mut tx, NAME, last.sequence)
                .await
                .map_err(|e| ProjectionError(e.to_string()))?;
        }
        tx.commit().await.map_err(transient)?;
        for delivery in batch {
            if let Ok(event) = &delivery.event
                && !event.conversation_id.is_empty()
            {
                let _ = self.changes.send(event.conversation_id.clone());
            }
        }
        Ok(rejected)
    }
}

/// The `MessageReceived` events at the start of `batch`.
fn received_run(batch: &[Delivery]) -> Vec<bulk::Received<'_>> {
    batch
        .iter()
        .map_while(|delivery| match &delivery.event {
            Ok(
                event @ Event {
                    payload: Some(Payload::MessageReceived(received)),
                    ..
                },
            ) if !echo::may_be_ours(received) => Some(bulk::Received {
                seq: delivery.sequence,
                event,
                received,
            }),
            _ => None,
        })
        .collect()
}

/// Applies one event in a savepoint; a refused event is rolled back and
/// rejected, the rest of the batch goes on.
async fn apply_one(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    delivery: &Delivery,
    rejected: &mut Vec<Rejected>,
) -> Result<(), ProjectionError> {
    let transient = |e: sqlx::Error| ProjectionError(e.to_string());
    let event = match &delivery.event {
        Ok(event) => event,
        Err(err) => {
            rejected.push(reject(delivery, format!("undecodable event: {err}")));
            return Ok(());
        }
    };
    let mut savepoint = tx.begin().await.map_err(transient)?;
    match apply_event(&mut savepoint, delivery.sequence, event).await {
        Ok(()) => savepoint.commit().await.map_err(transient)?,
        Err(err) if is_transient(&err) => return Err(transient(err)),
        Err(err) => {
            savepoint.rollback().await.map_err(transient)?;
            rejected.push(reject(delivery, err.to_string()));
        }
    }
    Ok(())
}

fn reject(delivery: &Delivery, error: String) -> Rejected {
    Rejected {
        sequence: delivery.sequence,
        error,
    }
}

/// Connection trouble is retried; anything the database refused is not.
fn is_transient(err: &sqlx::Error) -> bool {
    !matches!(
        err,
        sqlx::Error::Database(_)
            | sqlx::Error::Decode(_)
            | sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::TypeNotFound { .. }
    )
}

async fn apply_event(conn: &mut AnyConnection, seq: u64, event: &Event) -> Result<(), sqlx::Error> {
    let Some(payload) = &event.payload else {
        return Ok(());
    };
    let at = event_time(event);
    let conversation_id = event.conversation_id.as_str();
    match payload {
        Payload::ChannelChanged(changed) => channel::apply(conn, changed).await,
        Payload::MessageReceived(received) => message::received(conn, seq, event, received).await,
        Payload::MessageEdited(edited) => message::edited(conn, seq, event, edited).await,
        Payload::MessageRequested(requested) => {
            message::requested(conn, seq, event, requested).await
        }
        Payload::MessageDispatched(dispatched) => {
            message::dispatched(conn, conversation_id, at, dispatched).await
        }
        Payload::MessageHeld(held) => message::held(conn, at, held).await,
        Payload::ChannelFlagged(flagged) => {
            channel::flagged(conn, &event.channel_id, at, flagged).await
        }
        Payload::MessageFailed(failed) => {
            message::failed(conn, seq, conversation_id, at, failed).await
        }
        Payload::DeliveryStatusChanged(changed) => {
            message::status_changed(conn, conversation_id, at, changed).await
        }
        Payload::ConversationClosed(closed) => {
            conversation::closed(conn, conversation_id, at, closed).await
        }
        Payload::ConversationAssigned(assigned) => {
            conversation::assigned(conn, conversation_id, at, assigned).await
        }
        Payload::ConversationRead(_) => conversation::read(conn, conversation_id, at).await,
        Payload::NoReplyNeeded(_) => conversation::no_reply_needed(conn, conversation_id, at).await,
        Payload::ConversationStarted(started) => conversation::started(conn, event, started).await,
        // Dead letters and other services' events change nothing here.
        _ => Ok(()),
    }
}

/// When the event happened, falling back to when it was recorded.
fn event_time(event: &Event) -> i64 {
    if event.occurred_at_ms != 0 {
        event.occurred_at_ms
    } else {
        event.recorded_at_ms
    }
}
