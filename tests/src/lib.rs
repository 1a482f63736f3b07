//! A sandbox that runs the whole of Omnibus in-process against a real
//! `nats-server -js`, a real SQLite or PostgreSQL database, and a Telegram
//! Bot API stand-in, for end-to-end tests and benchmarks.
//!
//! # Layout
//! - [`browser`] — headless Chromium over WebDriver, for the console
//! - [`child`] — the binary as a child process, for `kill -9`
//! - [`sandbox`]: [`Sandbox`], its options and clients
//! - [`telegram`]: building and posting Telegram updates
//! - [`whatsapp`]: WhatsApp channels on a Graph stand-in, signed webhooks

pub mod browser;
pub mod child;
pub mod sandbox;
pub mod telegram;
pub mod whatsapp;

pub use sandbox::{Sandbox, SandboxOptions};
