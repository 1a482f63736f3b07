//! Turns an outbound message into the Bot API requests that deliver it
//! (providers.md §2): text alone through `sendMessage`, attachments through
//! `sendPhoto` / `sendDocument` one after another, with the text as the
//! caption of the first.

use omnibus_proto::{Attachment, AttachmentKind, MessageRequested};
use serde_json::{Value, json};

use crate::errors::{ApiError, local_rejection};

/// Telegram's limit on captions; longer text goes in a message of its own.
pub const MAX_CAPTION_CHARS: usize = 1024;

/// A message to deliver to one chat.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutboundMessage {
    /// Telegram's chat id (digits, possibly negative) or `@channelname`.
    pub chat_id: String,
    /// The text, or the caption of the first attachment. Telegram allows
    /// 4096 characters; callers refuse longer text before it gets here.
    pub text: String,
    /// Telegram's id of the message this one answers.
    pub reply_to_provider_message_id: Option<i64>,
    /// Files sent by `url` (or by Telegram `provider_file_id`), in order.
    pub attachments: Vec<Attachment>,
}

impl From<&MessageRequested> for OutboundMessage {
    fn from(request: &MessageRequested) -> Self {
        Self {
            chat_id: request.provider_chat_id.clone(),
            text: request.text.clone(),
            reply_to_provider_message_id: request.reply_to_provider_message_id.parse().ok(),
            attachments: request.attachments.clone(),
        }
    }
}

/// One Bot API request of a send.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The Bot API method (`sendMessage`, `sendPhoto`, `sendDocument`).
    pub method: &'static str,
    /// Its JSON body.
    pub body: Value,
}

/// Turns a message into the requests that deliver it, or refuses it before
/// anything is sent (so a bad second attachment never leaves half a message).
///
/// Text that does not fit a caption is sent first as a message of its own.
pub fn plan(msg: &OutboundMessage) -> Result<Vec<Request>, ApiError> {
    let chat_id = chat_id(&msg.chat_id);
    let mut calls = Vec::with_capacity(msg.attachments.len() + 1);
    let caption_fits = msg.text.chars().count() <= MAX_CAPTION_CHARS;
    let mut caption = if caption_fits { msg.text.as_str() } else { "" };
    if msg.attachments.is_empty() || !caption_fits {
        let body = json!({ "chat_id": chat_id, "text": msg.text });
        calls.push(Request {
            method: "sendMessage",
            body,
        });
    }
    for attachment in &msg.attachments {
        let (method, field) = media_method(attachment);
        let file = file_ref(attachment)?;
        let mut body = json!({ "chat_id": chat_id, field: file });
        if !caption.is_empty() {
            body["caption"] = json!(caption);
            caption = "";
        }
        calls.push(Request { method, body });
    }
    if let (Some(first), Some(reply_to)) = (calls.first_mut(), msg.reply_to_provider_message_id) {
        // Still deliver the answer if the customer deleted the original.
        first.body["reply_parameters"] =
            json!({ "message_id": reply_to, "allow_sending_without_reply": true });
    }
    Ok(calls)
}

/// Chat ids go out as JSON numbers when they are numbers, as Telegram
/// documents them; `@channelname` stays a string.
fn chat_id(chat_id: &str) -> Value {
    match chat_id.trim().parse::<i64>() {
        Ok(id) => json!(id),
        Err(_) => json!(chat_id),
    }
}

/// Images go as photos (Telegram shows them inline); every other file as a
/// document, which Telegram accepts for any type.
fn media_method(attachment: &Attachment) -> (&'static str, &'static str) {
    if attachment.kind() == AttachmentKind::Image {
        ("sendPhoto", "photo")
    } else {
        ("sendDocument", "document")
    }
}

/// The URL to fetch the file from, or a Telegram file id to re-send.
fn file_ref(attachment: &Attachment) -> Result<&str, ApiError> {
    [&attachment.url, &attachment.provider_file_id]
        .into_iter()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .ok_or_else(|| {
            local_rejection(&format!(
                "attachment {} has no url to send",
                attachment.kind().as_str_name()
            ))
        })
}

#[cfg(test)]
mod tests;
