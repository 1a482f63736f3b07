//! [`StoredNotification`]: one notification as the projection stores it,
//! its stable id, and its two outward shapes (gRPC message, webhook JSON).

use omnibus_proto::{Notification, NotificationKind};

/// How many notifications one event may cause; `ord = seq * ORD_SPAN + n`.
pub const ORD_SPAN: i64 = 1024;

/// A notification, ordered on the stream by `ord`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredNotification {
    /// `seq * ORD_SPAN + n`, see [`ORD_SPAN`].
    pub ord: i64,
    /// What happened.
    pub kind: NotificationKind,
    /// The conversation concerned.
    pub conversation_id: String,
    /// Its channel.
    pub channel_id: String,
    /// The message concerned, or empty.
    pub message_id: String,
    /// Readable text for a person.
    pub text: String,
    /// The conversation's assignee at the time; empty when unassigned.
    pub operator_id: String,
    /// When the causing event happened (unix ms).
    pub created_at_ms: i64,
}

impl StoredNotification {
    /// The public id, `<seq>-<n>`: stable across restarts and rebuilds
    /// because both parts come from the stream.
    pub fn id(&self) -> String {
        format_id(self.ord)
    }

    /// The gRPC message.
    pub fn to_proto(&self) -> Notification {
        Notification {
            id: self.id(),
            kind: self.kind as i32,
            conversation_id: self.conversation_id.clone(),
            message_id: self.message_id.clone(),
            text: self.text.clone(),
            created_at: omnibus_core::clock::timestamp(self.created_at_ms),
            channel_id: self.channel_id.clone(),
            operator_id: self.operator_id.clone(),
        }
    }

    /// The JSON body POSTed to webhooks. Built once when the delivery is
    /// created and stored, so every retry sends (and signs) the same bytes.
    pub fn webhook_body(&self, webhook_id: &str) -> String {
        serde_json::json!({
            "id": self.id(),
            "webhook_id": webhook_id,
            "kind": kind_name(self.kind),
            "conversation_id": self.conversation_id,
            "channel_id": self.channel_id,
            "message_id": self.message_id,
            "operator_id": self.operator_id,
            "text": self.text,
            "created_at_ms": self.created_at_ms,
        })
        .to_string()
    }
}

/// `ord` → `<seq>-<n>`.
pub fn format_id(ord: i64) -> String {
    format!("{}-{}", ord / ORD_SPAN, ord % ORD_SPAN)
}

/// `<seq>-<n>` (or a bare `<seq>`, meaning `<seq>-0`) → `ord`; `None` when
/// it is not an id this service gave out.
pub fn parse_id(id: &str) -> Option<i64> {
    let (seq, n) = match id.split_once('-') {
        Some((seq, n)) => (seq.parse::<i64>().ok()?, n.parse::<i64>().ok()?),
        None => (id.parse::<i64>().ok()?, 0),
    };
    if seq < 0 || !(0..ORD_SPAN).contains(&n) {
        return None;
    }
    seq.checked_mul(ORD_SPAN)?.checked_add(n)
}

/// The short name used in webhook bodies and by `omnictl watch`.
pub fn kind_name(kind: NotificationKind) -> &'static str {
    kind.as_str_name()
        .strip_prefix("NOTIFICATION_KIND_")
        .unwrap_or("UNSPECIFIED")
}

/// Kinds as stored in a text column: `,1,2,` (empty: every kind), so a
/// kind matches with one `contains`.
pub fn encode_kinds(kinds: &[i32]) -> String {
    if kinds.is_empty() {
        return String::new();
    }
    let mut text = String::from(",");
    for kind in kinds {
        text.push_str(&format!("{kind},"));
    }
    text
}

/// The inverse of [`encode_kinds`].
pub fn decode_kinds(text: &str) -> Vec<i32> {
    text.split(',').filter_map(|k| k.parse().ok()).collect()
}

/// True when a kinds column admits `kind`.
pub fn kinds_admit(text: &str, kind: NotificationKind) -> bool {
    text.is_empty() || text.contains(&format!(",{},", kind as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_order_like_the_stream() {
        let ord = 42 * ORD_SPAN + 1;
        assert_eq!(format_id(ord), "42-1");
        assert_eq!(parse_id("42-1"), Some(ord));
        assert_eq!(parse_id("42"), Some(42 * ORD_SPAN));
        assert!(parse_id("41-5").unwrap() < parse_id("42-0").unwrap());
        assert_eq!(parse_id("x-1"), None);
        assert_eq!(parse_id("1-2000"), None);
        assert_eq!(parse_id("-1"), None);
    }

    #[test]
    fn kinds_column_matches_exactly() {
        let text = encode_kinds(&[1, 7]);
        assert!(kinds_admit(&text, NotificationKind::NewConversation));
        assert!(kinds_admit(&text, NotificationKind::Unanswered));
        assert!(!kinds_admit(&text, NotificationKind::NewMessage));
        assert!(kinds_admit("", NotificationKind::NewMessage));
        assert_eq!(decode_kinds(&text), vec![1, 7]);
        assert_eq!(kind_name(NotificationKind::NewMessage), "NEW_MESSAGE");
    }
}
