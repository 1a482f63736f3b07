//! Vocabulary shared by every Omnibus crate: deterministic ids, the error
//! code that maps to gRPC and HTTP in exactly one place, clocks, and small
//! helpers for the event envelope.
//!
//! # Layout
//! - [`ids`] — deterministic conversation, contact and message ids
//! - [`error`] — [`ErrorCode`] and its wire mappings
//! - [`clock`] — an injectable clock, so time-dependent logic is testable
//! - [`kind`] — channel kinds by name and messenger path segment
//! - [`secret`] — constant-time comparison of secrets
//! - [`sealed`] — [`Keyring`](sealed::Keyring): credentials encrypted at rest

pub mod clock;
pub mod error;
pub mod ids;
pub mod kind;
pub mod sealed;
pub mod secret;

pub use clock::{Clock, SystemClock, now_ms};
pub use error::ErrorCode;
