//! Bus configuration, read once by the binary from the environment.

use std::time::Duration;

/// How to reach NATS and how the stream is set up.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// `OMNIBUS_NATS_URL`.
    pub nats_url: String,
    /// `OMNIBUS_STREAM`; subjects are `<lowercased name>.>`.
    pub stream: String,
    /// Stream replicas: 1 on one machine, 3 in a JetStream cluster.
    pub replicas: usize,
    /// How long JetStream remembers message ids to drop duplicates. Projections
    /// are idempotent by event id as well, so this only needs to cover retries.
    pub duplicate_window: Duration,
    /// How long a publish waits for the stream's acknowledgement.
    pub publish_timeout: Duration,
    /// Shown in `nats server report connections`.
    pub connection_name: String,
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            nats_url: "nats://127.0.0.1:4222".into(),
            stream: "OMNIBUS".into(),
            replicas: 1,
            duplicate_window: Duration::from_secs(10 * 60),
            publish_timeout: Duration::from_secs(3),
            connection_name: "omnibus".into(),
        }
    }
}
