//! Nested protobuf values stored as base64 text columns.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use prost::Message;

/// Encodes a protobuf value for a text column.
pub fn encode<M: Message>(value: &M) -> String {
    STANDARD.encode(value.encode_to_vec())
}

/// Decodes a text column; a damaged value decodes as the default.
pub fn decode<M: Message + Default>(text: &str) -> M {
    STANDARD
        .decode(text)
        .ok()
        .and_then(|bytes| M::decode(bytes.as_slice()).ok())
        .unwrap_or_default()
}

/// Attachments are a repeated field; stored through a wrapper message.
#[derive(Clone, PartialEq, Message)]
pub struct Attachments {
    /// The attachments of one message.
    #[prost(message, repeated, tag = "1")]
    pub items: Vec<omnibus_proto::Attachment>,
}
