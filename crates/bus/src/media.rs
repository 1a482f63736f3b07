//! The media buckets: JetStream object stores that carry attachment files
//! between the ingress that fetches them from the provider and the service
//! that streams them to `GET /media/<message_id>/<n>`, whatever process each
//! runs in. Files are chunked (128 KiB), so a file far above NATS's
//! `max_payload` fits.
//!
//! - the cache bucket keeps on-demand fetches for a short while, so repeated
//!   GETs do not reach the provider each time;
//! - the keep bucket holds the copies taken at receipt for messengers whose
//!   links expire (Instagram), for the retention period.

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream::object_store::{self, Object, ObjectMetadata, ObjectStore};

use crate::{Bus, BusError};

/// Metadata key of a stored file's mime type.
pub const MIME_TYPE: &str = "mime_type";
/// Metadata key of a stored file's name.
pub const FILE_NAME: &str = "file_name";

/// How long the media buckets keep files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaRetention {
    /// On-demand fetches (`OMNIBUS_MEDIA_CACHE_SECONDS`).
    pub cache: Duration,
    /// Copies taken at receipt (`OMNIBUS_MEDIA_RETENTION_DAYS`).
    pub keep: Duration,
}

impl Default for MediaRetention {
    fn default() -> Self {
        Self {
            cache: Duration::from_secs(600),
            keep: Duration::from_secs(90 * 24 * 3600),
        }
    }
}

/// Which media bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shelf {
    /// Short-lived copies of on-demand fetches.
    Cache,
    /// Copies taken at receipt, kept for the retention period.
    Keep,
}

/// A file to store.
#[derive(Debug, Clone, Default)]
pub struct MediaFile {
    /// The bytes.
    pub bytes: bytes::Bytes,
    /// Its mime type, empty when unknown.
    pub mime_type: String,
    /// Its file name, empty when unknown.
    pub file_name: String,
}

/// A stored file being read.
pub struct StoredMedia {
    /// The reader of its bytes.
    pub object: Object,
    /// Its size in bytes.
    pub size: u64,
    /// Its mime type, empty when unknown.
    pub mime_type: String,
    /// Its file name, empty when unknown.
    pub file_name: String,
}

/// Both media buckets of a stream.
#[derive(Clone)]
pub struct MediaBuckets {
    cache: ObjectStore,
    keep: ObjectStore,
    cache_name: String,
    keep_name: String,
    retention: MediaRetention,
}

/// The object name of attachment `index` of `message_id`.
pub fn object_name(message_id: &str, index: u32) -> String {
    format!("{message_id}/{index}")
}

impl MediaBuckets {
    /// Opens the buckets of `bus`'s stream, creating them when missing
    /// (`<STREAM>_MEDIA_CACHE`, `<STREAM>_MEDIA_KEEP`).
    pub async fn open(bus: &Bus, retention: MediaRetention) -> Result<Self, BusError> {
        let base = bucket_base(bus.stream_name());
        let cache_name = format!("{base}_MEDIA_CACHE");
        let keep_name = format!("{base}_MEDIA_KEEP");
        let cache = open_bucket(bus, &cache_name, retention.cache).await?;
        let keep = open_bucket(bus, &keep_name, retention.keep).await?;
        Ok(Self {
            cache,
            keep,
            cache_name,
            keep_name,
            retention,
        })
    }

    /// The bucket name of `shelf`, as requests name it.
    pub fn bucket_name(&self, shelf: Shelf) -> &str {
        match shelf {
            Shelf::Cache => &self.cache_name,
            Shelf::Keep => &self.keep_name,
        }
    }

    /// The shelf a bucket name names, if it is one of ours.
    pub fn shelf(&self, bucket: &str) -> Option<Shelf> {
        [Shelf::Cache, Shelf::Keep]
            .into_iter()
            .find(|shelf| self.bucket_name(*shelf) == bucket)
    }

    fn store(&self, shelf: Shelf) -> &ObjectStore {
        match shelf {
            Shelf::Cache => &self.cache,
            Shelf::Keep => &self.keep,
        }
    }

    fn max_age(&self, shelf: Shelf) -> Duration {
        match shelf {
            Shelf::Cache => self.retention.cache,
            Shelf::Keep => self.retention.keep,
        }
    }

    /// Stores `file` under `name` on `shelf`.
    pub async fn put(&self, shelf: Shelf, name: &str, file: &MediaFile) -> Result<(), BusError> {
        let mut metadata = HashMap::new();
        metadata.insert(MIME_TYPE.to_owned(), file.mime_type.clone());
        metadata.insert(FILE_NAME.to_owned(), file.file_name.clone());
        let meta = ObjectMetadata {
            name: name.to_owned(),
            metadata,
            ..Default::default()
        };
        let mut reader = file.bytes.as_ref();
        self.store(shelf)
            .put(meta, &mut reader)
            .await
            .map(|_| ())
            .map_err(BusError::unavailable)
    }

    /// True when `name` is stored on `shelf` and not about to expire.
    pub async fn has(&self, shelf: Shelf, name: &str) -> Result<bool, BusError> {
        Ok(self.info(shelf, name).await?.is_some())
    }

    async fn info(
        &self,
        shelf: Shelf,
        name: &str,
    ) -> Result<Option<object_store::ObjectInfo>, BusError> {
        use object_store::InfoErrorKind;
        match self.store(shelf).info(name).await {
            Ok(info) if info.deleted || !self.fresh(shelf, &info) => Ok(None),
            Ok(info) => Ok(Some(info)),
            Err(err) if err.kind() == InfoErrorKind::NotFound => Ok(None),
            Err(err) => Err(BusError::unavailable(err)),
        }
    }

    /// Chunks age out before the object's description does: an object
    /// close to the bucket's age limit counts as gone, so a reader never
    /// starts on one whose chunks are disappearing.
    fn fresh(&self, shelf: Shelf, info: &object_store::ObjectInfo) -> bool {
        let max_age = self.max_age(shelf);
        let margin = (max_age / 10).min(Duration::from_secs(60));
        let modified_ms = info
            .modified
            .map_or(0, |m| (m.unix_timestamp_nanos() / 1_000_000) as i64);
        let age_ms = omnibus_core::now_ms() - modified_ms;
        age_ms >= 0 && (age_ms as u128) < (max_age - margin).as_millis()
    }

    /// Opens `name` on `shelf` for reading, when it is stored.
    pub async fn get(&self, shelf: Shelf, name: &str) -> Result<Option<StoredMedia>, BusError> {
        use object_store::GetErrorKind;
        let Some(info) = self.info(shelf, name).await? else {
            return Ok(None);
        };
        let object = match self.store(shelf).get(name).await {
            Ok(object) => object,
            Err(err) if err.kind() == GetErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(BusError::unavailable(err)),
        };
        let field = |key: &str| info.metadata.get(key).cloned().unwrap_or_default();
        Ok(Some(StoredMedia {
            size: info.size as u64,
            mime_type: field(MIME_TYPE),
            file_name: field(FILE_NAME),
            object,
        }))
    }
}

/// Bucket names allow `[A-Za-z0-9_-]` only.
fn bucket_base(stream: &str) -> String {
    stream
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' => c,
            _ => '_',
        })
        .collect()
}

async fn open_bucket(bus: &Bus, name: &str, max_age: Duration) -> Result<ObjectStore, BusError> {
    let js = bus.jetstream();
    if let Ok(store) = js.get_object_store(name).await {
        keep_max_age(bus, name, max_age).await;
        return Ok(store);
    }
    let config = object_store::Config {
        bucket: name.to_owned(),
        description: Some("attachment files of Omnibus messages (GET /media)".into()),
        max_age,
        max_bytes: -1,
        num_replicas: bus.replicas(),
        ..Default::default()
    };
    match js.create_object_store(config).await {
        Ok(store) => Ok(store),
        // Another process created it first.
        Err(create) => js
            .get_object_store(name)
            .await
            .map_err(|_| BusError::jetstream(create)),
    }
}

/// A changed retention setting applies to the existing bucket too (its
/// stream's `max_age`); a failure only keeps the old age, with a warning.
async fn keep_max_age(bus: &Bus, name: &str, max_age: Duration) {
    let js = bus.jetstream();
    let updated = async {
        let mut stream = js.get_stream(format!("OBJ_{name}")).await?;
        let mut config = stream.info().await?.config.clone();
        if config.max_age != max_age {
            config.max_age = max_age;
            js.update_stream(config).await?;
        }
        Ok::<_, async_nats::Error>(())
    };
    if let Err(err) = updated.await {
        tracing::warn!(bucket = name, error = %err, "cannot update the media bucket's age limit");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_for_buckets_and_objects() {
        assert_eq!(bucket_base("OMNIBUS"), "OMNIBUS");
        assert_eq!(bucket_base("a.b c"), "a_b_c");
        assert_eq!(object_name("msg_1", 2), "msg_1/2");
    }
}
