//! WhatsApp Cloud API on the messenger kit (`omnibus-ingress`): Meta's
//! webhooks become Omnibus events; outbound messages and templates go
//! through the Graph API.
//!
//! # Layout
//! - [`wire`]: serde types of the webhook and the tolerant parser
//! - [`signature`]: `X-Hub-Signature-256` over the raw body
//! - [`normalize`]: webhook → events (`MessageReceived`,
//!   `DeliveryStatusChanged`, `TemplateChanged`), one per message or status
//! - `webhook`: the `GET` handshake and the signature check
//! - [`graph`]: Graph API calls and its error table
//! - [`compose`]: an outbound message → Cloud API request bodies
//! - `setup`, `templates`: the channel check and the template fetch
//! - [`messenger`]: [`Whatsapp`], the kit's trait for all of the above

pub mod compose;
pub mod graph;
pub mod messenger;
pub mod normalize;
pub mod signature;
pub mod wire;

mod setup;
mod templates;
/// Meta's handshake and signature check, shared with Instagram.
pub mod webhook;

pub use messenger::{DEFAULT_API_BASE, Whatsapp};
pub use normalize::other::template_status_of;

/// A running WhatsApp ingress.
pub type IngressWhatsapp = omnibus_ingress::Ingress<Whatsapp>;
