//! Messages of a kind Omnibus cannot show are never dropped silently.
//!
//! Every messenger's normalizer turns such a message into a SYSTEM notice
//! naming its type, through [`notice`], and marks the event with the type
//! ([`Unshown::kind`] → `MessageReceived.unshown_kind`). The kit counts each
//! one the stream newly stored in `omnibus_ingress_unshown_total{messenger,
//! kind}` ([`count_stored`]), so an operator sees which kinds are missing
//! and how often, and a provider's retry is not counted twice.

use omnibus_proto::{Event, event::Payload};

/// The longest type name kept; longer ones are cut.
const MAX_KIND_CHARS: usize = 40;

/// A message Omnibus cannot show, as its notice and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unshown {
    /// What the operator reads in place of the message.
    pub text: String,
    /// The provider's name of the type, tidied ([`kind_label`]).
    pub kind: String,
}

/// The notice for a message of `kind` (the provider's type name) sent by
/// the customer on `messenger` (`"WhatsApp"`, `"Telegram"`).
pub fn notice(messenger: &str, kind: &str) -> Unshown {
    let kind = kind_label(kind);
    Unshown {
        text: format!(
            "The customer sent a {messenger} message of type {kind}, which Omnibus cannot show"
        ),
        kind,
    }
}

/// The marker for a part of a message Omnibus cannot show (an attachment
/// of an unknown kind beside text it can): `[a VK attachment Omnibus cannot
/// show (poll)]`, where `what` is `VK attachment`.
pub fn marker(what: &str, kind: &str) -> Unshown {
    let kind = kind_label(kind);
    Unshown {
        text: format!("[a {what} Omnibus cannot show ({kind})]"),
        kind,
    }
}

/// `kind` as a metric label and in a notice: lowercase letters, digits,
/// `_`, `-` and `.`, at most 40 characters; `unknown` when nothing is left.
/// A provider's odd type name can neither break the text nor the label.
pub fn kind_label(kind: &str) -> String {
    let label: String = kind
        .trim()
        .chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' | '_' | '-' | '.' => Some(c),
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            ' ' => Some('_'),
            _ => None,
        })
        .take(MAX_KIND_CHARS)
        .collect();
    if label.is_empty() {
        "unknown".to_owned()
    } else {
        label
    }
}

/// Counts `event` in `omnibus_ingress_unshown_total` when it is a message
/// Omnibus cannot show and the stream stored it now (not a duplicate).
pub fn count_stored(messenger: &str, event: &Event, duplicate: bool) {
    if duplicate {
        return;
    }
    if let Some(Payload::MessageReceived(received)) = &event.payload
        && !received.unshown_kind.is_empty()
    {
        omnibus_metrics::ingress_unshown(messenger, &kind_label(&received.unshown_kind));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omnibus_proto::MessageReceived;

    #[test]
    fn the_notice_names_the_type() {
        let unshown = notice("WhatsApp", "order_v2");
        assert_eq!(unshown.kind, "order_v2");
        assert!(unshown.text.contains("WhatsApp"));
        assert!(unshown.text.contains("order_v2"));
    }

    #[test]
    fn odd_type_names_become_tidy_labels() {
        assert_eq!(kind_label(""), "unknown");
        assert_eq!(kind_label("\r\n{}"), "unknown");
        assert_eq!(kind_label("Video Chat"), "video_chat");
        assert_eq!(kind_label(&"x".repeat(500)).len(), MAX_KIND_CHARS);
    }

    fn count(messenger: &str, kind: &str) -> u64 {
        let text = omnibus_metrics::render().expect("rendered");
        let needle =
            format!("omnibus_ingress_unshown_total{{kind=\"{kind}\",messenger=\"{messenger}\"}} ");
        text.lines()
            .find_map(|line| line.strip_prefix(&needle))
            .map_or(0, |n| n.trim().parse().expect("a count"))
    }

    #[test]
    fn stored_unshown_messages_are_counted_once() {
        let event = Event {
            payload: Some(Payload::MessageReceived(MessageReceived {
                unshown_kind: "poll".into(),
                ..MessageReceived::default()
            })),
            ..Event::default()
        };
        let before = count("kit-test", "poll");
        count_stored("kit-test", &event, false);
        count_stored("kit-test", &event, true);
        let shown = Event {
            payload: Some(Payload::MessageReceived(MessageReceived::default())),
            ..Event::default()
        };
        count_stored("kit-test", &shown, false);
        assert_eq!(count("kit-test", "poll"), before + 1);
    }
}
