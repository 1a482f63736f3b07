//! Following the channel snapshots, for whoever keeps something per channel
//! in memory (an ingress's channel directory, the conversations' send
//! targets): the last snapshot of every channel first, then each new one,
//! from an ordered consumer that starts over after a failure.

use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use futures::StreamExt as _;
use tokio_util::sync::CancellationToken;

use crate::{Bus, BusError};

/// One channel snapshot as read.
#[derive(Debug)]
pub struct Snapshot {
    /// Where the stream stored it.
    pub sequence: u64,
    /// How many more the reader has yet to deliver now: 0 once it has
    /// caught up with the stream.
    pub pending: u64,
    /// The stored bytes (an `Event` holding a `ChannelChanged`).
    pub payload: bytes::Bytes,
}

/// Hands every channel snapshot to `on_snapshot` until `shutdown`. After a
/// failure (logged with `reader`, the follower's name) it calls `on_lost`
/// (snapshots may have been missed) and starts over from the last snapshot
/// of every channel.
pub async fn follow_channel_snapshots(
    bus: &Bus,
    reader: &str,
    shutdown: &CancellationToken,
    mut on_snapshot: impl FnMut(Snapshot),
    mut on_lost: impl FnMut(),
) {
    let mut failures = 0u32;
    while !shutdown.is_cancelled() {
        let result = read(bus, shutdown, &mut on_snapshot).await;
        on_lost();
        if let Err(err) = result {
            failures += 1;
            let delay = Duration::from_millis(200 * u64::from(failures.min(25)));
            tracing::warn!(error = %err, ?delay, reader, "channel snapshot reader failed, restarting");
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }
}

async fn read(
    bus: &Bus,
    shutdown: &CancellationToken,
    on_snapshot: &mut impl FnMut(Snapshot),
) -> Result<(), BusError> {
    let stream = bus
        .jetstream()
        .get_stream_no_info(bus.stream_name())
        .await
        .map_err(|e| BusError::Unavailable(e.to_string()))?;
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: bus.subjects().channels(),
            deliver_policy: DeliverPolicy::LastPerSubject,
            ..Default::default()
        })
        .await
        .map_err(|e| BusError::JetStream(e.to_string()))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| BusError::Unavailable(e.to_string()))?;
    loop {
        let next = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            next = messages.next() => next,
        };
        let message = match next {
            Some(Ok(message)) => message,
            Some(Err(err)) => return Err(BusError::Unavailable(err.to_string())),
            None => return Err(BusError::Unavailable("channel snapshots ended".into())),
        };
        let Ok(info) = message.info() else { continue };
        on_snapshot(Snapshot {
            sequence: info.stream_sequence,
            pending: info.pending,
            payload: message.payload.clone(),
        });
    }
}
