//! The send plan: an outbound `MessageRequested` → the `send_message` bodies
//! Viber takes (providers.md §3.4), in the order they go out.
//!
//! Text goes first, then each attachment as its own message (Viber messages
//! carry one thing each). A picture with a short text goes as one picture
//! with its caption. Viber needs a file's and a video's size; without one
//! the file is sent as its link instead of being refused by Viber.

use omnibus_proto::{Attachment, AttachmentKind, MessageRequested};
use serde_json::{Map, Value, json};

/// Viber's limit on `sender.name`.
pub const MAX_SENDER_NAME_CHARS: usize = 28;
/// Viber's limit on a text message.
pub const MAX_TEXT_CHARS: usize = 7000;
/// Viber's limit on a picture's caption.
const MAX_CAPTION_CHARS: usize = 120;

/// Why a message cannot be sent to Viber as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the message has no text and no attachment")]
    Empty,
    #[error("viber has no message templates; send the text instead")]
    Template,
    #[error("the text is longer than viber's {MAX_TEXT_CHARS} characters")]
    TooLong,
    #[error("attachment {0} has no url to send")]
    NoUrl(usize),
    #[error("viber cannot send an attachment of kind {0:?}")]
    Unsupported(AttachmentKind),
}

/// `sender` of every message: the bot's name (cut to Viber's 28
/// characters, "Support" when the channel has none) and avatar.
pub fn sender(name: &str, avatar: &str) -> Value {
    let name = name.trim();
    let name: String = if name.is_empty() {
        "Support".to_owned()
    } else {
        name.chars().take(MAX_SENDER_NAME_CHARS).collect()
    };
    let mut sender = json!({ "name": name });
    if !avatar.trim().is_empty() {
        sender["avatar"] = json!(avatar.trim());
    }
    sender
}

/// The bodies to POST to `send_message`, in order.
pub fn plan(
    request: &MessageRequested,
    bot_name: &str,
    bot_avatar: &str,
) -> Result<Vec<Value>, PlanError> {
    if request.template.is_some() {
        return Err(PlanError::Template);
    }
    if request.text.chars().count() > MAX_TEXT_CHARS {
        return Err(PlanError::TooLong);
    }
    let text = request.text.trim();
    if text.is_empty() && request.attachments.is_empty() {
        return Err(PlanError::Empty);
    }
    let base = Base {
        receiver: &request.provider_chat_id,
        sender: sender(bot_name, bot_avatar),
        tracking_data: &request.message_id,
    };
    let mut bodies = Vec::new();
    let captioned = match request.attachments.as_slice() {
        [only]
            if only.kind == AttachmentKind::Image as i32
                && text.chars().count() <= MAX_CAPTION_CHARS =>
        {
            Some(only)
        }
        _ => None,
    };
    if let Some(picture) = captioned {
        let url = url_of(picture, 0)?;
        bodies.push(base.body("picture", json!({ "media": url, "text": text })));
        return Ok(bodies);
    }
    if !text.is_empty() {
        bodies.push(base.body("text", json!({ "text": text })));
    }
    for (n, attachment) in request.attachments.iter().enumerate() {
        bodies.push(attachment_body(&base, attachment, n)?);
    }
    Ok(bodies)
}

/// What every body of one message shares.
struct Base<'a> {
    receiver: &'a str,
    sender: Value,
    tracking_data: &'a str,
}

impl Base<'_> {
    fn body(&self, kind: &str, fields: Value) -> Value {
        let mut body = Map::new();
        body.insert("receiver".into(), json!(self.receiver));
        body.insert("min_api_version".into(), json!(1));
        body.insert("sender".into(), self.sender.clone());
        body.insert("tracking_data".into(), json!(self.tracking_data));
        body.insert("type".into(), json!(kind));
        if let Value::Object(fields) = fields {
            body.extend(fields);
        }
        Value::Object(body)
    }
}

fn attachment_body(base: &Base<'_>, attachment: &Attachment, n: usize) -> Result<Value, PlanError> {
    let kind = AttachmentKind::try_from(attachment.kind).unwrap_or(AttachmentKind::Unspecified);
    match kind {
        AttachmentKind::Image => Ok(base.body(
            "picture",
            json!({ "media": url_of(attachment, n)?, "text": "" }),
        )),
        AttachmentKind::Location => {
            let place = attachment.location.clone().unwrap_or_default();
            Ok(base.body(
                "location",
                json!({ "location": { "lat": place.latitude, "lon": place.longitude } }),
            ))
        }
        AttachmentKind::Contact => {
            let card = attachment.contact.clone().unwrap_or_default();
            Ok(base.body(
                "contact",
                json!({ "contact": { "name": card.name, "phone_number": card.phone } }),
            ))
        }
        AttachmentKind::Sticker => match attachment.provider_file_id.trim().parse::<u64>() {
            Ok(sticker_id) => Ok(base.body("sticker", json!({ "sticker_id": sticker_id }))),
            Err(_) => Err(PlanError::Unsupported(kind)),
        },
        AttachmentKind::Video if attachment.size_bytes > 0 => Ok(base.body(
            "video",
            json!({ "media": url_of(attachment, n)?, "size": attachment.size_bytes }),
        )),
        AttachmentKind::Unspecified => Err(PlanError::Unsupported(kind)),
        // Files (and videos) with a known size go as files; without one,
        // as their link, which Viber shows with a preview.
        _ if attachment.size_bytes > 0 => Ok(base.body(
            "file",
            json!({
                "media": url_of(attachment, n)?,
                "size": attachment.size_bytes,
                "file_name": file_name(attachment),
            }),
        )),
        _ => Ok(base.body("url", json!({ "media": url_of(attachment, n)? }))),
    }
}

fn url_of(attachment: &Attachment, n: usize) -> Result<&str, PlanError> {
    let url = attachment.url.trim();
    if url.is_empty() {
        Err(PlanError::NoUrl(n))
    } else {
        Ok(url)
    }
}

fn file_name(attachment: &Attachment) -> String {
    if !attachment.file_name.trim().is_empty() {
        return attachment.file_name.trim().to_owned();
    }
    attachment
        .url
        .rsplit('/')
        .next()
        .and_then(|last| last.split('?').next())
        .filter(|name| !name.is_empty())
        .unwrap_or("file")
        .to_owned()
}

#[cfg(test)]
mod tests;
