//! Real dependencies for tests, each on a private port or in a private
//! directory and cleaned up on `Drop`, so tests run in parallel against the
//! same software production uses.
//!
//! Tests panic (with what to do about it) when a dependency is missing:
//! silently skipping would let CI pass without testing anything.
//!
//! # Layout
//!
//! - `nats`: [`NatsServer`], a `nats-server -js` child process.
//! - `database`: [`TestDatabase`], a throwaway SQLite file or PostgreSQL database.
//! - [`fuzz`]: proptest strategies for webhook parsers: random bytes,
//!   random JSON, and mutations of a real payload.
//! - `wait`: [`wait_until`] (bounded polling instead of sleeps) and [`free_port`].

mod database;
pub mod fuzz;
mod nats;
mod wait;

pub use database::{DatabaseKind, ENV_TEST_POSTGRES_URL, TestDatabase};
pub use nats::{MAX_PAYLOAD as NATS_MAX_PAYLOAD, NatsServer};
pub use wait::{free_port, wait_until};
