//! Bus configuration, read once by the binary from the environment.

use std::path::PathBuf;
use std::time::Duration;

use omnibus_core::sealed::Keyring;

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
    /// `OMNIBUS_NATS_CREDS`: a NATS credentials file (user JWT and NKey
    /// seed) to authenticate with; user/password or a token may ride in
    /// the URL instead.
    pub credentials_file: Option<PathBuf>,
    /// `OMNIBUS_NATS_CA`: a PEM bundle of the CAs that signed the server's
    /// certificate. Set, the connection requires TLS.
    pub ca_file: Option<PathBuf>,
    /// `OMNIBUS_CREDENTIALS_KEY`: seals channel credentials and webhook
    /// secrets before they go on the stream; empty stores them in the clear.
    pub keyring: Keyring,
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
            credentials_file: None,
            ca_file: None,
            keyring: Keyring::default(),
        }
    }
}
