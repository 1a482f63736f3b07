//! What the customer does besides writing: pressing an inline button
//! (`callback_query`), reacting to a message (`message_reaction`, shown
//! like WhatsApp reactions: the emoji, on the message reacted to), and
//! blocking or unblocking the bot, or adding it to or removing it from a
//! group (`my_chat_member`, a SYSTEM line).
//!
//! None of these is a Telegram message, so each message id is keyed on the
//! update (`callback-<id>`, `reaction-<update_id>`, `member-<update_id>`)
//! and `provider_message_id` stays empty: nothing to reply to at Telegram.

use omnibus_proto::AuthorKind;

use super::{Context, Normalized, Said, chat_name, user_name};
use crate::wire::{CallbackQuery, ChatKind, ChatMemberUpdated, Message, MessageReactionUpdated};

/// A press on an inline button: the customer's message with the button's
/// label and data, replying to the message the button belongs to.
pub(super) fn pressed(channel_id: &str, update_id: i64, query: &CallbackQuery) -> Normalized {
    let Some(message) = &query.message else {
        return Normalized::Ignored("button of an inline-mode message (no chat)");
    };
    let Some(chat) = &message.chat else {
        return Normalized::Ignored("button press without chat");
    };
    let context = match Context::for_chat(channel_id, chat, Some(&query.from)) {
        Ok(context) => context,
        Err(reason) => return Normalized::Ignored(reason),
    };
    let data = query
        .data
        .as_deref()
        .or(query.game_short_name.as_deref())
        .unwrap_or_default();
    let text = match button_label(message, data) {
        Some(label) if label != data => format!("Pressed “{label}” ({data})"),
        _ => format!("Pressed “{data}”"),
    };
    let said = Said {
        key: format!("callback-{}", query.id),
        provider_message_id: String::new(),
        text,
        attachments: Vec::new(),
        author: AuthorKind::Contact,
        author_name: user_name(&query.from),
        reply_to: Some(message.message_id),
        unshown_kind: String::new(),
    };
    // A callback query has no date; 0 leaves the time to the ingress clock.
    context.said(update_id, 0, said)
}

/// The text of the button whose `callback_data` is `data`, when the
/// message (not an inaccessible stub) still shows its keyboard.
fn button_label<'a>(message: &'a Message, data: &str) -> Option<&'a str> {
    message
        .reply_markup
        .as_ref()?
        .inline_keyboard
        .iter()
        .flatten()
        .find(|button| button.callback_data.as_deref() == Some(data))
        .map(|button| button.text.as_str())
        .filter(|text| !text.is_empty())
}

/// A change of reactions: the new emoji on the message reacted to, or
/// "(removed a reaction)", as WhatsApp reactions are shown.
pub(super) fn reaction(
    channel_id: &str,
    update_id: i64,
    reaction: &MessageReactionUpdated,
) -> Normalized {
    let context = match Context::for_chat(channel_id, &reaction.chat, reaction.user.as_ref()) {
        Ok(context) => context,
        Err(reason) => return Normalized::Ignored(reason),
    };
    let emoji: Vec<&str> = reaction
        .new_reaction
        .iter()
        .map(|r| match (r.kind.as_str(), r.emoji.as_deref()) {
            ("emoji", Some(emoji)) => emoji,
            ("paid", _) => "⭐",
            _ => "(custom emoji)",
        })
        .collect();
    let text = if emoji.is_empty() {
        "(removed a reaction)".to_owned()
    } else {
        emoji.join(" ")
    };
    let author_name = match (&reaction.user, &reaction.actor_chat) {
        (Some(user), _) => user_name(user),
        (None, Some(chat)) => chat_name(chat),
        (None, None) => String::new(),
    };
    let said = Said {
        key: format!("reaction-{update_id}"),
        provider_message_id: String::new(),
        text,
        attachments: Vec::new(),
        author: AuthorKind::Contact,
        author_name,
        reply_to: Some(reaction.message_id),
        unshown_kind: String::new(),
    };
    context.said(update_id, reaction.date, said)
}

/// The bot's own membership changed: blocked or unblocked by the customer
/// in a private chat, added to or removed from a group.
pub(super) fn membership(
    channel_id: &str,
    update_id: i64,
    change: &ChatMemberUpdated,
) -> Normalized {
    let context = match Context::for_chat(channel_id, &change.chat, Some(&change.from)) {
        Ok(context) => context,
        Err(reason) => return Normalized::Ignored(reason),
    };
    let old = change.old_chat_member.status.as_str();
    let new = change.new_chat_member.status.as_str();
    let text = if change.chat.kind == ChatKind::Private {
        private_change(old, new)
    } else {
        group_change(&user_name(&change.from), old, new)
    };
    let Some(text) = text else {
        return Normalized::Ignored("bot membership unchanged");
    };
    let said = Said {
        key: format!("member-{update_id}"),
        provider_message_id: String::new(),
        text,
        attachments: Vec::new(),
        author: AuthorKind::System,
        author_name: user_name(&change.from),
        reply_to: None,
        unshown_kind: String::new(),
    };
    context.said(update_id, change.date, said)
}

fn private_change(old: &str, new: &str) -> Option<String> {
    let text = match (old, new) {
        (_, "kicked") => "The customer blocked the bot",
        ("kicked", "member") => "The customer unblocked the bot",
        (_, "member") => "The customer started the bot",
        _ => return None,
    };
    Some(text.to_owned())
}

fn group_change(actor: &str, old: &str, new: &str) -> Option<String> {
    let present = |status: &str| matches!(status, "member" | "administrator" | "creator");
    let text = match (old, new) {
        (old, new) if old == new => return None,
        (old, new) if present(new) && !present(old) && old != "restricted" => {
            format!("{actor} added the bot to the group")
        }
        (_, "administrator") => format!("{actor} made the bot an administrator"),
        ("administrator", "member") => format!("{actor} took the bot's administrator rights"),
        (_, "left" | "kicked") => format!("{actor} removed the bot from the group"),
        (_, "restricted") => format!("{actor} restricted the bot in the group"),
        (old, new) => format!("{actor} changed the bot's status in the group from {old} to {new}"),
    };
    Some(text)
}

#[cfg(test)]
mod tests;
