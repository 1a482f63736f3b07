//! Turns an outbound message into the Graph Send API calls that deliver it
//! (providers.md §5.4), or refuses it before anything is sent.
//!
//! - Direct: `POST /{account}/messages` with `recipient.id`; text first,
//!   then one call per attachment (by link); `messaging_type: RESPONSE`, or
//!   `MESSAGE_TAG` + `HUMAN_AGENT` when the window service asked for the tag.
//! - Comment, public: `POST /{comment-id}/replies` with `message` (text only).
//! - Comment, private: `POST /{account}/messages` with
//!   `recipient.comment_id`, one text message in Direct.

use omnibus_proto::{AttachmentKind, CommentReply, MessageRequested};
use serde_json::{Value, json};

use crate::normalize::parse_comment_chat_id;

/// Instagram's limit on a message's text, in characters.
pub const MAX_TEXT_CHARS: usize = 1000;
/// Instagram's limit on a comment reply, in characters.
pub const MAX_COMMENT_CHARS: usize = 2200;

/// One Graph call: the path after the API version, and the JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// E.g. `17841400000000001/messages` or `17865799348089039/replies`.
    pub path: String,
    pub body: Value,
}

/// Why a message cannot be sent as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    #[error("the message has no recipient")]
    NoRecipient,
    #[error("nothing to send: no text or attachment")]
    Empty,
    #[error("the text is longer than Instagram's {0} characters")]
    TooLong(usize),
    #[error("attachment {0} has no url to send")]
    NoUrl(String),
    #[error("Instagram cannot send a {0} attachment")]
    Unsupported(String),
    #[error("answer a comment with text only: Instagram takes no attachments there")]
    CommentAttachment,
    #[error("say which comment to answer (reply_to_message_id)")]
    NoComment,
    #[error("templates are not sent on Instagram; send text")]
    Template,
}

/// The calls that deliver `request` for the account `account_id` (empty:
/// `me`, the token's own account).
pub fn plan(request: &MessageRequested, account_id: &str) -> Result<Vec<Call>, ComposeError> {
    if request
        .template
        .as_ref()
        .is_some_and(|t| !t.name.is_empty())
    {
        return Err(ComposeError::Template);
    }
    let account = if account_id.trim().is_empty() {
        "me"
    } else {
        account_id.trim()
    };
    let chat = request.provider_chat_id.trim();
    if chat.is_empty() {
        return Err(ComposeError::NoRecipient);
    }
    if parse_comment_chat_id(chat).is_some() {
        return comment_reply(request, account);
    }
    direct(request, account, chat)
}

fn direct(request: &MessageRequested, account: &str, to: &str) -> Result<Vec<Call>, ComposeError> {
    let text = request.text.as_str();
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ComposeError::TooLong(MAX_TEXT_CHARS));
    }
    let mut messages = Vec::new();
    if !text.is_empty() {
        messages.push(json!({ "text": text }));
    }
    for attachment in &request.attachments {
        let kind = attachment.kind();
        let media_type = match kind {
            AttachmentKind::Image | AttachmentKind::Sticker | AttachmentKind::Animation => "image",
            AttachmentKind::Video | AttachmentKind::VideoNote => "video",
            AttachmentKind::Audio | AttachmentKind::Voice => "audio",
            AttachmentKind::Document | AttachmentKind::Unspecified => "file",
            AttachmentKind::Location | AttachmentKind::Contact => {
                return Err(ComposeError::Unsupported(kind.as_str_name().to_owned()));
            }
        };
        let url = attachment.url.trim();
        if url.is_empty() {
            return Err(ComposeError::NoUrl(kind.as_str_name().to_owned()));
        }
        messages.push(json!({ "attachment": { "type": media_type, "payload": { "url": url } } }));
    }
    if messages.is_empty() {
        return Err(ComposeError::Empty);
    }
    let tagged = request.human_agent_tag;
    let reply_to = request.reply_to_provider_message_id.trim();
    Ok(messages
        .into_iter()
        .enumerate()
        .map(|(index, message)| {
            let mut body = json!({ "recipient": { "id": to }, "message": message });
            if tagged {
                body["messaging_type"] = json!("MESSAGE_TAG");
                body["tag"] = json!("HUMAN_AGENT");
            } else {
                body["messaging_type"] = json!("RESPONSE");
            }
            if index == 0 && !reply_to.is_empty() {
                body["reply_to"] = json!({ "mid": reply_to });
            }
            Call {
                path: format!("{account}/messages"),
                body,
            }
        })
        .collect())
}

/// A comment answered under itself (public) or in Direct (private). The
/// comment answered is the one replied to, resolved to Instagram's comment
/// id by the API (the customer's latest comment when none was named).
fn comment_reply(request: &MessageRequested, account: &str) -> Result<Vec<Call>, ComposeError> {
    if !request.attachments.is_empty() {
        return Err(ComposeError::CommentAttachment);
    }
    let comment = request.reply_to_provider_message_id.trim();
    if comment.is_empty() {
        return Err(ComposeError::NoComment);
    }
    let text = request.text.as_str();
    if text.is_empty() {
        return Err(ComposeError::Empty);
    }
    let private = request.comment_reply() == CommentReply::Private;
    let limit = if private {
        MAX_TEXT_CHARS
    } else {
        MAX_COMMENT_CHARS
    };
    if text.chars().count() > limit {
        return Err(ComposeError::TooLong(limit));
    }
    Ok(vec![if private {
        Call {
            path: format!("{account}/messages"),
            body: json!({ "recipient": { "comment_id": comment }, "message": { "text": text } }),
        }
    } else {
        Call {
            path: format!("{comment}/replies"),
            body: json!({ "message": text }),
        }
    }])
}

/// The provider's id of what a call created: `message_id` of the Send API,
/// `id` of a comment reply.
pub fn sent_id(answer: &Value) -> Option<String> {
    answer["message_id"]
        .as_str()
        .or_else(|| answer["id"].as_str())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests;
