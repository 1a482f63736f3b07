//! Comments under the community's wall posts (`wall_reply_new`) and market
//! items (`market_comment_new`): each commenting user gets one conversation
//! per post or item, whose `subject_url` links it.
//!
//! The thread's chat id is `wall<owner>_<post>:<user>` or
//! `market<owner>_<item>:<user>`; the contact is the same person as in the
//! community's private dialog with them. A comment by the community itself
//! (an admin answering in VK) goes to the thread of the user it answers, as
//! EXTERNAL_DEVICE.

use omnibus_core::ids;
use omnibus_proto::{AuthorKind, Direction, MessageReceived, event::Payload};

use super::{ChannelView, Chat, Normalized, content};
use crate::wire::{Comment, Message, Notification};

/// What a comment thread is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// `wall<owner>_<post>` or `market<owner>_<item>`.
    pub key: String,
    /// The post's or item's link.
    pub url: String,
}

impl Subject {
    /// The chat id of `user_id`'s thread about this subject.
    pub fn chat_id(&self, user_id: i64) -> String {
        format!("{}:{user_id}", self.key)
    }
}

/// The subject of a comment notification, if it names one.
pub fn subject_of(kind: &str, comment: &Comment) -> Option<Subject> {
    if kind == "market_comment_new" {
        let owner = if comment.market_owner_id != 0 {
            comment.market_owner_id
        } else {
            comment.owner_id
        };
        return (owner != 0 && comment.item_id > 0).then(|| Subject {
            key: format!("market{owner}_{}", comment.item_id),
            url: format!(
                "https://vk.com/market{owner}?w=product{owner}_{}",
                comment.item_id
            ),
        });
    }
    let owner = if comment.post_owner_id != 0 {
        comment.post_owner_id
    } else {
        comment.owner_id
    };
    (owner != 0 && comment.post_id > 0).then(|| Subject {
        key: format!("wall{owner}_{}", comment.post_id),
        url: format!("https://vk.com/wall{owner}_{}", comment.post_id),
    })
}

/// Parses a comment thread's chat id back into its parts: the subject key
/// (`wall-1_2`), the kind (`wall` or `market`), owner, post or item, user.
pub fn parse_chat_id(chat_id: &str) -> Option<(&'static str, i64, i64, i64)> {
    let (key, user) = chat_id.split_once(':')?;
    let (kind, rest) = if let Some(rest) = key.strip_prefix("wall") {
        ("wall", rest)
    } else {
        ("market", key.strip_prefix("market")?)
    };
    let (owner, item) = rest.split_once('_')?;
    Some((
        kind,
        owner.parse().ok()?,
        item.parse().ok()?,
        user.parse().ok()?,
    ))
}

pub(super) fn comment(channel: &ChannelView<'_>, notification: &Notification) -> Normalized {
    let Some(comment) = notification.object::<Comment>().filter(|c| c.id > 0) else {
        return Normalized::skip("unreadable comment");
    };
    let Some(subject) = subject_of(&notification.kind, &comment) else {
        return Normalized::skip("comment without a post or item");
    };
    let by_community = comment.from_id < 0;
    let user_id = if by_community {
        comment.reply_to_user
    } else {
        comment.from_id
    };
    if user_id <= 0 {
        return Normalized::skip("comment by the community answering nobody");
    }
    let chat_id = subject.chat_id(user_id);
    let mut chat = Chat::private(channel.id, user_id);
    chat.peer.provider_chat_id = chat_id.clone();
    chat.peer.subject_url = subject.url.clone();
    let body = content::of(&Message {
        text: comment.text.clone(),
        attachments: comment.attachments.clone(),
        ..Message::default()
    });
    let key = format!("comment:{}", comment.id);
    let reply_to = if comment.reply_to_comment > 0 {
        chat.message_id(&format!("comment:{}", comment.reply_to_comment))
    } else {
        String::new()
    };
    let (author_kind, direction) = if by_community {
        (AuthorKind::ExternalDevice, Direction::Outbound)
    } else {
        (AuthorKind::Contact, Direction::Inbound)
    };
    let payload = Payload::MessageReceived(MessageReceived {
        message_id: chat.message_id(&key),
        provider_message_id: comment.id.to_string(),
        peer: Some(chat.peer.clone()),
        text: body.text,
        attachments: body.attachments,
        reply_to_message_id: reply_to,
        author_kind: author_kind.into(),
        direction: direction.into(),
        contact_id: chat.contact_id.clone(),
        unshown_kind: body.unshown.unwrap_or_default(),
        ..MessageReceived::default()
    });
    let id = format!("vk:{}:{}:comment:{}", channel.id, subject.key, comment.id);
    debug_assert!(ids::is_valid_id(&ids::conversation_id(
        channel.id, &chat_id
    )));
    Normalized::event(chat.event(id, comment.date, payload))
}
