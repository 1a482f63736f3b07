//! Telegram ingress: turns Bot API webhook updates into Omnibus events and
//! delivers outbound messages through the Bot API.
//!
//! # Layout
//! - [`wire`]: serde types of the Telegram `Update` and the tolerant parser
//! - [`normalize`]: `Update` → `omnibus.v1.Event` (`MessageReceived`, `MessageEdited`)
//! - [`client`]: the Bot API client (`getMe`, `setWebhook`, sends) with error
//!   classification and retries

pub mod client;
pub mod service;
pub mod webhook;

mod outbound;
mod setup;

pub use service::{Config, IngressTelegram};
pub mod normalize;
pub mod wire;
