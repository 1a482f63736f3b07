//! The messenger kit: what every messenger's ingress shares, run once.
//!
//! A messenger implements [`Messenger`] (verification, normalization, the
//! send plan and call, the error table, the channel check, templates);
//! [`Ingress`] runs the rest: the webhook router (body limit, answers,
//! metrics), the outbound worker (retries, per-conversation order,
//! outcomes, flagging channels whose credentials are refused), the setup
//! and template responders, and a provider client that keeps credentials
//! out of errors.
//!
//! # Layout
//! - [`messenger`] — the trait and the webhook types it speaks
//! - [`provider`] — provider error classes and the per-channel client
//! - [`retry`] — bounded retries of provider requests
//! - [`runtime`] — [`Ingress`]: wiring the pieces for one messenger
//! - `router`, `send` — the webhook route and the outbound worker
//! - [`directory`] — the channels of one messenger, with their credentials,
//!   kept current from the stream (read-your-writes on a miss)
//! - [`media`] — inbound files: fetched on request for `GET /media`, copied
//!   at receipt where the provider's links expire
//! - [`lenient`] — serde helpers for fields providers spell several ways
//! - [`webhook`] — webhook answers (200/400/401/403/404/413/503) and storing
//!   normalized events before answering
//! - [`setup`] — answering the conversations service's channel checks
//! - [`rpc`] — answering other services' requests over core NATS
//! - [`outcome`] — recording delivery results of outbound messages
//! - [`unshown`] — the notice for a message of a kind Omnibus cannot show,
//!   and its metric

pub mod directory;
pub mod lenient;
pub mod media;
pub mod messenger;
pub mod outcome;
pub mod provider;
pub mod retry;
pub mod rpc;
pub mod runtime;
pub mod setup;
pub mod unshown;
pub mod webhook;

mod router;
mod send;

pub use directory::ChannelDirectory;
pub use messenger::{
    Answer, Inbound, MediaCall, MediaDownload, Messenger, Routed, Verdict, Webhook,
};
pub use provider::{Call, Download, Downloaded, Provider, ProviderError};
pub use retry::RetryPolicy;
pub use runtime::{Context, Ingress, KitConfig};
pub use webhook::{BODY_LIMIT, WebhookError};
