//! Key-value buckets on the stream's JetStream: small shared state that
//! several replicas read and that outlives a restart (the lease holders, the
//! Wazzup message each of our sends became).

use std::time::Duration;

use async_nats::jetstream::{kv, stream};

use crate::{Bus, BusError};

pub use async_nats::jetstream::kv::Store;

/// The longest duplicate window of a bucket's stream.
const MAX_DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// Opens (or creates) the bucket `<STREAM>_<name>`, one value per key,
/// entries living `max_age`. The bucket's stream is created by hand:
/// async-nats's `create_key_value` first asks for account limits in a shape
/// nats-server 2.9 does not answer. Same layout as a KV bucket.
pub async fn open(
    bus: &Bus,
    name: &str,
    description: &str,
    max_age: Duration,
) -> Result<kv::Store, BusError> {
    let bucket = format!("{}_{name}", bus.stream_name());
    let jetstream = bus.jetstream();
    let stream = stream::Config {
        name: format!("KV_{bucket}"),
        description: Some(description.to_owned()),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        max_age,
        storage: stream::StorageType::File,
        num_replicas: bus.replicas(),
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        duplicate_window: max_age.min(MAX_DUPLICATE_WINDOW),
        ..Default::default()
    };
    jetstream
        .get_or_create_stream(stream)
        .await
        .map_err(BusError::jetstream)?;
    jetstream
        .get_key_value(&bucket)
        .await
        .map_err(BusError::jetstream)
}

/// True for a key a bucket accepts as it is (`[A-Za-z0-9_=-]`, not too long).
pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 256
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='))
}
