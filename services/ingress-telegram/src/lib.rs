//! Telegram on the messenger kit (`omnibus-ingress`): Bot API webhook
//! updates become Omnibus events; outbound messages go through the Bot API.
//!
//! # Layout
//! - [`wire`]: serde types of the Telegram `Update` and the tolerant parser
//! - [`normalize`]: `Update` → `omnibus.v1.Event` (`MessageReceived`, `MessageEdited`),
//!   button presses, reactions, membership changes and service messages included
//! - [`webhook`]: the secret-token header check
//! - [`compose`]: an outbound message → Bot API requests
//! - [`errors`]: Telegram's answers → what the kit does next
//! - [`botapi`]: `getMe`, `setWebhook` and the send call
//! - `setup`: the channel check (token, secret, webhook registration)
//! - `registration`: existing channels' webhook registrations kept current
//! - `callback`: answering button presses (`answerCallbackQuery`)
//! - [`messenger`]: [`Telegram`], the kit's trait for all of the above

pub mod botapi;
pub mod compose;
pub mod errors;
pub mod messenger;
pub mod normalize;
pub mod webhook;
pub mod wire;

mod callback;
mod registration;
mod setup;
mod unshown;

pub use messenger::Telegram;

/// A running Telegram ingress.
pub type IngressTelegram = omnibus_ingress::Ingress<Telegram>;
