//! Connection to NATS, the stream, and publishing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, message::PublishMessage, stream};
use bytes::Bytes;
use omnibus_core::sealed::Keyring;
use omnibus_proto::Event;
use prost::Message as _;

use crate::precedence::Turns;
use crate::{BusConfig, BusError, Subjects, header_safe};

/// A handle on the event stream; cheap to clone and shared by every service
/// of a process.
#[derive(Clone)]
pub struct Bus {
    client: async_nats::Client,
    js: jetstream::Context,
    stream_name: String,
    subjects: Subjects,
    replicas: usize,
    keyring: Keyring,
    /// The stream sequence of the latest channel snapshot published through
    /// this process's bus: a reader of snapshots that is not there yet
    /// knows its copy may be stale (see [`Bus::channels_written_through`]).
    channels_written: Arc<AtomicU64>,
    /// Whether the process's other projections wait for its first one.
    turns: Turns,
}

/// The stream's acknowledgement of a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// Sequence of the stored event (of the original, for a duplicate).
    pub sequence: u64,
    /// The id was seen inside the duplicate window; nothing new was stored.
    pub duplicate: bool,
}

/// One stored event as a consumer sees it.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Stream sequence: the position projections checkpoint.
    pub sequence: u64,
    /// The subject it was published on.
    pub subject: String,
    /// The decoded event, or why it could not be decoded (parked then).
    pub event: Result<Event, prost::DecodeError>,
    /// Headers, carrying the trace context.
    pub headers: Option<HeaderMap>,
    /// The raw payload, kept for dead letters.
    pub payload: Bytes,
    /// How many times the server has delivered it (1 the first time).
    pub delivered: i64,
}

/// The client options `config` asks for: a credentials file (user JWT and
/// NKey seed) and a CA bundle, which makes TLS mandatory.
async fn connect_options(config: &BusConfig) -> Result<async_nats::ConnectOptions, BusError> {
    // A `tls://` URL or a server that requires TLS needs it too, CA or not.
    ensure_tls_provider();
    let mut options = async_nats::ConnectOptions::new()
        .name(&config.connection_name)
        .connection_timeout(Duration::from_secs(5));
    if let Some(path) = &config.credentials_file {
        options = options.credentials_file(path).await.map_err(|e| {
            BusError::Config(format!(
                "cannot read the NATS credentials file {}: {e}",
                path.display()
            ))
        })?;
    }
    if let Some(path) = &config.ca_file {
        if !path.is_file() {
            return Err(BusError::Config(format!(
                "the NATS CA bundle {} is not a readable file",
                path.display()
            )));
        }
        options = options
            .add_root_certificates(path.clone())
            .require_tls(true);
    }
    Ok(options)
}

/// async-nats builds its TLS configuration on rustls's process-wide crypto
/// provider, which rustls cannot choose by itself when the build holds more
/// than one (reqwest brings aws-lc-rs, async-nats ring): install ring unless
/// something installed a provider first.
fn ensure_tls_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine: a provider is set.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

impl Bus {
    /// Connects to NATS and creates or updates the stream (idempotent).
    pub async fn connect(config: &BusConfig) -> Result<Self, BusError> {
        let client = connect_options(config)
            .await?
            .connect(&config.nats_url)
            .await
            .map_err(BusError::unavailable)?;
        let js = jetstream::ContextBuilder::new()
            .timeout(config.publish_timeout)
            .build(client.clone());
        let bus = Self {
            client,
            js,
            stream_name: config.stream.clone(),
            subjects: Subjects::new(&config.stream),
            replicas: config.replicas,
            keyring: config.keyring.clone(),
            channels_written: Arc::default(),
            turns: Turns::default(),
        };
        bus.ensure_stream(config).await?;
        Ok(bus)
    }

    async fn ensure_stream(&self, config: &BusConfig) -> Result<(), BusError> {
        let stream_config = stream::Config {
            name: self.stream_name.clone(),
            subjects: vec![self.subjects.all()],
            storage: stream::StorageType::File,
            num_replicas: config.replicas,
            duplicate_window: config.duplicate_window,
            allow_direct: true,
            ..Default::default()
        };
        self.js
            .create_or_update_stream(stream_config)
            .await
            .map_err(BusError::jetstream)?;
        Ok(())
    }

    /// Seals credentials before they go on the stream and opens them when
    /// read back (`OMNIBUS_CREDENTIALS_KEY`).
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// How many servers keep a copy of the stream (and of its companions,
    /// such as the lease bucket).
    pub fn replicas(&self) -> usize {
        self.replicas
    }

    /// The stream sequence of the latest channel snapshot this process
    /// published (0: none). `CreateChannel` and `UpdateChannel` return once
    /// it is stored; the ingress of the same process re-reads a channel
    /// while its copy of the snapshots is behind this, so a replaced secret
    /// is refused as soon as the call returns.
    pub fn channels_written_through(&self) -> u64 {
        self.channels_written.load(Ordering::Acquire)
    }

    /// Turns of the process's projections (see [`crate::precedence`]).
    pub(crate) fn turns(&self) -> &Turns {
        &self.turns
    }

    /// The subject scheme of this stream.
    pub fn subjects(&self) -> &Subjects {
        &self.subjects
    }

    /// The stream's name (`OMNIBUS_STREAM`).
    pub fn stream_name(&self) -> &str {
        &self.stream_name
    }

    /// The core NATS client, for request/reply between services.
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// The JetStream context.
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    /// Stores `event` on `subject` and waits for the stream's acknowledgement.
    /// The event id is the `Nats-Msg-Id`: publishing the same id again inside
    /// the duplicate window returns the original sequence with `duplicate`.
    pub async fn publish(&self, subject: String, event: &Event) -> Result<Published, BusError> {
        self.publish_checked(subject, event, None).await
    }

    /// Like [`publish`](Self::publish), but only when the last event on
    /// `subject` is still at `last_subject_sequence` (0: no event yet);
    /// otherwise [`BusError::Conflict`]. Keeps read-modify-write safe.
    pub async fn publish_expecting(
        &self,
        subject: String,
        event: &Event,
        last_subject_sequence: u64,
    ) -> Result<Published, BusError> {
        self.publish_checked(subject, event, Some(last_subject_sequence))
            .await
    }

    async fn publish_checked(
        &self,
        subject: String,
        event: &Event,
        expected: Option<u64>,
    ) -> Result<Published, BusError> {
        use omnibus_metrics::PublishResult;
        let counted = subject.clone();
        let published = async {
            let ack = self.send_checked(subject, event, expected).await?;
            ack.await.map_err(publish_error)
        }
        .await;
        let result = match &published {
            Ok(ack) if ack.duplicate => PublishResult::Duplicate,
            Ok(_) => PublishResult::Stored,
            Err(_) => PublishResult::Failed,
        };
        omnibus_metrics::event_published(&counted, result);
        let ack = published?;
        if self.subjects.is_channel(&counted) {
            self.channels_written
                .fetch_max(ack.sequence, Ordering::AcqRel);
        }
        Ok(Published {
            sequence: ack.sequence,
            duplicate: ack.duplicate,
        })
    }

    /// Sends `event` without waiting for the acknowledgement, for callers
    /// that pipeline many publishes; await the returned future for the ack.
    pub async fn send(
        &self,
        subject: String,
        event: &Event,
    ) -> Result<jetstream::context::PublishAckFuture, BusError> {
        use omnibus_metrics::PublishResult;
        let counted = subject.clone();
        let sent = self.send_checked(subject, event, None).await;
        let result = match &sent {
            Ok(_) => PublishResult::Sent,
            Err(_) => PublishResult::Failed,
        };
        omnibus_metrics::event_published(&counted, result);
        sent
    }

    async fn send_checked(
        &self,
        subject: String,
        event: &Event,
        expected: Option<u64>,
    ) -> Result<jetstream::context::PublishAckFuture, BusError> {
        let mut headers = HeaderMap::new();
        omnibus_telemetry::inject_nats(&mut headers);
        let mut publish = PublishMessage::build()
            .payload(Bytes::from(event.encode_to_vec()))
            .message_id(header_safe(&event.id));
        if let Some(sequence) = expected {
            publish = publish.expected_last_subject_sequence(sequence);
        }
        for (name, values) in headers.iter() {
            for value in values {
                publish = publish.header(name.clone(), header_safe(value.as_str()).as_ref());
            }
        }
        self.js
            .send_publish(subject, publish)
            .await
            .map_err(publish_error)
    }

    /// The last event stored on `subject`, with its sequence. Used for
    /// read-your-writes lookups of channel snapshots.
    pub async fn last_event(&self, subject: &str) -> Result<Option<(u64, Event)>, BusError> {
        use async_nats::jetstream::stream::LastRawMessageErrorKind as Kind;
        let stream = self
            .js
            .get_stream_no_info(&self.stream_name)
            .await
            .map_err(BusError::unavailable)?;
        match stream.get_last_raw_message_by_subject(subject).await {
            Ok(message) => {
                let event = Event::decode(message.payload).map_err(|source| BusError::Decode {
                    sequence: message.sequence,
                    source,
                })?;
                Ok(Some((message.sequence, event)))
            }
            Err(err) if err.kind() == Kind::NoMessageFound => Ok(None),
            Err(err) => Err(BusError::unavailable(err)),
        }
    }

    /// The stream's last sequence now: a reader that has applied it has
    /// seen everything stored before this call.
    pub async fn stream_end(&self) -> Result<u64, BusError> {
        let stream = self
            .js
            .get_stream(&self.stream_name)
            .await
            .map_err(BusError::unavailable)?;
        Ok(stream.cached_info().state.last_sequence)
    }

    /// Answers when NATS is connected and the stream exists; for `/readyz`.
    pub async fn ping(&self) -> Result<(), BusError> {
        if self.client.connection_state() != async_nats::connection::State::Connected {
            return Err(BusError::Unavailable("not connected".into()));
        }
        self.js
            .get_stream_no_info(&self.stream_name)
            .await
            .map(|_| ())
            .map_err(BusError::unavailable)
    }

    /// Publishes a dead letter for `delivery` that `consumer` gave up on.
    pub(crate) async fn park(
        &self,
        consumer: &str,
        delivery: &Delivery,
        error: &str,
    ) -> Result<(), BusError> {
        use omnibus_proto::{DeadLetter, event::Payload};
        tracing::error!(
            consumer,
            sequence = delivery.sequence,
            subject = %delivery.subject,
            error,
            "parking event on the dead-letter subject"
        );
        let (channel_id, conversation_id) = match &delivery.event {
            Ok(event) => (event.channel_id.clone(), event.conversation_id.clone()),
            Err(_) => Default::default(),
        };
        let event = Event {
            id: format!("dlq:{consumer}:{}", delivery.sequence),
            occurred_at_ms: omnibus_core::now_ms(),
            recorded_at_ms: omnibus_core::now_ms(),
            channel_id,
            conversation_id,
            payload: Some(Payload::DeadLetter(DeadLetter {
                consumer: consumer.to_owned(),
                stream_sequence: delivery.sequence,
                subject: delivery.subject.clone(),
                error: error.to_owned(),
                payload: delivery.payload.to_vec(),
            })),
        };
        self.publish(self.subjects.dead_letters(consumer), &event)
            .await
            .map(|_| ())
    }
}

fn publish_error(err: async_nats::jetstream::context::PublishError) -> BusError {
    use async_nats::jetstream::context::PublishErrorKind as Kind;
    match err.kind() {
        Kind::TimedOut | Kind::BrokenPipe | Kind::StreamNotFound => BusError::unavailable(err),
        Kind::WrongLastSequence => BusError::Conflict,
        Kind::MaxPayloadExceeded => BusError::TooLarge(err.to_string()),
        _ => BusError::jetstream(err),
    }
}

impl Delivery {
    pub(crate) fn from_message(message: &async_nats::jetstream::Message) -> Option<Self> {
        let info = message.info().ok()?;
        let sequence = info.stream_sequence;
        let delivered = info.delivered;
        Some(Self {
            sequence,
            subject: message.subject.to_string(),
            event: Event::decode(message.payload.clone()),
            headers: message.headers.clone(),
            payload: message.payload.clone(),
            delivered,
        })
    }

    /// Like [`Delivery::from_message`], taking the message apart instead of
    /// copying its headers: a projection reading a backlog makes a delivery
    /// of every event, and acks only the last message of a batch.
    pub(crate) fn from_owned(message: async_nats::jetstream::Message) -> Option<Self> {
        let info = message.info().ok()?;
        let (sequence, delivered) = (info.stream_sequence, info.delivered);
        let message = message.message;
        Some(Self {
            sequence,
            subject: message.subject.to_string(),
            event: Event::decode(message.payload.clone()),
            headers: message.headers,
            payload: message.payload,
            delivered,
        })
    }

    /// A span for handling this delivery, child of the publisher's trace.
    pub fn span(&self, name: &'static str) -> tracing::Span {
        let (channel_id, conversation_id) = match &self.event {
            Ok(event) => (event.channel_id.as_str(), event.conversation_id.as_str()),
            Err(_) => ("", ""),
        };
        let span = tracing::info_span!(
            "consume",
            consumer = name,
            sequence = self.sequence,
            channel_id,
            conversation_id
        );
        omnibus_telemetry::set_parent_from_nats(&span, self.headers.as_ref());
        span
    }
}
