//! Viber ingress: turns Viber's REST bot API callbacks into Omnibus events
//! and delivers outbound messages through `send_message`.
//!
//! # Layout
//! - [`wire`]: serde types of the callbacks and the tolerant parser
//! - [`signature`]: `X-Viber-Content-Signature` over the raw body
//! - [`normalize`]: callback → events (`MessageReceived`,
//!   `DeliveryStatusChanged`) and the answer (the welcome message)
//! - [`plan`]: an outbound message → `send_message` bodies
//! - [`errors`]: Viber's `status` codes → retry, fail, flag the channel
//! - [`messenger`]: [`Viber`] on the messenger kit
//! - [`setup`]: the channel check (`get_account_info`, `set_webhook`)

pub mod errors;
pub mod messenger;
pub mod normalize;
pub mod plan;
pub mod setup;
pub mod signature;
pub mod wire;

pub use messenger::Viber;

#[cfg(test)]
mod fuzz;
