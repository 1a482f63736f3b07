//! Messages without text or media: group service messages (who joined or
//! left, a pinned message, a new topic, a video chat) and `web_app_data`.
//! Each becomes a SYSTEM line in the conversation, so the operator sees
//! that something happened; a kind Omnibus does not know becomes a notice
//! naming it (`Said::unshown`), never nothing.

use super::{Said, user_name};
use crate::wire::{Message, ServiceFields, User};

/// The line shown for `message`, which has no text or media.
pub(super) fn line(message: &Message) -> Said {
    if let Some(data) = &message.web_app_data {
        let button = quoted(&data.button_text).map(|b| format!(" {b}"));
        let text = format!(
            "{} sent data from the web app{}: {}",
            actor(message),
            button.unwrap_or_default(),
            excerpt(&data.data, 1000)
        );
        return Said::notice(message, text);
    }
    let pinned = message.service.pinned_message.as_ref();
    if let Some(pinned) = pinned {
        let text = match pinned.text.as_deref().or(pinned.caption.as_deref()) {
            Some(said) if !said.trim().is_empty() => {
                format!("{} pinned “{}”", actor(message), excerpt(said, 100))
            }
            _ => format!("{} pinned a message", actor(message)),
        };
        return Said {
            reply_to: Some(pinned.message_id),
            ..Said::notice(message, text)
        };
    }
    match describe(&actor(message), message.from.as_ref(), &message.service) {
        Some(text) => Said::notice(message, text),
        None => Said::unshown(message),
    }
}

/// Who did it: the sender's name, else the chat's.
fn actor(message: &Message) -> String {
    let name = super::author_name(message);
    if name.is_empty() {
        "Someone".to_owned()
    } else {
        name
    }
}

/// Service messages other than a pin and web app data.
fn describe(actor: &str, from: Option<&User>, service: &ServiceFields) -> Option<String> {
    members(actor, from, service)
        .or_else(|| chat(actor, service))
        .or_else(|| topic(actor, service))
        .or_else(|| video_chat(actor, service))
}

fn members(actor: &str, from: Option<&User>, service: &ServiceFields) -> Option<String> {
    let is_actor = |user: &User| from.is_some_and(|f| f.id == user.id);
    if let [only] = service.new_chat_members.as_slice()
        && is_actor(only)
    {
        return Some(format!("{actor} joined the group"));
    }
    if !service.new_chat_members.is_empty() {
        return Some(format!(
            "{actor} added {}",
            names(&service.new_chat_members)
        ));
    }
    let left = service.left_chat_member.as_ref()?;
    Some(if is_actor(left) {
        format!("{actor} left the group")
    } else {
        format!("{actor} removed {}", user_name(left))
    })
}

fn chat(actor: &str, service: &ServiceFields) -> Option<String> {
    let text = if let Some(title) = &service.new_chat_title {
        format!("{actor} renamed the group to “{}”", excerpt(title, 255))
    } else if !service.new_chat_photo.is_empty() {
        format!("{actor} changed the group photo")
    } else if service.delete_chat_photo {
        format!("{actor} removed the group photo")
    } else if service.group_chat_created || service.supergroup_chat_created {
        format!("{actor} created the group")
    } else if service.migrate_to_chat_id.is_some() {
        "The group became a supergroup; its messages continue in a new conversation".to_owned()
    } else if service.migrate_from_chat_id.is_some() {
        "This supergroup continues an earlier group; older messages are in that group's \
         conversation"
            .to_owned()
    } else if let Some(timer) = &service.message_auto_delete_timer_changed {
        match timer.message_auto_delete_time {
            0 => format!("{actor} turned off auto-deleting messages"),
            seconds => format!(
                "{actor} set messages to be deleted automatically after {}",
                duration(seconds)
            ),
        }
    } else if service.write_access_allowed.is_some() {
        format!("{actor} allowed the bot to write to them")
    } else {
        return None;
    };
    Some(text)
}

fn topic(actor: &str, service: &ServiceFields) -> Option<String> {
    let text = if let Some(created) = &service.forum_topic_created {
        let name = created.name.as_deref().unwrap_or_default();
        format!("{actor} created the topic “{}”", excerpt(name, 128))
    } else if let Some(edited) = &service.forum_topic_edited {
        match edited.name.as_deref() {
            Some(name) => format!("{actor} renamed the topic to “{}”", excerpt(name, 128)),
            None => format!("{actor} changed the topic's icon"),
        }
    } else if service.forum_topic_closed.is_some() {
        format!("{actor} closed the topic")
    } else if service.forum_topic_reopened.is_some() {
        format!("{actor} reopened the topic")
    } else if service.general_forum_topic_hidden.is_some() {
        format!("{actor} hid the General topic")
    } else if service.general_forum_topic_unhidden.is_some() {
        format!("{actor} showed the General topic again")
    } else {
        return None;
    };
    Some(text)
}

fn video_chat(actor: &str, service: &ServiceFields) -> Option<String> {
    let text = if let Some(scheduled) = &service.video_chat_scheduled {
        format!(
            "{actor} scheduled a video chat for {}",
            utc(scheduled.start_date)
        )
    } else if service.video_chat_started.is_some() {
        format!("{actor} started a video chat")
    } else if let Some(ended) = &service.video_chat_ended {
        format!("The video chat ended after {}", duration(ended.duration))
    } else if let Some(invited) = &service.video_chat_participants_invited {
        format!(
            "{actor} invited {} to the video chat",
            names(&invited.users)
        )
    } else {
        return None;
    };
    Some(text)
}

fn names(users: &[User]) -> String {
    let names: Vec<String> = users.iter().take(20).map(user_name).collect();
    let more = users.len().saturating_sub(names.len());
    let mut text = names.join(", ");
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    if text.is_empty() {
        "someone".to_owned()
    } else {
        text
    }
}

/// `“text”`, unless there is no text.
fn quoted(text: &str) -> Option<String> {
    (!text.trim().is_empty()).then(|| format!("“{}”", excerpt(text, 64)))
}

/// At most `max` characters of `text`, with an ellipsis when cut.
fn excerpt(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// `1 h 5 min`, `45 s`, `2 days`.
fn duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (1, ..) => "1 day".to_owned(),
        (d, ..) => format!("{d} days"),
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM UTC` (the civil-from-days algorithm,
/// so no calendar dependency is needed).
fn utc(unix_seconds: i64) -> String {
    let (days, rest) = (
        unix_seconds.div_euclid(86_400),
        unix_seconds.rem_euclid(86_400),
    );
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rest / 3600,
        rest / 60 % 60
    )
}

#[cfg(test)]
mod tests;
