//! The send plan: an outbound `MessageRequested` → the VK method and its
//! parameters (providers.md §4.3). `access_token` and `v` are the client's
//! to add.
//!
//! A dialog gets `messages.send`; a comment thread gets
//! `wall.createComment` / `market.createComment` from the community. The
//! call adds `random_id` (`guid` for comments): the kit's idempotency number
//! of the message, so VK itself drops a send that a crash made us repeat and
//! the `message_reply` echo can be matched to the message. VK takes media
//! only as its own
//! `photo<owner>_<id>` names; an attachment known only by URL is sent as its
//! link in the text.

use omnibus_proto::{AttachmentKind, MessageRequested};

use crate::normalize::comments::parse_chat_id;

/// VK's limit on `message`.
pub const MAX_TEXT_CHARS: usize = 9000;

/// One VK API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `messages.send`, `wall.createComment` or `market.createComment`.
    pub method: &'static str,
    /// Form parameters, without `access_token` and `v`.
    pub params: Vec<(&'static str, String)>,
}

impl Call {
    /// A parameter's value, for tests and logs.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a message cannot be sent to VK as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the message has no text and no attachment")]
    Empty,
    #[error("vk has no message templates; send the text instead")]
    Template,
    #[error("the text is longer than vk's {MAX_TEXT_CHARS} characters")]
    TooLong,
    #[error("the conversation's vk peer {0:?} is not a dialog or a comment thread")]
    BadPeer(String),
}

/// The call that delivers `request`, from the community `group_id`.
pub fn plan(request: &MessageRequested, group_id: i64) -> Result<Call, PlanError> {
    if request.template.is_some() {
        return Err(PlanError::Template);
    }
    let (text, attachments, place, sticker) = content(request);
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(PlanError::TooLong);
    }
    if text.is_empty() && attachments.is_empty() && place.is_none() && sticker.is_none() {
        return Err(PlanError::Empty);
    }
    let chat = request.provider_chat_id.as_str();
    let reply_to = request.reply_to_provider_message_id.trim();
    let reply_to = reply_to.parse::<i64>().ok().filter(|id| *id > 0);
    if let Some((kind, owner, item, _user)) = parse_chat_id(chat) {
        let mut params = vec![
            ("owner_id", owner.to_string()),
            (
                if kind == "wall" { "post_id" } else { "item_id" },
                item.to_string(),
            ),
            (
                "from_group",
                if kind == "wall" {
                    group_id.abs().to_string()
                } else {
                    "1".into()
                },
            ),
            ("message", text),
        ];
        if !attachments.is_empty() {
            params.push(("attachments", attachments.join(",")));
        }
        if let Some(comment) = reply_to {
            params.push(("reply_to_comment", comment.to_string()));
        }
        let method = if kind == "wall" {
            "wall.createComment"
        } else {
            "market.createComment"
        };
        return Ok(Call { method, params });
    }
    let Some(peer_id) = chat.parse::<i64>().ok().filter(|p| *p != 0) else {
        return Err(PlanError::BadPeer(chat.chars().take(64).collect()));
    };
    let mut params = vec![("peer_id", peer_id.to_string())];
    if !text.is_empty() {
        params.push(("message", text));
    }
    if !attachments.is_empty() {
        params.push(("attachment", attachments.join(",")));
    }
    if let Some((lat, long)) = place {
        params.push(("lat", lat.to_string()));
        params.push(("long", long.to_string()));
    }
    if let Some(sticker) = sticker {
        params.push(("sticker_id", sticker));
    }
    if let Some(message) = reply_to {
        params.push(("reply_to", message.to_string()));
    }
    Ok(Call {
        method: "messages.send",
        params,
    })
}

type Content = (String, Vec<String>, Option<(f64, f64)>, Option<String>);

/// The text (with links of media VK cannot take), VK media names, a place
/// and a sticker of a message.
fn content(request: &MessageRequested) -> Content {
    let mut lines = vec![request.text.trim().to_owned()];
    let mut media = Vec::new();
    let (mut place, mut sticker) = (None, None);
    for attachment in &request.attachments {
        let kind = AttachmentKind::try_from(attachment.kind).unwrap_or(AttachmentKind::Unspecified);
        let file_id = attachment.provider_file_id.trim();
        match kind {
            AttachmentKind::Location => {
                let at = attachment.location.clone().unwrap_or_default();
                place = Some((at.latitude, at.longitude));
            }
            AttachmentKind::Sticker if file_id.parse::<u64>().is_ok() => {
                sticker = Some(file_id.to_owned())
            }
            AttachmentKind::Contact => {
                let card = attachment.contact.clone().unwrap_or_default();
                lines.push(format!("{} {}", card.name, card.phone).trim().to_owned());
            }
            _ if is_vk_media(file_id) => media.push(file_id.to_owned()),
            _ if !attachment.url.trim().is_empty() => lines.push(attachment.url.trim().to_owned()),
            _ => {}
        }
    }
    let text = lines
        .into_iter()
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    (text, media, place, sticker)
}

/// `photo-1_2`, `doc3_4_key`, …: a name VK's `attachment` takes.
fn is_vk_media(id: &str) -> bool {
    const KINDS: [&str; 7] = [
        "photo",
        "doc",
        "video",
        "audio_message",
        "audio",
        "wall",
        "market",
    ];
    KINDS.iter().any(|kind| {
        id.strip_prefix(kind).is_some_and(|rest| {
            let mut parts = rest.split('_');
            let owner = parts.next().and_then(|p| p.parse::<i64>().ok());
            let item = parts.next().and_then(|p| p.parse::<i64>().ok());
            owner.is_some() && item.is_some()
        })
    })
}

#[cfg(test)]
mod tests;
