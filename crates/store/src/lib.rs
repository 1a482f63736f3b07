//! The SQL store behind every projection: one `sqlx::AnyPool` that speaks
//! SQLite (the embedded default) or PostgreSQL (production), a migration
//! runner that lets several services share one database, and the projection
//! checkpoints that commit in the same transaction as the state they guard.
//!
//! Portable SQL only: `$1, $2` placeholders, `TEXT`/`BIGINT`/`BLOB` columns,
//! times as unix milliseconds. The `Any` driver encodes nothing richer.
//!
//! # Layout
//!
//! - `error`: [`StoreError`] and its mapping to [`omnibus_core::ErrorCode`].
//! - `url`: which [`Backend`] a URL names and how it is opened.
//! - `store`: [`Store`], the pool handle (connect, ping, write transactions).
//! - `migrate`: [`Migration`] and the per-component runner.
//! - `checkpoint`: [`Store::checkpoint`] and [`save_checkpoint`].
//! - `params`: [`Placeholders`] for statements built at run time.
//! - `runner`: [`Runner`], the one projection loop (batch, savepoint,
//!   reject, checkpoint) that a projection's [`Rules`] plug into.
//! - `shot`: [`Shot`], a live event written in one round trip.
//! - `wal`: SQLite's WAL checkpoints, on a task of their own instead of
//!   inside a writer's commit.

mod checkpoint;
mod error;
mod kept;
mod migrate;
mod params;
mod runner;
mod shot;
mod store;
mod url;
mod wal;

pub use checkpoint::save_checkpoint;
pub use error::{StoreError, is_refusal};
pub use kept::{Kept, MOST_KEPT};
pub use migrate::Migration;
pub use params::{Placeholders, keep_prepared};
pub use runner::{
    AppliedInMemory, MAX_IN_MEMORY, MAX_JOINED_SHOTS, MAX_UNSAVED, Rules, Runner, Step,
};
pub use shot::{MAX_SHOTS_PER_TRIP, Param, Shot, execute_in_order};
pub use store::Store;
pub use url::{Backend, component_url};

/// Re-exported so callers name the same sqlx types as this crate.
pub use sqlx;
