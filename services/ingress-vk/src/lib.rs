//! VK ingress: turns VK Callback API notifications into Omnibus events and
//! delivers outbound messages through `messages.send`.
//!
//! # Layout
//! - [`wire`]: serde types of the notifications and the tolerant parser
//! - [`verify`]: the `secret` field, and the `confirmation` answer
//! - [`normalize`]: notification → events (messages, echoes, permissions,
//!   read receipts, comment threads)
//! - [`plan`]: an outbound message → `messages.send` (or comment) parameters,
//!   with a `random_id` derived from Omnibus's message id
//! - [`errors`]: VK's error codes → retry, fail, flag the channel
//! - [`messenger`]: [`Vk`] on the messenger kit, with the channel check
//!   (`groups.getById`)

pub mod errors;
pub mod messenger;
pub mod normalize;
pub mod plan;
pub mod verify;
pub mod wire;

pub use messenger::Vk;

#[cfg(test)]
mod fuzz;
