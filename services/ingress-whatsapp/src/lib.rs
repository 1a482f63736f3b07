//! WhatsApp Cloud API ingress: turns Meta's webhooks into Omnibus events and
//! delivers outbound messages and templates through the Graph API.
//!
//! # Layout
//! - [`wire`]: serde types of the webhook and the tolerant parser
//! - [`signature`]: `X-Hub-Signature-256` over the raw body
//! - [`normalize`]: webhook → events (`MessageReceived`,
//!   `DeliveryStatusChanged`, `TemplateChanged`), one per message or status
//! - `webhook`: the `GET` handshake and `POST` deliveries
//! - [`graph`]: the Graph API client and its error classes
//! - [`compose`]: an outbound message → Cloud API request bodies
//! - [`retry`]: bounded retries of throttled and failed sends
//! - `outbound`: the send worker and its outcomes
//! - `setup`, `templates`: the channel-check and template-fetch responders
//! - [`service`]: [`IngressWhatsapp`] wiring it all together

pub mod compose;
pub mod graph;
pub mod normalize;
pub mod retry;
pub mod service;
pub mod signature;
pub mod wire;

mod outbound;
mod setup;
mod templates;
mod webhook;

pub use normalize::other::template_status_of;
pub use service::{Config, DEFAULT_API_BASE, IngressWhatsapp};
