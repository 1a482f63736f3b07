//! Turns an outbound message into the Cloud API request bodies that deliver
//! it (providers.md §1.6), or refuses it before anything is sent, so a bad
//! second attachment never leaves half a message.
//!
//! - a template goes alone, as `type: template` with body parameters
//!   (positional `{{1}}`…, or named with `parameter_name`);
//! - attachments go by link, one request each, the text as the caption of
//!   the first that takes one (image, video, document), or as a text first;
//! - text alone goes as `type: text`.
//!
//! The reply context goes on the first request. A customer is addressed by
//! phone (`to`) or, without a known phone, by business-scoped user id
//! (`recipient`); a group by `recipient_type: group` (see `address`).

use omnibus_proto::{Attachment, AttachmentKind, MessageRequested, TemplateRef};
use serde_json::{Value, json};

/// The Cloud API's limit on `text.body`.
pub const MAX_TEXT_CHARS: usize = 4096;
/// The Cloud API's limit on media captions.
pub const MAX_CAPTION_CHARS: usize = 1024;

/// Why a message cannot be sent as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    #[error("the message has no recipient")]
    NoRecipient,
    #[error("nothing to send: no text, attachment or template")]
    Empty,
    #[error("the text is longer than WhatsApp's {MAX_TEXT_CHARS} characters")]
    TooLong,
    #[error("attachment {0} has no url to send")]
    NoUrl(String),
    #[error("WhatsApp cannot send a {0} attachment")]
    Unsupported(String),
}

/// The request bodies of `request`, in order.
pub fn plan(request: &MessageRequested) -> Result<Vec<Value>, ComposeError> {
    let to = request.provider_chat_id.trim().trim_start_matches('+');
    if to.is_empty() {
        return Err(ComposeError::NoRecipient);
    }
    let mut bodies = match request.template.as_ref().filter(|t| !t.name.is_empty()) {
        Some(template) => vec![template_body(template)],
        None => content_bodies(request)?,
    };
    if bodies.is_empty() {
        return Err(ComposeError::Empty);
    }
    let address = address(to);
    if matches!(address, Address::Group("")) {
        return Err(ComposeError::NoRecipient);
    }
    for body in &mut bodies {
        body["messaging_product"] = json!("whatsapp");
        match &address {
            Address::Phone(phone) => {
                body["recipient_type"] = json!("individual");
                body["to"] = json!(phone);
            }
            Address::User(user_id) => {
                body["recipient_type"] = json!("individual");
                body["recipient"] = json!(user_id);
            }
            Address::Group(group_id) => {
                body["recipient_type"] = json!("group");
                body["to"] = json!(group_id);
            }
        }
    }
    let reply_to = request.reply_to_provider_message_id.trim();
    if !reply_to.is_empty() {
        bodies[0]["context"] = json!({ "message_id": reply_to });
    }
    Ok(bodies)
}

/// Where a conversation's messages go, by the shape of its chat key.
enum Address<'a> {
    /// A phone number: `to`.
    Phone(&'a str),
    /// A business-scoped user id, for a customer whose phone WhatsApp
    /// withholds: `recipient` (Meta: `to` is for phone numbers only).
    User(&'a str),
    /// A group the business is in: `recipient_type: group`, `to` the group.
    Group(&'a str),
}

fn address(chat: &str) -> Address<'_> {
    if let Some(group) = chat.strip_prefix(crate::normalize::GROUP_PREFIX) {
        Address::Group(group)
    } else if chat.bytes().all(|b| b.is_ascii_digit()) {
        Address::Phone(chat)
    } else {
        Address::User(chat)
    }
}

fn content_bodies(request: &MessageRequested) -> Result<Vec<Value>, ComposeError> {
    let text = request.text.as_str();
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ComposeError::TooLong);
    }
    let mut bodies = Vec::with_capacity(request.attachments.len() + 1);
    let captioned = request
        .attachments
        .first()
        .is_some_and(|a| takes_caption(a) && text.chars().count() <= MAX_CAPTION_CHARS);
    if !text.is_empty() && !captioned {
        bodies.push(json!({ "type": "text", "text": { "preview_url": false, "body": text } }));
    }
    for (index, attachment) in request.attachments.iter().enumerate() {
        let caption = if index == 0 && captioned { text } else { "" };
        bodies.push(attachment_body(attachment, caption)?);
    }
    Ok(bodies)
}

fn takes_caption(attachment: &Attachment) -> bool {
    matches!(
        attachment.kind(),
        AttachmentKind::Image
            | AttachmentKind::Video
            | AttachmentKind::Animation
            | AttachmentKind::Document
    )
}

fn attachment_body(attachment: &Attachment, caption: &str) -> Result<Value, ComposeError> {
    let kind = attachment.kind();
    let media_type = match kind {
        AttachmentKind::Image => "image",
        AttachmentKind::Video | AttachmentKind::Animation | AttachmentKind::VideoNote => "video",
        AttachmentKind::Audio | AttachmentKind::Voice => "audio",
        AttachmentKind::Document | AttachmentKind::Unspecified => "document",
        AttachmentKind::Sticker => "sticker",
        AttachmentKind::Location => return location_body(attachment),
        AttachmentKind::Contact => return contact_body(attachment),
    };
    let mut media = if !attachment.url.trim().is_empty() {
        json!({ "link": attachment.url.trim() })
    } else if !attachment.provider_file_id.trim().is_empty() {
        json!({ "id": attachment.provider_file_id.trim() })
    } else {
        return Err(ComposeError::NoUrl(kind.as_str_name().to_owned()));
    };
    if !caption.is_empty() {
        media["caption"] = json!(caption);
    }
    if media_type == "document" && !attachment.file_name.is_empty() {
        media["filename"] = json!(attachment.file_name);
    }
    let mut body = json!({ "type": media_type });
    body[media_type] = media;
    Ok(body)
}

fn location_body(attachment: &Attachment) -> Result<Value, ComposeError> {
    let location = attachment
        .location
        .as_ref()
        .ok_or_else(|| ComposeError::Unsupported("location without coordinates".into()))?;
    let mut place = json!({ "latitude": location.latitude, "longitude": location.longitude });
    if !location.title.is_empty() {
        place["name"] = json!(location.title);
    }
    if !location.address.is_empty() {
        place["address"] = json!(location.address);
    }
    Ok(json!({ "type": "location", "location": place }))
}

fn contact_body(attachment: &Attachment) -> Result<Value, ComposeError> {
    let contact = attachment
        .contact
        .as_ref()
        .filter(|c| !c.phone.is_empty())
        .ok_or_else(|| ComposeError::Unsupported("contact without a phone".into()))?;
    let name = if contact.name.is_empty() {
        contact.phone.clone()
    } else {
        contact.name.clone()
    };
    let mut phone = json!({ "phone": contact.phone, "type": "CELL" });
    if !contact.provider_user_id.is_empty() {
        phone["wa_id"] = json!(contact.provider_user_id);
    }
    let card = json!({ "name": { "formatted_name": name, "first_name": name }, "phones": [phone] });
    Ok(json!({ "type": "contacts", "contacts": [card] }))
}

/// `type: template`. The language arrives filled in by the window service;
/// named parameters go in name order so the body is deterministic.
fn template_body(template: &TemplateRef) -> Value {
    let mut parameters: Vec<Value> = template
        .parameters
        .iter()
        .map(|text| json!({ "type": "text", "text": text }))
        .collect();
    let mut named: Vec<(&String, &String)> = template.named_parameters.iter().collect();
    named.sort();
    parameters.extend(
        named
            .into_iter()
            .map(|(name, text)| json!({ "type": "text", "parameter_name": name, "text": text })),
    );
    let mut body = json!({
        "name": template.name,
        "language": { "code": template.language },
    });
    if !parameters.is_empty() {
        body["components"] = json!([{ "type": "body", "parameters": parameters }]);
    }
    json!({ "type": "template", "template": body })
}

#[cfg(test)]
mod tests;
