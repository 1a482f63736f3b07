//! `GET /media` settings: the size cap and how long files are kept.

use std::time::Duration;

use omnibus_bus::MediaRetention;

use super::{ConfigError, number, problem};

/// `OMNIBUS_MEDIA_MAX_BYTES`: the largest attachment file `GET /media`
/// serves (default 25 MiB); larger ones answer 413.
pub const ENV_MEDIA_MAX_BYTES: &str = "OMNIBUS_MEDIA_MAX_BYTES";
/// `OMNIBUS_MEDIA_CACHE_SECONDS`: how long a file fetched from the provider
/// is served from the cache (default 600).
pub const ENV_MEDIA_CACHE_SECONDS: &str = "OMNIBUS_MEDIA_CACHE_SECONDS";
/// `OMNIBUS_MEDIA_RETENTION_DAYS`: how long the copies taken at receipt
/// (Instagram, whose links expire) are kept (default 90).
pub const ENV_MEDIA_RETENTION_DAYS: &str = "OMNIBUS_MEDIA_RETENTION_DAYS";

/// The media settings, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaSettings {
    /// The size cap.
    pub max_bytes: u64,
    /// How long the buckets keep files.
    pub retention: MediaRetention,
}

pub(super) fn media(get: &impl Fn(&str) -> Option<String>) -> Result<MediaSettings, ConfigError> {
    let max_bytes = number(get, ENV_MEDIA_MAX_BYTES, 25 * 1024 * 1024)?;
    let cache = number(get, ENV_MEDIA_CACHE_SECONDS, 600)?;
    let days = number(get, ENV_MEDIA_RETENTION_DAYS, 90)?;
    for (variable, value) in [
        (ENV_MEDIA_MAX_BYTES, max_bytes),
        (ENV_MEDIA_CACHE_SECONDS, cache),
        (ENV_MEDIA_RETENTION_DAYS, days),
    ] {
        if value == 0 {
            return Err(problem(variable, "must be at least 1"));
        }
    }
    if days > 36_500 {
        return Err(problem(ENV_MEDIA_RETENTION_DAYS, "at most 36500 days"));
    }
    Ok(MediaSettings {
        max_bytes,
        retention: MediaRetention {
            cache: Duration::from_secs(cache),
            keep: Duration::from_secs(days * 24 * 3600),
        },
    })
}
