//! Turns an outbound message into `POST /v3/message` bodies (providers.md
//! §6.4), or refuses it before anything is sent.
//!
//! - A template (WABA transports) goes alone: `templateId` + `templateValues`.
//! - Otherwise the text goes first, then one body per attachment by
//!   `contentUri` (Wazzup takes text or `contentUri`, never both).
//! - `crmMessageId` is our message id (`<id>-<n>` for the n-th further
//!   part), so a retried send is refused by Wazzup as a repeat rather than
//!   doubled, and the echo is matched to our message.
//! - `refMessageId` (the quoted message) goes on the first body.

use omnibus_proto::MessageRequested;
use serde_json::{Value, json};

/// Why a message cannot be sent as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    #[error("the message has no recipient")]
    NoRecipient,
    #[error("the channel has no Wazzup channel_id")]
    NoChannel,
    #[error("nothing to send: no text, attachment or template")]
    Empty,
    #[error("the text is longer than {0} characters, the limit of {1} through Wazzup")]
    TooLong(usize, String),
    #[error("attachment {0} has no url to send")]
    NoUrl(String),
}

/// The text limit of a transport (Wazzup's send documentation).
pub fn max_text_chars(chat_type: &str) -> usize {
    match chat_type {
        "whatsapp" | "whatsgroup" => 10_000,
        "instagram" => 1000,
        _ => 4096,
    }
}

/// The bodies that deliver `request` through the Wazzup channel
/// `wazzup_channel_id`, in order.
pub fn plan(
    request: &MessageRequested,
    wazzup_channel_id: &str,
) -> Result<Vec<Value>, ComposeError> {
    if wazzup_channel_id.trim().is_empty() {
        return Err(ComposeError::NoChannel);
    }
    let (chat_type, chat_id) =
        split_chat(&request.provider_chat_id).ok_or(ComposeError::NoRecipient)?;
    let mut contents = Vec::new();
    if let Some(template) = request.template.as_ref().filter(|t| !t.name.is_empty()) {
        contents
            .push(json!({ "templateId": template.name, "templateValues": template.parameters }));
    } else {
        let limit = max_text_chars(chat_type);
        if request.text.chars().count() > limit {
            return Err(ComposeError::TooLong(limit, chat_type.to_owned()));
        }
        if !request.text.is_empty() {
            contents.push(json!({ "text": request.text }));
        }
        for attachment in &request.attachments {
            let url = attachment.url.trim();
            if url.is_empty() {
                return Err(ComposeError::NoUrl(
                    attachment.kind().as_str_name().to_owned(),
                ));
            }
            contents.push(json!({ "contentUri": url }));
        }
    }
    if contents.is_empty() {
        return Err(ComposeError::Empty);
    }
    let reply_to = request.reply_to_provider_message_id.trim();
    Ok(contents
        .into_iter()
        .enumerate()
        .map(|(index, mut body)| {
            body["channelId"] = json!(wazzup_channel_id.trim());
            body["chatType"] = json!(chat_type);
            body["chatId"] = json!(chat_id);
            body["crmMessageId"] = json!(crm_message_id(&request.message_id, index));
            if index == 0 && !reply_to.is_empty() {
                body["refMessageId"] = json!(reply_to);
            }
            body
        })
        .collect())
}

/// Our `crmMessageId` of part `index` of a message.
pub fn crm_message_id(message_id: &str, index: usize) -> String {
    if index == 0 {
        message_id.to_owned()
    } else {
        format!("{message_id}-{index}")
    }
}

/// `<chatType>:<chatId>` → its parts.
fn split_chat(chat: &str) -> Option<(&str, &str)> {
    let (chat_type, chat_id) = chat.trim().split_once(':')?;
    (!chat_type.is_empty() && !chat_id.is_empty()).then_some((chat_type, chat_id))
}

/// Wazzup's id of a sent message, from the answer (`{"messageId": …}`).
pub fn sent_id(answer: &Value) -> Option<String> {
    answer["messageId"]
        .as_str()
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use omnibus_proto::{Attachment, AttachmentKind, TemplateRef};

    use super::*;

    const CHANNEL: &str = "f2071598-110c-4529-a0c8-5bdfdc718957";

    fn request(text: &str) -> MessageRequested {
        MessageRequested {
            message_id: "msg_1".into(),
            text: text.into(),
            provider_chat_id: "whatsapp:79011112233".into(),
            ..MessageRequested::default()
        }
    }

    #[test]
    fn text_then_each_attachment_by_content_uri_never_both() {
        let mut message = request("Yes, delivery is available today until 21:00.");
        message.reply_to_provider_message_id = "dc788040".into();
        message.attachments = vec![Attachment {
            kind: AttachmentKind::Image.into(),
            url: "https://cdn.example.com/map.jpg".into(),
            ..Attachment::default()
        }];
        let bodies = plan(&message, CHANNEL).unwrap();
        assert_eq!(
            bodies[0],
            json!({ "channelId": CHANNEL, "chatType": "whatsapp", "chatId": "79011112233",
                    "text": "Yes, delivery is available today until 21:00.",
                    "crmMessageId": "msg_1", "refMessageId": "dc788040" })
        );
        assert_eq!(bodies[1]["contentUri"], "https://cdn.example.com/map.jpg");
        assert!(bodies[1].get("text").is_none() && bodies[1].get("refMessageId").is_none());
        assert_eq!(bodies[1]["crmMessageId"], "msg_1-1");
    }

    #[test]
    fn templates_go_alone_with_their_values() {
        let mut message = request("");
        message.template = Some(TemplateRef {
            name: "0c8e1f0a-5b7d-4c3e-9a2f-6d4b8e1c7a90".into(),
            parameters: vec!["Ivan".into(), "123".into()],
            ..TemplateRef::default()
        });
        let bodies = plan(&message, CHANNEL).unwrap();
        assert_eq!(bodies.len(), 1);
        assert_eq!(
            bodies[0]["templateId"],
            "0c8e1f0a-5b7d-4c3e-9a2f-6d4b8e1c7a90"
        );
        assert_eq!(bodies[0]["templateValues"], json!(["Ivan", "123"]));
    }

    #[test]
    fn what_cannot_be_sent_is_refused() {
        assert_eq!(plan(&request("x"), ""), Err(ComposeError::NoChannel));
        assert_eq!(plan(&request(""), CHANNEL), Err(ComposeError::Empty));
        let mut no_chat = request("x");
        no_chat.provider_chat_id = "79011112233".into();
        assert_eq!(plan(&no_chat, CHANNEL), Err(ComposeError::NoRecipient));
        let mut instagram = request(&"a".repeat(1001));
        instagram.provider_chat_id = "instagram:jane.doe".into();
        assert!(matches!(
            plan(&instagram, CHANNEL),
            Err(ComposeError::TooLong(1000, _))
        ));
        let mut no_url = request("");
        no_url.attachments = vec![Attachment::default()];
        assert!(matches!(
            plan(&no_url, CHANNEL),
            Err(ComposeError::NoUrl(_))
        ));
    }
}
