//! The type of a Telegram message Omnibus cannot show: the first field of
//! the message that carries content this crate does not model (`poll`,
//! `dice`, `game`, `new_chat_members`, …), for the kit's notice
//! (`omnibus_ingress::unshown`).

use crate::wire::Message;

/// Fields that describe a message rather than being its content.
const METADATA: &[&str] = &[
    "message_thread_id",
    "forward_origin",
    "forward_from",
    "forward_from_chat",
    "forward_from_message_id",
    "forward_signature",
    "forward_sender_name",
    "forward_date",
    "is_topic_message",
    "is_automatic_forward",
    "has_protected_content",
    "is_from_offline",
    "author_signature",
    "via_bot",
    "reply_markup",
    "entities",
    "caption_entities",
    "link_preview_options",
    "has_media_spoiler",
    "show_caption_above_media",
    "external_reply",
    "quote",
    "reply_to_story",
    "sender_boost_count",
    "sender_business_bot",
    "business_connection_id",
    "effect_id",
];

/// The name of what `message` carries, or `unknown`.
pub(crate) fn kind(message: &Message) -> &str {
    message
        .other
        .iter()
        .find(|(key, value)| !METADATA.contains(&key.as_str()) && !value.is_null())
        .map(|(key, _)| key.as_str())
        .unwrap_or("unknown")
}
