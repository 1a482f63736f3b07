//! Events published straight onto the stream, as the services would: the
//! normalized `MessageReceived` an ingress stores for a Telegram update, and
//! the channel snapshot the conversations service stores for a channel.
//! Pipelined publishing of many of them, like limits.md B.

use futures::StreamExt as _;
use futures::stream::FuturesOrdered;
use omnibus_bus::Bus;
use omnibus_ingress_telegram::normalize::{Normalized, normalize};
use omnibus_ingress_telegram::wire::parse_update;
use omnibus_proto::{
    ChannelChanged, ChannelKind, ChannelSettings, ChannelState, ChannelStatus, Event,
    channel_changed::Change, event::Payload,
};
use omnibus_tests::telegram;

/// Acks outstanding while publishing, as in limits.md B.
pub const PIPELINE: usize = 256;

/// An inbound customer text message on `channel_id`: a Telegram update
/// parsed and normalized exactly as the webhook does, recorded now.
pub fn inbound(channel_id: &str, update_id: i64, chat: i64, text: &str) -> Event {
    let body = telegram::text_update(update_id, chat, text).to_string();
    let update = parse_update(body.as_bytes()).expect("a valid update");
    let Normalized::Event(mut event) = normalize(channel_id, &update) else {
        panic!("a text message normalizes to an event");
    };
    event.recorded_at_ms = omnibus_core::now_ms();
    event
}

/// The snapshot of a new active Telegram channel with `settings`, as
/// `CreateChannel` stores it (services that only read the stream, such as
/// timers, learn channels from it).
pub fn channel_created(channel_id: &str, settings: ChannelSettings) -> Event {
    let now = omnibus_core::now_ms();
    let state = ChannelState {
        id: channel_id.to_owned(),
        kind: ChannelKind::Telegram as i32,
        name: format!("bench {channel_id}"),
        status: ChannelStatus::Active as i32,
        settings: Some(settings),
        created_at_ms: now,
        updated_at_ms: now,
        ..Default::default()
    };
    Event {
        id: omnibus_core::ids::random_id("ev_"),
        occurred_at_ms: now,
        recorded_at_ms: now,
        channel_id: channel_id.to_owned(),
        payload: Some(Payload::ChannelChanged(ChannelChanged {
            change: Change::Created as i32,
            state: Some(state),
        })),
        ..Default::default()
    }
}

/// The subject an event belongs on: its channel's for channel snapshots,
/// its conversation's otherwise.
pub fn subject(bus: &Bus, event: &Event) -> String {
    match event.payload {
        Some(Payload::ChannelChanged(_)) => bus.subjects().channel(&event.channel_id),
        _ => bus.subjects().conversation(&event.conversation_id),
    }
}

/// Publishes every event on its subject with at most [`PIPELINE`] acks
/// outstanding; returns the last stream sequence.
pub async fn publish(bus: &Bus, events: &[Event]) -> anyhow::Result<u64> {
    let mut acks = FuturesOrdered::new();
    let mut last = 0;
    for event in events {
        acks.push_back(bus.send(subject(bus, event), event).await?.into_future());
        if acks.len() >= PIPELINE
            && let Some(ack) = acks.next().await
        {
            last = ack?.sequence;
        }
    }
    while let Some(ack) = acks.next().await {
        last = ack?.sequence;
    }
    Ok(last)
}
