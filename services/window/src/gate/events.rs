//! The events the gate publishes, built from a gated message (pure: the
//! time is an argument, the ids derive from the message).

use omnibus_bus::Subjects;
use omnibus_core::{ids as core_ids, kind::messenger};
use omnibus_proto::{
    AuthorKind, ChannelKind, Event, MessageFailed, MessageHeld, MessageRequested, MessageStatus,
    TemplateRef, event::Payload, message_failed::Kind,
};

use crate::ids;
use crate::model::{MessageRow, TemplateRow};

/// An event and the subject it goes to.
pub type Outgoing = (String, Event);

fn envelope(id: String, message: &MessageRow, now_ms: i64, payload: Payload) -> Event {
    Event {
        id,
        occurred_at_ms: now_ms,
        recorded_at_ms: now_ms,
        channel_id: message.channel_id.clone(),
        conversation_id: message.conversation_id.clone(),
        payload: Some(payload),
    }
}

/// The request, unchanged but for its status, on the ingress's subject;
/// with `template`, the resolved template and its text.
pub fn forward(
    subjects: &Subjects,
    message: &MessageRow,
    kind: ChannelKind,
    template: Option<(TemplateRef, String)>,
    now_ms: i64,
) -> Outgoing {
    let mut request = MessageRequested {
        initial_status: MessageStatus::Pending as i32,
        ..message.request.clone()
    };
    if let Some((template, rendered)) = template {
        request.template = Some(template);
        if request.text.is_empty() {
            request.text = rendered;
        }
    }
    let id = ids::send(&message.message_id, message.attempt);
    let subject = subjects.send(messenger(kind), &message.conversation_id);
    let event = envelope(id, message, now_ms, Payload::MessageRequested(request));
    (subject, event)
}

/// A forwarded request marked to go out with Instagram's HUMAN_AGENT tag.
pub fn tagged((subject, mut event): Outgoing) -> Outgoing {
    if let Some(Payload::MessageRequested(request)) = &mut event.payload {
        request.human_agent_tag = true;
    }
    (subject, event)
}

/// The default template that asks the customer to answer, so the held
/// message can follow. Its message id derives from the held message.
pub fn reopen(
    subjects: &Subjects,
    message: &MessageRow,
    kind: ChannelKind,
    default: &TemplateRow,
    now_ms: i64,
) -> Outgoing {
    let id = ids::template(&message.message_id, message.attempt);
    let request = MessageRequested {
        message_id: core_ids::outbound_message_id(&message.conversation_id, Some(&id)),
        text: default.body.clone(),
        author_kind: AuthorKind::System as i32,
        idempotency_key: id.clone(),
        template: Some(TemplateRef {
            name: default.name.clone(),
            language: default.language.clone(),
            ..Default::default()
        }),
        provider_chat_id: message.request.provider_chat_id.clone(),
        channel_kind: kind as i32,
        initial_status: MessageStatus::Pending as i32,
        ..Default::default()
    };
    let subject = subjects.send(messenger(kind), &message.conversation_id);
    (
        subject,
        envelope(id, message, now_ms, Payload::MessageRequested(request)),
    )
}

/// The message waits for the customer until `expires_at_ms`.
pub fn held(
    subjects: &Subjects,
    message: &MessageRow,
    reason: String,
    expires_at_ms: i64,
    template_message_id: String,
    now_ms: i64,
) -> Outgoing {
    let held = MessageHeld {
        message_id: message.message_id.clone(),
        reason,
        expires_at_ms,
        template_message_id,
    };
    let id = ids::held(&message.message_id, message.attempt);
    let subject = subjects.conversation(&message.conversation_id);
    (
        subject,
        envelope(id, message, now_ms, Payload::MessageHeld(held)),
    )
}

/// The message is refused (`expired`: it was held too long).
pub fn failed(
    subjects: &Subjects,
    message: &MessageRow,
    kind: Kind,
    reason: String,
    expired: bool,
    now_ms: i64,
) -> Outgoing {
    let failed = MessageFailed {
        message_id: message.message_id.clone(),
        kind: kind as i32,
        reason,
        ..Default::default()
    };
    let id = if expired {
        ids::expired(&message.message_id, message.attempt)
    } else {
        ids::failed(&message.message_id, message.attempt)
    };
    let subject = subjects.conversation(&message.conversation_id);
    (
        subject,
        envelope(id, message, now_ms, Payload::MessageFailed(failed)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MessageState;

    fn message() -> MessageRow {
        MessageRow {
            message_id: "msg_1".into(),
            conversation_id: "cv_1".into(),
            channel_id: "ch_1".into(),
            seq: 7,
            state: MessageState::Held,
            attempt: 0,
            held_until_ms: 0,
            request: MessageRequested {
                message_id: "msg_1".into(),
                text: "Your refund is on its way".into(),
                author_kind: AuthorKind::Operator as i32,
                provider_chat_id: "16505551234".into(),
                initial_status: MessageStatus::Held as i32,
                ..Default::default()
            },
        }
    }

    #[test]
    fn a_forward_is_the_same_request_on_the_send_subject() {
        let subjects = Subjects::new("OMNIBUS");
        let (subject, event) = forward(&subjects, &message(), ChannelKind::Whatsapp, None, 5);
        assert_eq!(subject, "omnibus.send.whatsapp.cv_1");
        assert_eq!(event.id, "window:send:msg_1");
        let Some(Payload::MessageRequested(request)) = event.payload else {
            panic!("a request");
        };
        assert_eq!(request.message_id, "msg_1");
        assert_eq!(request.initial_status(), MessageStatus::Pending);
    }

    #[test]
    fn the_reopening_template_is_deterministic_and_automatic() {
        let subjects = Subjects::new("OMNIBUS");
        let default = TemplateRow {
            name: "hello".into(),
            language: "en_US".into(),
            body: "Hi! Can we continue?".into(),
            ..Default::default()
        };
        let (subject, first) = reopen(&subjects, &message(), ChannelKind::Whatsapp, &default, 1);
        let (_, second) = reopen(&subjects, &message(), ChannelKind::Whatsapp, &default, 2);
        assert_eq!(subject, "omnibus.send.whatsapp.cv_1");
        assert_eq!(first.id, second.id);
        assert_eq!(first.payload, second.payload);
        let Some(Payload::MessageRequested(request)) = first.payload else {
            panic!("a request");
        };
        assert_eq!(request.author_kind(), AuthorKind::System);
        assert_eq!(request.template.unwrap().name, "hello");
        assert_eq!(request.provider_chat_id, "16505551234");
        assert!(core_ids::is_valid_id(&request.message_id));
    }
}
