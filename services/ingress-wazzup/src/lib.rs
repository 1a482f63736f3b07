//! Wazzup (wazzup24, public API v3) ingress. One Wazzup account (API key)
//! carries several transports (WhatsApp, WhatsApp groups, Instagram,
//! Telegram, VK, Viber, Avito) and numbers; each Wazzup channel the
//! operator picks is its own Omnibus channel (credential `channel_id`), and
//! the account's one webhook URL feeds them all.
//!
//! # Layout
//! - [`wire`]: serde types of the webhook and the tolerant parser
//! - [`verify`]: `Authorization: Bearer <webhook_token>`
//! - [`normalize`]: a delivery → events, messages routed by `channelId`
//!   ([`normalize::message`]), statuses by the message they refer to
//!   ([`normalize::status`])
//! - [`phone`]: `+7…`, `7…`, `8…` → E.164
//! - [`compose`]: an outbound message → `POST /v3/message` bodies
//! - [`errors`]: Wazzup's error codes and send answers, made readable
//! - [`channels`]: Wazzup's channel list, for `ListProviderChannels`
//! - [`messenger`]: [`Wazzup`], the kit's trait for all of the above
//! - [`provider_channels`]: the `ListProviderChannels` responder
//! - [`send_log`]: which Wazzup message each send became, kept in a bucket

pub mod channels;
pub mod compose;
pub mod errors;
pub mod messenger;
pub mod normalize;
pub mod phone;
pub mod provider_channels;
pub mod send_log;
pub mod verify;
pub mod wire;

pub use messenger::Wazzup;

/// The Wazzup ingress service.
pub type IngressWazzup = omnibus_ingress::Ingress<Wazzup>;

/// The default provider base URL (`OMNIBUS_WAZZUP_API_BASE`).
pub const DEFAULT_API_BASE: &str = "https://api.wazzup24.com";

#[cfg(test)]
mod fuzz;
