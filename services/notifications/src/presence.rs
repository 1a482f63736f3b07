//! Records operators' presence changes as events (`PresenceChanged` on
//! `<prefix>.presence`), so routing decisions follow from the stream alone
//! and a replay reproduces them.

use std::time::Duration;

use omnibus_bus::Bus;
use omnibus_proto::{Event, PresenceChanged, event::Payload};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::hub::PresenceChange;

/// Attempts to store one change before it is given up (logged).
const ATTEMPTS: u32 = 5;

/// Publishes every change from `changes` until `shutdown`.
pub async fn record(
    bus: Bus,
    mut changes: mpsc::UnboundedReceiver<PresenceChange>,
    shutdown: CancellationToken,
) {
    loop {
        let change = tokio::select! {
            () = shutdown.cancelled() => return,
            change = changes.recv() => change,
        };
        let Some((operator_id, presence)) = change else {
            return;
        };
        let now = omnibus_core::now_ms();
        let event = Event {
            id: format!("presence:{}", uuid::Uuid::now_v7().simple()),
            occurred_at_ms: now,
            recorded_at_ms: now,
            channel_id: String::new(),
            conversation_id: String::new(),
            payload: Some(Payload::PresenceChanged(PresenceChanged {
                operator_id: operator_id.clone(),
                presence: presence as i32,
            })),
        };
        store(&bus, &event, &operator_id).await;
    }
}

async fn store(bus: &Bus, event: &Event, operator_id: &str) {
    for attempt in 1..=ATTEMPTS {
        match bus.publish(bus.subjects().presence(), event).await {
            Ok(_) => return,
            Err(err) => {
                tracing::warn!(operator_id, attempt, error = %err, "cannot record a presence change");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
        }
    }
    tracing::error!(
        operator_id,
        "presence change not recorded; routing misses it"
    );
}
