//! The event bus: one JetStream stream is the source of truth for Omnibus.
//!
//! Publishing stores an [`Event`](omnibus_proto::Event) with its id as the
//! `Nats-Msg-Id`, so a retried publish inside the duplicate window is dropped
//! by the server. Consuming comes in two shapes:
//! - [`projection`] — one ordered, batched reader per projection, positioned
//!   from the projection's own checkpoint, so a dropped or lagging database is
//!   rebuilt by replay and nothing is applied twice;
//! - [`worker`] — concurrent processing of commands (e.g. outbound sends),
//!   ordered per conversation, acked one by one after the side effect.
//!
//! Events a consumer cannot apply are parked on `<prefix>.dlq.<consumer>` with
//! the error, never dropped silently.
//!
//! # Layout
//! - [`config`] — [`BusConfig`]
//! - [`subjects`] — the subject scheme
//! - [`bus`] — [`Bus`], connection, stream setup and publishing
//! - [`headers`] — [`header_safe`]: header values that never break a publish
//! - [`projection`] — [`run_projection`] and the [`Projection`] trait
//! - [`precedence`] — [`Precedence`]: what operators read catches up first
//! - [`worker`] — [`run_worker`]
//! - [`media`] — [`MediaBuckets`]: the object stores carrying attachment files
//! - [`lease`] — [`Leases`]: one replica at a time for jobs that must not run twice
//! - [`bucket`] — key-value buckets: shared state that outlives a restart
//! - [`error`] — [`BusError`]

pub mod bucket;
pub mod bus;
pub mod config;
pub mod error;
pub mod headers;
pub mod lease;
pub mod media;
pub mod precedence;
pub mod projection;
pub mod snapshots;
pub mod subjects;
pub mod worker;

pub use bus::{Bus, Delivery, Published};
pub use config::BusConfig;
pub use error::BusError;
pub use headers::header_safe;
pub use lease::{Lease, Leases};
pub use media::{MediaBuckets, MediaFile, MediaRetention, Shelf, StoredMedia};
pub use precedence::Precedence;
pub use projection::{Projection, ProjectionError, ProjectionOptions, Rejected, run_projection};
pub use subjects::Subjects;
pub use worker::{WorkError, WorkerConfig, run_worker};
