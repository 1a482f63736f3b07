//! The timers projection: events → `timer_` tables → armed deadlines.
//!
//! State and checkpoint commit in one transaction, like every projection, so
//! a restart or a rebuild from an empty database re-arms exactly the pending
//! deadlines. The changes of a committed batch ([`Op`]s) then go to the
//! firing loop, which never sees the effects of a rolled-back batch.

use omnibus_bus::{Delivery, Projection, ProjectionError, Rejected};
use omnibus_proto::{Event, event::Payload};
use omnibus_store::{Store, save_checkpoint};
use sqlx::{AnyConnection, Connection as _};
use tokio::sync::mpsc;
use tracing::Instrument as _;

use crate::deadlines::Op;

mod channel;
mod conversation;

pub use channel::{ChannelInfo, DEFAULT_INACTIVITY_SECONDS};

/// Name of the projection's durable consumer and checkpoint.
pub const NAME: &str = "timers";

/// The timers read model.
pub struct TimersProjection {
    store: Store,
    channels: channel::ChannelCache,
    /// Committed arm/disarm changes for the firing loop.
    ops: mpsc::UnboundedSender<Vec<Op>>,
}

/// What one event's handler works with.
pub(crate) struct Step<'a> {
    conn: &'a mut AnyConnection,
    channels: &'a mut channel::ChannelCache,
    ops: &'a mut Vec<Op>,
}

impl Step<'_> {
    async fn channel(&mut self, id: &str) -> Result<Option<ChannelInfo>, sqlx::Error> {
        self.channels.get(self.conn, id).await
    }
}

impl TimersProjection {
    /// A projection writing into `store` and telling the firing loop on `ops`.
    pub fn new(store: Store, ops: mpsc::UnboundedSender<Vec<Op>>) -> Self {
        Self {
            store,
            channels: channel::ChannelCache::default(),
            ops,
        }
    }

    async fn apply_batch(
        &mut self,
        batch: &[Delivery],
        ops: &mut Vec<Op>,
    ) -> Result<Vec<Rejected>, ProjectionError> {
        let transient = |e: sqlx::Error| ProjectionError(e.to_string());
        let mut tx = self
            .store
            .begin_write()
            .await
            .map_err(|e| ProjectionError(e.to_string()))?;
        let mut rejected = Vec::new();
        for delivery in batch {
            let event = match &delivery.event {
                Ok(event) => event,
                Err(err) => {
                    rejected.push(reject(delivery, format!("undecodable event: {err}")));
                    continue;
                }
            };
            let mut savepoint = tx.begin().await.map_err(transient)?;
            let mark = ops.len();
            let mut step = Step {
                conn: &mut savepoint,
                channels: &mut self.channels,
                ops,
            };
            match apply_event(&mut step, delivery.sequence, event).await {
                Ok(()) => savepoint.commit().await.map_err(transient)?,
                Err(err) if !omnibus_store::is_refusal(&err) => return Err(transient(err)),
                Err(err) => {
                    savepoint.rollback().await.map_err(transient)?;
                    ops.truncate(mark);
                    self.channels.clear();
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
        Ok(rejected)
    }
}

impl Projection for TimersProjection {
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
        let mut ops = Vec::new();
        match self.apply_batch(batch, &mut ops).await {
            Ok(rejected) => {
                if !ops.is_empty() {
                    // The firing loop only stops at shutdown; nothing to do then.
                    let _ = self.ops.send(ops);
                }
                Ok(rejected)
            }
            Err(err) => {
                self.channels.clear();
                Err(err)
            }
        }
    }
}

fn reject(delivery: &Delivery, error: String) -> Rejected {
    Rejected {
        sequence: delivery.sequence,
        error,
    }
}

async fn apply_event(step: &mut Step<'_>, seq: u64, event: &Event) -> Result<(), sqlx::Error> {
    let Some(payload) = &event.payload else {
        return Ok(());
    };
    let span = tracing::debug_span!(
        "timers.apply",
        sequence = seq,
        channel_id = %event.channel_id,
        conversation_id = %event.conversation_id
    );
    let seq = i64::try_from(seq).unwrap_or(i64::MAX);
    dispatch(step, seq, event, payload).instrument(span).await
}

async fn dispatch(
    step: &mut Step<'_>,
    seq: i64,
    event: &Event,
    payload: &Payload,
) -> Result<(), sqlx::Error> {
    match payload {
        Payload::ChannelChanged(changed) => channel::changed(step, changed).await,
        Payload::MessageReceived(received) => {
            conversation::received(step, seq, event, received).await
        }
        Payload::MessageRequested(requested) => {
            conversation::requested(step, seq, event, requested).await
        }
        Payload::ConversationClosed(closed) => conversation::closed(step, seq, event, closed).await,
        Payload::ConversationStarted(started) => {
            conversation::started(step, seq, event, started).await
        }
        _ => Ok(()),
    }
}

/// When Omnibus accepted the event, falling back to when it happened.
///
/// Deadlines count from Omnibus's own clock, not the provider's: provider
/// times are second-granular and may be skewed, and a webhook the provider
/// retried late would otherwise start its deadlines in the past. The value is
/// stored in the event, so a replay computes the same deadlines.
fn event_time(event: &Event) -> i64 {
    if event.recorded_at_ms != 0 {
        event.recorded_at_ms
    } else {
        event.occurred_at_ms
    }
}
