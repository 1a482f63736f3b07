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

use crate::contacts::{self, phone::Region};

mod activity;
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
    /// Where phones without a country code are read (contact joins).
    region: Region,
}

impl ConversationsProjection {
    /// A projection writing into `store`.
    pub fn new(store: Store, changes: broadcast::Sender<String>, region: Region) -> Self {
        Self {
            store,
            changes,
            region,
        }
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
                let applied = match bulk::apply(&mut savepoint, &run).await {
                    Ok(()) => {
                        let events = run.iter().map(|r| (r.seq, r.event));
                        contacts::projection::seen_run(&mut savepoint, events, self.region).await
                    }
                    Err(err) => Err(err),
                };
                match applied {
                    Ok(()) => {
                        savepoint.commit().await.map_err(transient)?;
                        rest = &rest[run.len()..];
                        continue;
                    }
                    Err(err) if !omnibus_store::is_refusal(&err) => return Err(transient(err)),
                    // One of them is refused: find it one event at a time.
                    Err(_) => savepoint.rollback().await.map_err(transient)?,
                }
            }
            let one = run.len().max(1);
            for delivery in &rest[..one] {
                apply_one(&mut tx, delivery, self.region, &mut rejected).await?;
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
    region: Region,
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
    match apply_event(&mut savepoint, delivery.sequence, event, region).await {
        Ok(()) => savepoint.commit().await.map_err(transient)?,
        Err(err) if !omnibus_store::is_refusal(&err) => return Err(transient(err)),
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

async fn apply_event(
    conn: &mut AnyConnection,
    seq: u64,
    event: &Event,
    region: Region,
) -> Result<(), sqlx::Error> {
    apply_conversation_event(conn, seq, event).await?;
    contacts::projection::apply(conn, seq, event, region).await
}

async fn apply_conversation_event(
    conn: &mut AnyConnection,
    seq: u64,
    event: &Event,
) -> Result<(), sqlx::Error> {
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
            message::dispatched(conn, conversation_id, at, dispatched).await?;
            echo::drop_echo_of(conn, event, dispatched).await
        }
        Payload::MessageHeld(held) => message::held(conn, seq, at, held).await,
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
            if conversation::closed(conn, conversation_id, at, closed).await? {
                activity::closed_line(conn, seq, conversation_id, at, closed).await?;
            }
            Ok(())
        }
        Payload::ConversationAssigned(assigned) => {
            conversation::assigned(conn, conversation_id, at, assigned).await
        }
        Payload::ConversationRead(_) => conversation::read(conn, conversation_id, at).await,
        Payload::NoReplyNeeded(_) => conversation::no_reply_needed(conn, conversation_id, at).await,
        Payload::ConversationStarted(started) => {
            if activity::is_closed(conn, conversation_id).await? {
                activity::reopened_line(conn, seq, conversation_id, at, &started.operator_id)
                    .await?;
            }
            conversation::started(conn, event, started).await
        }
        Payload::ConversationSubject(subject) => {
            conversation::keep_subject(conn, conversation_id, &subject.subject_url).await
        }
        // Dead letters and other services' events change nothing here.
        _ => Ok(()),
    }
}

/// When the event happened, falling back to when it was recorded.
pub(crate) fn event_time(event: &Event) -> i64 {
    if event.occurred_at_ms != 0 {
        event.occurred_at_ms
    } else {
        event.recorded_at_ms
    }
}
