//! A conversation's audit trail, read straight from the event stream: every
//! event on its `conv.`, `window.` and `send.` subjects, oldest first, so
//! "what happened to this message?" has an answer (received, held, released,
//! dispatched, delivered, closed, ...) with the provider's ids.

use std::collections::HashSet;
use std::sync::OnceLock;
use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use futures::StreamExt;
use omnibus_bus::{Bus, BusError};
use omnibus_proto::event::Payload;
use omnibus_proto::{ConversationEvent, Event};
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage};

use crate::error::{Result, ServiceError};

/// The most events one read keeps; past it the oldest are dropped.
pub const MAX_EVENTS: usize = 10_000;
/// How long reading the trail may take before the call gives up.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads every event of `conversation_id` in stream order.
pub async fn read(bus: &Bus, conversation_id: &str) -> Result<Vec<ConversationEvent>> {
    let prefix = bus.stream_name().to_ascii_lowercase();
    let filters = vec![
        bus.subjects().conversation(conversation_id),
        format!("{prefix}.window.*.{conversation_id}"),
        format!("{prefix}.send.*.{conversation_id}"),
    ];
    let mut trail = Trail::default();
    for (sequence, subject, event) in read_subjects(bus, filters).await? {
        trail.push(sequence, &subject, &event);
    }
    Ok(trail.into_events())
}

/// Every event stored on `filters` (subjects, wildcards allowed), oldest
/// first, with its stream sequence and subject; undecodable ones are skipped.
/// One ordered consumer per filter, merged by sequence: multiple filter
/// subjects on one consumer need NATS 2.10, and Debian ships 2.9.
pub async fn read_subjects(bus: &Bus, filters: Vec<String>) -> Result<Vec<(u64, String, Event)>> {
    let stream = bus
        .jetstream()
        .get_stream_no_info(bus.stream_name())
        .await
        .map_err(unavailable)?;
    let mut events = Vec::new();
    for filter in filters {
        let mut consumer = stream
            .create_consumer(pull::OrderedConfig {
                filter_subject: filter,
                deliver_policy: DeliverPolicy::All,
                ..Default::default()
            })
            .await
            .map_err(|e| BusError::JetStream(e.to_string()))?;
        let pending = consumer.info().await.map_err(unavailable)?.num_pending;
        if pending == 0 {
            continue;
        }
        let read = tokio::time::timeout(READ_TIMEOUT, collect(consumer, pending))
            .await
            .map_err(|_| ServiceError::Unavailable("reading the event stream timed out".into()))?;
        events.extend(read?);
    }
    events.sort_by_key(|(sequence, _, _)| *sequence);
    if events.len() > MAX_EVENTS {
        events.drain(..events.len() - MAX_EVENTS);
    }
    Ok(events)
}

async fn collect(
    consumer: async_nats::jetstream::consumer::Consumer<pull::OrderedConfig>,
    pending: u64,
) -> Result<Vec<(u64, String, Event)>> {
    let mut messages = consumer.messages().await.map_err(unavailable)?;
    let mut events = Vec::new();
    let mut seen = 0u64;
    while seen < pending {
        let Some(next) = messages.next().await else {
            break;
        };
        let message = next.map_err(unavailable)?;
        seen += 1;
        let Ok(info) = message.info() else { continue };
        let (sequence, left) = (info.stream_sequence, info.pending);
        if let Ok(event) = Event::decode(message.payload.clone()) {
            if events.len() == MAX_EVENTS {
                events.remove(0);
            }
            events.push((sequence, message.subject.to_string(), event));
        }
        if left == 0 {
            break;
        }
    }
    Ok(events)
}

/// Turns stream events into audit lines, remembering which messages were
/// held so their later forwarding reads as "released".
#[derive(Default)]
struct Trail {
    events: Vec<ConversationEvent>,
    held: HashSet<String>,
}

impl Trail {
    fn push(&mut self, sequence: u64, subject: &str, event: &Event) {
        let Some(payload) = &event.payload else {
            return;
        };
        let (kind, message_id, provider_id) = self.describe(subject, payload);
        self.events.push(ConversationEvent {
            id: event.id.clone(),
            kind: kind.to_owned(),
            created_at: omnibus_core::clock::timestamp(event.occurred_at_ms),
            provider_id,
            json: to_json(event),
            sequence,
            message_id,
            recorded_at: omnibus_core::clock::timestamp(event.recorded_at_ms),
        });
    }

    fn describe(&mut self, subject: &str, payload: &Payload) -> (&'static str, String, String) {
        let none = String::new;
        match payload {
            Payload::MessageReceived(p) => (
                "received",
                p.message_id.clone(),
                p.provider_message_id.clone(),
            ),
            Payload::MessageEdited(p) => (
                "edited",
                p.message_id.clone(),
                p.provider_message_id.clone(),
            ),
            Payload::ConversationStarted(_) => ("started", none(), none()),
            Payload::ConversationSubject(_) => ("subject", none(), none()),
            Payload::MessageRequested(p) => (
                self.requested_kind(subject, &p.message_id),
                p.message_id.clone(),
                none(),
            ),
            Payload::MessageHeld(p) => {
                self.held.insert(p.message_id.clone());
                ("held", p.message_id.clone(), none())
            }
            Payload::MessageDispatched(p) => (
                "dispatched",
                p.message_id.clone(),
                p.provider_message_id.clone(),
            ),
            Payload::MessageFailed(p) => ("failed", p.message_id.clone(), p.provider_code.clone()),
            Payload::DeliveryStatusChanged(p) => (
                "status",
                p.message_id.clone(),
                p.provider_message_id.clone(),
            ),
            Payload::MessageOutsideWindow(p) => (
                "outside_window",
                p.message_id.clone(),
                p.provider_code.clone(),
            ),
            Payload::ConversationAssigned(_) => ("assigned", none(), none()),
            Payload::ConversationRead(_) => ("read", none(), none()),
            Payload::NoReplyNeeded(_) => ("no_reply_needed", none(), none()),
            Payload::ConversationClosed(_) => ("closed", none(), none()),
            _ => ("other", none(), none()),
        }
    }

    /// A request on a `window.` subject waits for the window service; on a
    /// `send.` subject it goes out: "released" after a hold, "approved" when
    /// the window service passed it on at once, "requested" on channels
    /// without a window.
    fn requested_kind(&self, subject: &str, message_id: &str) -> &'static str {
        let is_send = subject.split('.').nth(1) == Some("send");
        let was_gated = self
            .events
            .iter()
            .any(|e| e.message_id == message_id && e.kind == "requested");
        match (is_send, was_gated) {
            (false, _) => "requested",
            (true, _) if self.held.contains(message_id) => "released",
            (true, true) => "approved",
            (true, false) => "requested",
        }
    }

    fn into_events(self) -> Vec<ConversationEvent> {
        self.events
    }
}

/// The event as protobuf JSON (field names as in the .proto files).
fn to_json(event: &Event) -> String {
    static POOL: OnceLock<Option<DescriptorPool>> = OnceLock::new();
    let pool = POOL.get_or_init(|| DescriptorPool::decode(omnibus_proto::FILE_DESCRIPTOR_SET).ok());
    let Some(descriptor) = pool
        .as_ref()
        .and_then(|p| p.get_message_by_name("omnibus.v1.Event"))
    else {
        return String::new();
    };
    let Ok(message) = DynamicMessage::decode(descriptor, event.encode_to_vec().as_slice()) else {
        return String::new();
    };
    let options = prost_reflect::SerializeOptions::new().use_proto_field_name(true);
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::new(&mut out);
    match message.serialize_with_options(&mut serializer, &options) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

fn unavailable(err: impl std::fmt::Display) -> BusError {
    BusError::Unavailable(err.to_string())
}
