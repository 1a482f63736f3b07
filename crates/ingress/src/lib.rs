//! What every messenger's ingress service shares.
//!
//! # Layout
//! - [`directory`] — the channels of one messenger, with their credentials,
//!   kept current from the stream (read-your-writes on a miss)
//! - [`lenient`] — serde helpers for fields providers spell several ways
//! - [`webhook`] — webhook answers (200/400/401/403/404/413/503) and storing
//!   normalized events before answering
//! - [`setup`] — answering the conversations service's channel checks
//! - [`rpc`] — answering other services' requests over core NATS
//! - [`outcome`] — recording delivery results of outbound messages

pub mod directory;
pub mod lenient;
pub mod outcome;
pub mod rpc;
pub mod setup;
pub mod webhook;

pub use directory::ChannelDirectory;
pub use webhook::{BODY_LIMIT, WebhookError};
