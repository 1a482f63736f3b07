//! Comments under the account's posts: one conversation per commenting
//! user per post, titled with the customer's username, about the post's
//! link (`subject_url`).

use omnibus_proto::{AuthorKind, Direction, MessageReceived, event::Payload};
use serde_json::Value;

use super::{ChannelView, Chat, Normalized, Permalinks};
use crate::wire::{self, Comment, Entry};

/// One `comments` change value.
pub(super) fn comment(
    channel: &ChannelView<'_>,
    entry: &Entry,
    raw: &Value,
    permalinks: &Permalinks,
    out: &mut Normalized,
) {
    let Some(comment) = wire::decode::<Comment>(raw) else {
        out.skipped.push("unreadable comment");
        return;
    };
    if comment.id.is_empty() || comment.from.id.is_empty() || comment.media.id.is_empty() {
        out.skipped.push("comment without id, author or post");
        return;
    }
    if comment.from.id == channel.account_id {
        // The account's own comments are our public replies (recorded when
        // sent) or written in Instagram's app under a thread of unknown
        // customer: neither starts a conversation.
        out.skipped.push("the account's own comment");
        return;
    }
    let mut chat = Chat::comments(
        channel.id,
        &comment.media.id,
        &comment.from.id,
        &comment.from.username,
    );
    // The post's link when already known; else it follows in a
    // `ConversationSubject` event (crate::permalink).
    chat.peer.subject_url = permalinks
        .get(&comment.media.id)
        .cloned()
        .unwrap_or_default();
    let text = if comment.text.is_empty() {
        "(commented without text)".to_owned()
    } else {
        comment.text.clone()
    };
    // A reply to another of this customer's comments answers it in place.
    let reply_to = if comment.parent_id.is_empty() {
        String::new()
    } else {
        chat.message_id(&comment.parent_id)
    };
    let payload = Payload::MessageReceived(MessageReceived {
        message_id: chat.message_id(&comment.id),
        provider_message_id: comment.id.clone(),
        peer: Some(chat.peer.clone()),
        text,
        reply_to_message_id: reply_to,
        author_kind: AuthorKind::Contact.into(),
        direction: Direction::Inbound.into(),
        author_name: comment.from.username.clone(),
        contact_id: chat.contact_id.clone(),
        ..MessageReceived::default()
    });
    let id = format!("comment:{}", comment.id);
    out.events
        .push(chat.event(id, wire::to_ms(entry.time), payload));
}
