//! Instagram messaging ingress: turns Meta's Instagram webhooks (Direct and
//! comments under posts) into Omnibus events and plans sends through the
//! Graph Send API.
//!
//! # Layout
//! - [`wire`]: serde types of the webhook and the tolerant parser
//! - [`verify`]: the `GET` handshake and `X-Hub-Signature-256` (WhatsApp's)
//! - [`normalize`]: webhook → events; [`normalize::direct`] for Direct,
//!   [`normalize::comment`] for comments
//! - [`compose`]: an outbound message → Graph calls (Direct, public and
//!   private comment replies, the HUMAN_AGENT tag)
//! - [`permalink`]: the links of commented posts, looked up and cached
//! - [`errors`]: Graph's answers → retry, window, token, or a reason
//! - [`messenger`]: [`Instagram`], the kit's trait for all of the above

pub mod compose;
pub mod errors;
pub mod messenger;
pub mod normalize;
pub mod permalink;
pub mod verify;
pub mod wire;

pub use messenger::Instagram;

/// The Instagram ingress service.
pub type IngressInstagram = omnibus_ingress::Ingress<Instagram>;

/// The Graph API version every path starts with.
pub const GRAPH_VERSION: &str = "v21.0";
/// The default provider base URL (`OMNIBUS_INSTAGRAM_API_BASE`).
pub const DEFAULT_API_BASE: &str = "https://graph.facebook.com";

#[cfg(test)]
mod fuzz;
