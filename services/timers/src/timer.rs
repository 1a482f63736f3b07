//! An armed deadline and the event that fires it.
//!
//! Every timer is named by a deterministic event id derived from what
//! triggered it (`timer:<kind>:<conversation>:<key>`). Firing publishes an
//! event with exactly that id, so two replicas, a restart or a replay publish
//! the same `Nats-Msg-Id` and JetStream keeps one; the projection disarms the
//! timer for good when the fired event comes back on the stream.

use omnibus_bus::Subjects;
use omnibus_core::ids;
use omnibus_proto::{
    AuthorKind, ChannelKind, CloseReason, ConversationClosed, Event, MessageRequested,
    MessageStatus, event::Payload,
};

/// Prefix of every event id the timers publish.
pub const ID_PREFIX: &str = "timer:";

/// What a timer does when it falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    /// Closes the conversation with reason INACTIVITY.
    Close,
    /// Sends the channel's closing message after any close.
    Closing,
    /// Sends one auto-reply of the sequence a customer's message started.
    Reply,
    /// Sends the off-hours message once per off-hours period.
    OffHours,
}

impl TimerKind {
    /// The kind's name in ids and in the `timer_pending.kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::Close => "close",
            TimerKind::Closing => "closing",
            TimerKind::Reply => "reply",
            TimerKind::OffHours => "offhours",
        }
    }

    /// Parses [`as_str`](Self::as_str).
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Close, Self::Closing, Self::Reply, Self::OffHours]
            .into_iter()
            .find(|k| k.as_str() == name)
    }

    /// Author of the message a timer of this kind sends.
    fn author(self) -> AuthorKind {
        match self {
            TimerKind::Reply | TimerKind::OffHours => AuthorKind::Bot,
            TimerKind::Close | TimerKind::Closing => AuthorKind::System,
        }
    }
}

/// The deterministic event id of a timer: the trigger names it.
pub fn event_id(kind: TimerKind, conversation_id: &str, key: &str) -> String {
    format!("{ID_PREFIX}{}:{conversation_id}:{key}", kind.as_str())
}

/// The kind and the last key segment of a timer's event id.
pub fn parse_event_id(id: &str) -> Option<(TimerKind, &str)> {
    let rest = id.strip_prefix(ID_PREFIX)?;
    let (kind, rest) = rest.split_once(':')?;
    let key = rest.rsplit(':').next()?;
    Some((TimerKind::parse(kind)?, key))
}

/// The conversation a timer's event id names: the segment after the kind
/// (conversation ids never hold a `:`; an empty one is still one). Any kind,
/// known to this version or not.
pub fn conversation_of(id: &str) -> Option<&str> {
    let rest = id.strip_prefix(ID_PREFIX)?;
    let (_kind, rest) = rest.split_once(':')?;
    rest.split(':').next()
}

/// One armed deadline, with everything needed to fire it without a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    /// Deterministic event id; also the timer's identity.
    pub event_id: String,
    /// What firing does.
    pub kind: TimerKind,
    /// The conversation it belongs to.
    pub conversation_id: String,
    /// The conversation's channel.
    pub channel_id: String,
    /// The messenger that delivers messages (unused for closes).
    pub channel_kind: ChannelKind,
    /// The customer's chat at the provider, where messages go.
    pub provider_chat_id: String,
    /// The message text (empty for closes).
    pub text: String,
    /// When it falls due, unix ms.
    pub due_ms: i64,
}

impl Timer {
    /// The event that fires this timer and the subject it goes to.
    /// `now_ms` is the recording time; everything else is deterministic.
    pub fn fired_event(&self, subjects: &Subjects, now_ms: i64) -> (String, Event) {
        let (subject, payload) = match self.kind {
            TimerKind::Close => (
                subjects.conversation(&self.conversation_id),
                Payload::ConversationClosed(ConversationClosed {
                    reason: CloseReason::Inactivity as i32,
                    operator_id: String::new(),
                }),
            ),
            _ => (
                // Windowed channels: through the window service, which
                // refuses automatic messages outside the 24-hour window.
                subjects.outbound(self.channel_kind, &self.conversation_id),
                Payload::MessageRequested(self.message()),
            ),
        };
        let event = Event {
            id: self.event_id.clone(),
            occurred_at_ms: self.due_ms,
            recorded_at_ms: now_ms,
            channel_id: self.channel_id.clone(),
            conversation_id: self.conversation_id.clone(),
            payload: Some(payload),
        };
        (subject, event)
    }

    /// The outbound message; its id derives from the timer's id, so a
    /// repeated firing is the same message.
    fn message(&self) -> MessageRequested {
        MessageRequested {
            message_id: ids::outbound_message_id(&self.conversation_id, Some(&self.event_id)),
            text: self.text.clone(),
            author_kind: self.kind.author() as i32,
            idempotency_key: self.event_id.clone(),
            provider_chat_id: self.provider_chat_id.clone(),
            channel_kind: self.channel_kind as i32,
            initial_status: MessageStatus::Pending as i32,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_name_their_trigger() {
        let id = event_id(TimerKind::Reply, "cv_1", "42:0");
        assert_eq!(id, "timer:reply:cv_1:42:0");
        assert_eq!(parse_event_id(&id), Some((TimerKind::Reply, "0")));
        let id = event_id(TimerKind::OffHours, "cv_1", "1764057600000");
        assert_eq!(
            parse_event_id(&id),
            Some((TimerKind::OffHours, "1764057600000"))
        );
        assert_eq!(conversation_of(&id), Some("cv_1"));
        assert_eq!(conversation_of("timer:reply:cv_1:42:0"), Some("cv_1"));
        assert_eq!(conversation_of("timer:future:cv_2:1"), Some("cv_2"));
        assert_eq!(conversation_of("send:msg_1"), None);
        assert_eq!(parse_event_id("send:msg_1"), None);
        assert_eq!(parse_event_id("timer:nope:cv_1:1"), None);
    }

    #[test]
    fn firing_twice_builds_the_same_event_but_the_recording_time() {
        let timer = Timer {
            event_id: event_id(TimerKind::Closing, "cv_1", "7"),
            kind: TimerKind::Closing,
            conversation_id: "cv_1".into(),
            channel_id: "ch_1".into(),
            channel_kind: ChannelKind::Telegram,
            provider_chat_id: "100".into(),
            text: "Bye".into(),
            due_ms: 1_000,
        };
        let subjects = Subjects::new("OMNIBUS");
        let (subject, first) = timer.fired_event(&subjects, 2_000);
        let (_, second) = timer.fired_event(&subjects, 3_000);
        assert_eq!(subject, "omnibus.send.telegram.cv_1");
        assert_eq!(first.id, second.id);
        assert_eq!(first.payload, second.payload);
        let Some(Payload::MessageRequested(message)) = first.payload else {
            panic!("a message");
        };
        assert_eq!(message.author_kind, AuthorKind::System as i32);
        assert!(ids::is_valid_id(&message.message_id));
    }
}
