//! Turns pending phone joins (recorded by the projection) into
//! `ContactsMerged` events. One replica at a time does it (a lease), and each
//! join's event id is derived from the identity and the phone, so two
//! replicas or a retry store it once.

use std::time::Duration;

use omnibus_bus::Bus;
use omnibus_bus::lease::take_turns;
use omnibus_proto::{ContactsMerged, Event, contacts_merged::Reason, event::Payload};
use omnibus_store::Store;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How often pending joins are looked for.
const EVERY: Duration = Duration::from_millis(250);
/// Joins published per round.
const BATCH: i64 = 100;
/// Name of the lease.
const LEASE: &str = "service.contact-joins";

/// Why a round failed (it is retried on the next).
#[derive(Debug, thiserror::Error)]
enum JoinError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stream: {0}")]
    Bus(#[from] omnibus_bus::BusError),
    #[error("stream info: {0}")]
    Info(String),
}

/// Publishes joins until `shutdown`, while this replica holds the lease.
pub(crate) async fn run(
    bus: Bus,
    store: Store,
    applied: watch::Receiver<u64>,
    shutdown: CancellationToken,
) {
    take_turns(&bus, LEASE, &shutdown, |work| {
        let (bus, store, applied) = (bus.clone(), store.clone(), applied.clone());
        async move {
            loop {
                tokio::select! {
                    () = work.cancelled() => return,
                    () = tokio::time::sleep(EVERY) => {}
                }
                if let Err(err) = round(&bus, &store, &applied).await {
                    tracing::warn!(error = %err, "contact joins: will retry");
                }
            }
        }
    })
    .await;
}

/// Publishes the pending joins, once the projection has applied everything
/// stored so far: during a rebuild, a join already on the stream but not yet
/// applied must not be published again.
async fn round(bus: &Bus, store: &Store, applied: &watch::Receiver<u64>) -> Result<(), JoinError> {
    let pending: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT identity_id, into_id, phone FROM ct_pending_joins ORDER BY seq, identity_id LIMIT $1",
    )
    .bind(BATCH)
    .fetch_all(store.pool())
    .await?;
    if pending.is_empty() {
        return Ok(());
    }
    let last = last_sequence(bus).await?;
    if *applied.borrow() < last {
        return Ok(());
    }
    for (identity_id, into_id, phone) in pending {
        let now = omnibus_core::now_ms();
        let event = Event {
            id: format!("contact-join:{identity_id}:{phone}"),
            occurred_at_ms: now,
            recorded_at_ms: now,
            payload: Some(Payload::ContactsMerged(ContactsMerged {
                into_id: into_id.clone(),
                from_id: identity_id.clone(),
                reason: Reason::SamePhone as i32,
                phone,
                identity_id,
                operator_id: String::new(),
            })),
            ..Default::default()
        };
        bus.publish(bus.subjects().contact(&into_id), &event)
            .await?;
    }
    Ok(())
}

async fn last_sequence(bus: &Bus) -> Result<u64, JoinError> {
    let mut stream = bus
        .jetstream()
        .get_stream(bus.stream_name())
        .await
        .map_err(|e| JoinError::Info(e.to_string()))?;
    let info = stream
        .info()
        .await
        .map_err(|e| JoinError::Info(e.to_string()))?;
    Ok(info.state.last_sequence)
}
