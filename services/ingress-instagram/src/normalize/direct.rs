//! Direct: messages, echoes, unsends, reactions, read receipts and
//! postbacks of `messaging[]` (and `standby[]`).

use omnibus_proto::{
    Attachment as OurAttachment, AttachmentKind, AuthorKind, DeliveryStatusChanged, Direction,
    MessageEdited, MessageReceived, MessageStatus, event::Payload,
};
use serde_json::Value;

use super::{ChannelView, Chat, Normalized};
use crate::wire::{self, Attachment, DirectMessage, Messaging};

/// One `messaging[]` element.
pub(super) fn messaging(channel: &ChannelView<'_>, raw: &Value, out: &mut Normalized) {
    let Some(item) = wire::decode::<Messaging>(raw) else {
        out.skipped.push("unreadable messaging event");
        return;
    };
    if let Some(message) = &item.message {
        message_event(channel, &item, message, out);
    } else if item.reaction.is_some() {
        reaction(channel, &item, out);
    } else if item.read.is_some() {
        read(channel, &item, out);
    } else if item.postback.is_some() {
        postback(channel, &item, out);
    } else if item.referral.is_some() {
        referral(channel, &item, out);
    } else {
        out.skipped.push("messaging event Omnibus does not use");
    }
}

fn message_event(
    channel: &ChannelView<'_>,
    item: &Messaging,
    message: &DirectMessage,
    out: &mut Normalized,
) {
    // An echo is the business writing: the customer is the recipient.
    let customer = if message.is_echo {
        &item.recipient.id
    } else {
        &item.sender.id
    };
    if message.mid.is_empty() || customer.is_empty() || customer == channel.account_id {
        out.skipped.push("message without id or customer");
        return;
    }
    let chat = Chat::direct(channel.id, customer);
    let at = wire::to_ms(item.timestamp);
    if message.is_deleted {
        let payload = Payload::MessageEdited(MessageEdited {
            message_id: chat.message_id(&message.mid),
            provider_message_id: message.mid.clone(),
            peer: Some(chat.peer.clone()),
            contact_id: chat.contact_id.clone(),
            deleted: true,
            ..MessageEdited::default()
        });
        let id = format!("{}:deleted", message.mid);
        out.events.push(chat.event(id, at, payload));
        return;
    }
    let (text, attachments, author, unshown) = content(message);
    let reply_to = message
        .reply_to
        .as_ref()
        .filter(|r| !r.mid.is_empty())
        .map(|r| chat.message_id(&r.mid))
        .unwrap_or_default();
    let (author, direction) = if message.is_echo {
        (AuthorKind::ExternalDevice, Direction::Outbound)
    } else {
        (author, Direction::Inbound)
    };
    let payload = Payload::MessageReceived(MessageReceived {
        message_id: chat.message_id(&message.mid),
        provider_message_id: message.mid.clone(),
        peer: Some(chat.peer.clone()),
        text,
        attachments,
        reply_to_message_id: reply_to,
        author_kind: author.into(),
        direction: direction.into(),
        contact_id: chat.contact_id.clone(),
        unshown_kind: unshown.unwrap_or_default(),
        ..MessageReceived::default()
    });
    out.events
        .push(chat.event(message.mid.clone(), at, payload));
}

/// Text, attachments and author of a message, and the type of a message
/// Omnibus cannot show (then the text is a notice naming it). Story
/// replies and mentions keep the story's link as an attachment (the link
/// expires; the media service keeps its copy).
fn content(message: &DirectMessage) -> (String, Vec<OurAttachment>, AuthorKind, Option<String>) {
    if message.is_unsupported {
        let text = "The customer sent a message Instagram does not deliver to Omnibus";
        let kind = Some("unsupported".to_owned());
        return (text.to_owned(), Vec::new(), AuthorKind::System, kind);
    }
    let mut text = message.text.clone();
    let mut attachments = Vec::new();
    if let Some(story) = message.reply_to.as_ref().and_then(|r| r.story.as_ref()) {
        attachments.push(link(AttachmentKind::Unspecified, &story.url, "story"));
        if text.is_empty() {
            text = "(replied to your story)".into();
        }
    }
    for raw in &message.attachments {
        let Some(attachment) = wire::decode::<Attachment>(raw) else {
            continue;
        };
        let (kind, name) = match attachment.kind.as_str() {
            "image" => (AttachmentKind::Image, ""),
            "video" | "ig_reel" | "reel" => (AttachmentKind::Video, ""),
            "audio" => (AttachmentKind::Audio, ""),
            "file" => (AttachmentKind::Document, ""),
            "story_mention" => {
                if text.is_empty() {
                    text = "(mentioned you in their story)".into();
                }
                (AttachmentKind::Unspecified, "story")
            }
            "share" | "ig_post" => {
                if text.is_empty() {
                    text = "(shared a post)".into();
                }
                (AttachmentKind::Unspecified, "share")
            }
            _ => (AttachmentKind::Unspecified, ""),
        };
        let name = if name.is_empty() {
            attachment.payload.title.as_str()
        } else {
            name
        };
        attachments.push(link(kind, &attachment.payload.url, name));
    }
    if text.is_empty()
        && attachments.is_empty()
        && let Some(quick) = &message.quick_reply
    {
        text = quick.payload.clone();
    }
    if text.is_empty() && attachments.is_empty() {
        let kind = message
            .attachments
            .iter()
            .find_map(|a| a["type"].as_str())
            .unwrap_or("unknown");
        let unshown = omnibus_ingress::unshown::notice("Instagram", kind);
        return (
            unshown.text,
            Vec::new(),
            AuthorKind::System,
            Some(unshown.kind),
        );
    }
    (text, attachments, AuthorKind::Contact, None)
}

fn link(kind: AttachmentKind, url: &str, name: &str) -> OurAttachment {
    OurAttachment {
        kind: kind.into(),
        url: url.to_owned(),
        file_name: name.to_owned(),
        ..OurAttachment::default()
    }
}

/// A reaction (or its removal) as a message answering the one reacted to,
/// so the operator sees it in place.
fn reaction(channel: &ChannelView<'_>, item: &Messaging, out: &mut Normalized) {
    let Some(reaction) = &item.reaction else {
        return;
    };
    if reaction.mid.is_empty() || item.sender.id.is_empty() {
        out.skipped.push("reaction without message or customer");
        return;
    }
    let chat = Chat::direct(channel.id, &item.sender.id);
    let removed = reaction.action == "unreact";
    let shown = if reaction.emoji.is_empty() {
        reaction.reaction.as_str()
    } else {
        reaction.emoji.as_str()
    };
    let text = match (removed, shown.is_empty()) {
        (true, _) => "(removed a reaction)".to_owned(),
        (false, true) => "(reacted)".to_owned(),
        (false, false) => shown.to_owned(),
    };
    let key = format!(
        "reaction:{}:{}:{}:{}",
        reaction.mid, reaction.action, shown, item.timestamp
    );
    let payload = Payload::MessageReceived(MessageReceived {
        message_id: chat.message_id(&key),
        peer: Some(chat.peer.clone()),
        text,
        reply_to_message_id: chat.message_id(&reaction.mid),
        author_kind: AuthorKind::Contact.into(),
        direction: Direction::Inbound.into(),
        contact_id: chat.contact_id.clone(),
        ..MessageReceived::default()
    });
    out.events
        .push(chat.event(key, wire::to_ms(item.timestamp), payload));
}

/// A read receipt: the customer has seen our message `mid` and those before.
fn read(channel: &ChannelView<'_>, item: &Messaging, out: &mut Normalized) {
    let Some(read) = &item.read else {
        return;
    };
    if read.mid.is_empty() || item.sender.id.is_empty() {
        out.skipped.push("read receipt without message");
        return;
    }
    let chat = Chat::direct(channel.id, &item.sender.id);
    let payload = Payload::DeliveryStatusChanged(DeliveryStatusChanged {
        provider_message_id: read.mid.clone(),
        status: MessageStatus::Read.into(),
        and_earlier: true,
        ..DeliveryStatusChanged::default()
    });
    let id = format!("read:{}", read.mid);
    out.events
        .push(chat.event(id, wire::to_ms(item.timestamp), payload));
}

/// An icebreaker or button the customer pressed: its title as their words.
fn postback(channel: &ChannelView<'_>, item: &Messaging, out: &mut Normalized) {
    let Some(postback) = &item.postback else {
        return;
    };
    if item.sender.id.is_empty() || item.sender.id == channel.account_id {
        out.skipped.push("postback without customer");
        return;
    }
    let chat = Chat::direct(channel.id, &item.sender.id);
    let key = if postback.mid.is_empty() {
        format!("postback:{}:{}", postback.payload, item.timestamp)
    } else {
        postback.mid.clone()
    };
    let text = if postback.title.is_empty() {
        postback.payload.clone()
    } else {
        postback.title.clone()
    };
    let payload = Payload::MessageReceived(MessageReceived {
        message_id: chat.message_id(&key),
        provider_message_id: postback.mid.clone(),
        peer: Some(chat.peer.clone()),
        text,
        author_kind: AuthorKind::Contact.into(),
        direction: Direction::Inbound.into(),
        contact_id: chat.contact_id.clone(),
        ..MessageReceived::default()
    });
    out.events
        .push(chat.event(key, wire::to_ms(item.timestamp), payload));
}

/// The referral form of a story mention (`source: STORY_MENTION`).
fn referral(channel: &ChannelView<'_>, item: &Messaging, out: &mut Normalized) {
    let Some(referral) = &item.referral else {
        return;
    };
    let mention = referral.source.eq_ignore_ascii_case("STORY_MENTION")
        || referral.kind.eq_ignore_ascii_case("STORY_MENTION");
    if !mention || item.sender.id.is_empty() {
        out.skipped.push("referral Omnibus does not use");
        return;
    }
    let chat = Chat::direct(channel.id, &item.sender.id);
    let key = format!("mention:{}:{}", referral.url, item.timestamp);
    let payload = Payload::MessageReceived(MessageReceived {
        message_id: chat.message_id(&key),
        peer: Some(chat.peer.clone()),
        text: "(mentioned you in their story)".into(),
        attachments: vec![link(AttachmentKind::Unspecified, &referral.url, "story")],
        author_kind: AuthorKind::Contact.into(),
        direction: Direction::Inbound.into(),
        contact_id: chat.contact_id.clone(),
        ..MessageReceived::default()
    });
    out.events
        .push(chat.event(key, wire::to_ms(item.timestamp), payload));
}
