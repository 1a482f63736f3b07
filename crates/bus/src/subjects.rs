//! The subject scheme of the one stream. Every subject starts with the
//! lowercased stream name, so two installations can share a NATS cluster.

/// Builds subjects under `<prefix>.`.
#[derive(Debug, Clone)]
pub struct Subjects {
    prefix: String,
}

impl Subjects {
    /// Subjects of the stream named `stream` (`OMNIBUS` → `omnibus.…`).
    pub fn new(stream: &str) -> Self {
        Self {
            prefix: stream.to_ascii_lowercase(),
        }
    }

    /// Everything on the stream.
    pub fn all(&self) -> String {
        format!("{}.>", self.prefix)
    }

    /// Snapshots of one channel.
    pub fn channel(&self, channel_id: &str) -> String {
        format!("{}.channel.{channel_id}", self.prefix)
    }

    /// Snapshots of every channel.
    pub fn channels(&self) -> String {
        format!("{}.channel.*", self.prefix)
    }

    /// Facts inside one conversation.
    pub fn conversation(&self, conversation_id: &str) -> String {
        format!("{}.conv.{conversation_id}", self.prefix)
    }

    /// Outbound messages for a messenger (e.g. `telegram`), per conversation.
    pub fn send(&self, messenger: &str, conversation_id: &str) -> String {
        format!("{}.send.{messenger}.{conversation_id}", self.prefix)
    }

    /// Every outbound message for one messenger.
    pub fn sends(&self, messenger: &str) -> String {
        format!("{}.send.{messenger}.>", self.prefix)
    }

    /// Outbound messages on windowed channels, before the window service
    /// approved them.
    pub fn gated(&self, messenger: &str, conversation_id: &str) -> String {
        format!("{}.window.{messenger}.{conversation_id}", self.prefix)
    }

    /// Every outbound message waiting for the window service.
    pub fn all_gated(&self) -> String {
        format!("{}.window.>", self.prefix)
    }

    /// Where an outbound message of a channel of `kind` goes first: the
    /// window service for windowed channels, the ingress otherwise.
    pub fn outbound(&self, kind: omnibus_proto::ChannelKind, conversation_id: &str) -> String {
        let messenger = omnibus_core::kind::messenger(kind);
        if omnibus_core::kind::window(kind).is_some() {
            self.gated(messenger, conversation_id)
        } else {
            self.send(messenger, conversation_id)
        }
    }

    /// Facts about one contact (merges, operators' edits).
    pub fn contact(&self, contact_id: &str) -> String {
        format!("{}.contact.{contact_id}", self.prefix)
    }

    /// Templates of one channel.
    pub fn template(&self, channel_id: &str) -> String {
        format!("{}.template.{channel_id}", self.prefix)
    }

    /// A channel flagged by its ingress (e.g. expired credentials).
    pub fn channel_health(&self, channel_id: &str) -> String {
        format!("{}.health.{channel_id}", self.prefix)
    }

    /// Snapshots of one operator group (routing).
    pub fn group(&self, group_id: &str) -> String {
        format!("{}.group.{group_id}", self.prefix)
    }

    /// Operators' presence changes.
    pub fn presence(&self) -> String {
        format!("{}.presence", self.prefix)
    }

    /// Where a consumer parks events it gave up on.
    pub fn dead_letters(&self, consumer: &str) -> String {
        format!("{}.dlq.{consumer}", self.prefix)
    }

    /// Request/reply subjects outside the stream (core NATS, not stored).
    pub fn rpc(&self, name: &str) -> String {
        format!("_{}_rpc.{name}", self.prefix)
    }

    /// True for subjects of channel snapshots.
    pub fn is_channel(&self, subject: &str) -> bool {
        subject
            .strip_prefix(&self.prefix)
            .is_some_and(|rest| rest.starts_with(".channel."))
    }

    /// True for subjects of dead letters.
    pub fn is_dead_letter(&self, subject: &str) -> bool {
        subject
            .strip_prefix(&self.prefix)
            .is_some_and(|rest| rest.starts_with(".dlq."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_follow_the_stream_name() {
        let s = Subjects::new("OMNIBUS");
        assert_eq!(s.all(), "omnibus.>");
        assert_eq!(s.conversation("cv_1"), "omnibus.conv.cv_1");
        assert_eq!(s.send("telegram", "cv_1"), "omnibus.send.telegram.cv_1");
        assert_eq!(s.sends("telegram"), "omnibus.send.telegram.>");
        use omnibus_proto::ChannelKind;
        assert_eq!(
            s.outbound(ChannelKind::Telegram, "cv_1"),
            "omnibus.send.telegram.cv_1"
        );
        assert_eq!(
            s.outbound(ChannelKind::Whatsapp, "cv_1"),
            "omnibus.window.whatsapp.cv_1"
        );
        assert!(s.is_dead_letter("omnibus.dlq.conversations"));
        assert!(!s.is_dead_letter("omnibus.conv.dlq"));
        assert!(s.is_channel(&s.channel("ch_1")));
        assert!(!s.is_channel(&s.conversation("ch_1")));
        // RPC subjects must stay outside the stream's `omnibus.>`.
        assert!(!s.rpc("x").starts_with("omnibus."));
    }
}
