//! UNANSWERED deadlines: the projection keeps, per conversation, when the
//! current wait ends; this loop turns overdue ones into
//! `UnansweredDetected` events. Their id, `unanswered:<conversation>:<seq>`,
//! is the `Nats-Msg-Id`, so replicas or a restart firing the same deadline
//! store it once, and the projection ignores a repeat anyway.

use std::time::Duration;

use omnibus_bus::{Bus, BusError};
use omnibus_proto::{UnansweredDetected, notification_event::Change};
use omnibus_store::Store;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use tracing::Instrument as _;

use crate::ServiceError;
use crate::commands::notification_event;

/// How often overdue waits are looked for.
const POLL: Duration = Duration::from_millis(250);
/// Most deadlines fired per round.
const BATCH: i64 = 200;

struct Overdue {
    id: String,
    channel_id: String,
    waiting_seq: i64,
    waiting_message_id: String,
    waiting_since_ms: i64,
}
from_row!(Overdue {
    id,
    channel_id,
    waiting_seq,
    waiting_message_id,
    waiting_since_ms
});

/// Fires overdue deadlines until `shutdown`.
pub async fn run(
    bus: Bus,
    store: Store,
    applied: watch::Receiver<u64>,
    shutdown: CancellationToken,
) {
    tokio::select! {
        () = shutdown.cancelled() => return,
        () = caught_up(&bus, applied.clone()) => {}
    }
    while !shutdown.is_cancelled() {
        if let Err(err) = fire_overdue(&bus, &store, applied.clone()).await {
            tracing::warn!(error = %err, "cannot fire unanswered deadlines yet");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Waits until the projection applied what the stream held at start. While
/// it is still replaying, its waits are not final (an answer or an earlier
/// `UnansweredDetected` may be further on), so firing would store
/// needless events.
async fn caught_up(bus: &Bus, mut applied: watch::Receiver<u64>) {
    let mut failures = 0u32;
    let last = loop {
        match last_sequence(bus).await {
            Ok(last) => break last,
            Err(err) => {
                failures += 1;
                tracing::warn!(error = %err, "cannot read the stream's last sequence yet");
                tokio::time::sleep(POLL * failures.min(40)).await;
            }
        }
    };
    let _ = applied.wait_for(|applied| *applied >= last).await;
}

async fn last_sequence(bus: &Bus) -> Result<u64, BusError> {
    let unavailable = |e: &dyn std::fmt::Display| BusError::Unavailable(e.to_string());
    let mut stream = bus
        .jetstream()
        .get_stream(bus.stream_name())
        .await
        .map_err(|e| unavailable(&e))?;
    let info = stream.info().await.map_err(|e| unavailable(&e))?;
    Ok(info.state.last_sequence)
}

async fn fire_overdue(
    bus: &Bus,
    store: &Store,
    mut applied: watch::Receiver<u64>,
) -> Result<(), ServiceError> {
    let overdue: Vec<Overdue> = sqlx::query_as(
        "SELECT id, channel_id, waiting_seq, waiting_message_id, waiting_since_ms \
         FROM notif_conversations WHERE deadline_ms > 0 AND deadline_ms <= $1 \
         ORDER BY deadline_ms LIMIT $2",
    )
    .bind(omnibus_core::now_ms())
    .bind(BATCH)
    .fetch_all(store.pool())
    .await?;
    let mut last = 0;
    for wait in overdue {
        let span = tracing::info_span!("unanswered", conversation_id = %wait.id);
        let sequence = publish(bus, wait).instrument(span).await?;
        last = last.max(sequence);
    }
    // Wait for the projection to clear the deadlines before looking again,
    // so one deadline is not published twice in a row.
    if last > 0 {
        let _ =
            tokio::time::timeout(Duration::from_secs(5), applied.wait_for(|a| *a >= last)).await;
    }
    Ok(())
}

/// Stores the `UnansweredDetected` of one overdue wait; returns its sequence.
async fn publish(bus: &Bus, wait: Overdue) -> Result<u64, ServiceError> {
    let change = Change::UnansweredDetected(UnansweredDetected {
        message_id: wait.waiting_message_id,
        waiting_since_sequence: u64::try_from(wait.waiting_seq).unwrap_or(0),
        waiting_since_ms: wait.waiting_since_ms,
    });
    let id = format!("unanswered:{}:{}", wait.id, wait.waiting_seq);
    let event = notification_event(id, &wait.channel_id, &wait.id, change);
    let published = bus
        .publish(bus.subjects().conversation(&wait.id), &event)
        .await?;
    tracing::info!(sequence = published.sequence, "customer waits unanswered");
    Ok(published.sequence)
}
