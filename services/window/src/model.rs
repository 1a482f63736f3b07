//! What the projection keeps, as plain values.

use omnibus_proto::{ChannelKind, MessageRequested, Template, TemplateState, TemplateStatus};

use crate::template::Placeholders;

/// A channel: its kind decides whether it has a window at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRow {
    pub id: String,
    pub kind: ChannelKind,
    pub deleted: bool,
    /// Name of the template that reopens a closed window; empty: none.
    pub default_template: String,
    /// Instagram: operators may answer up to 7 days with the HUMAN_AGENT tag.
    pub human_agent_tag: bool,
}

/// A conversation and the state of its window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationRow {
    pub id: String,
    pub channel_id: String,
    /// The provider's time of the customer's last message; 0: never wrote.
    pub last_customer_ms: i64,
    /// The provider said the window is closed (WhatsApp 131047) after the
    /// customer's last message: closed whatever our clock says.
    pub provider_closed: bool,
    /// A default template went out since the customer last wrote, so
    /// holding another message does not send a second one.
    pub reopen_sent: bool,
}

/// A template of a channel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateRow {
    pub channel_id: String,
    pub name: String,
    pub language: String,
    pub body: String,
    pub category: String,
    pub status: TemplateStatus,
    pub status_reason: String,
    pub provider_template_id: String,
    pub updated_at_ms: i64,
}

impl TemplateRow {
    /// A row from an event's template state.
    pub fn from_state(channel_id: &str, state: &TemplateState, at_ms: i64) -> Self {
        Self {
            channel_id: channel_id.to_owned(),
            name: state.name.clone(),
            language: state.language.clone(),
            body: state.body.clone(),
            category: state.category.clone(),
            status: state.status(),
            status_reason: state.status_reason.clone(),
            provider_template_id: state.provider_template_id.clone(),
            updated_at_ms: at_ms,
        }
    }

    /// The event form (everything but the channel and the time).
    pub fn state(&self) -> TemplateState {
        TemplateState {
            name: self.name.clone(),
            language: self.language.clone(),
            body: self.body.clone(),
            category: self.category.clone(),
            status: self.status as i32,
            status_reason: self.status_reason.clone(),
            provider_template_id: self.provider_template_id.clone(),
        }
    }

    /// The API form.
    pub fn to_proto(&self) -> Template {
        Template {
            channel_id: self.channel_id.clone(),
            name: self.name.clone(),
            language: self.language.clone(),
            body: self.body.clone(),
            category: self.category.clone(),
            status: self.status as i32,
            status_reason: self.status_reason.clone(),
            provider_template_id: self.provider_template_id.clone(),
            updated_at: omnibus_core::clock::timestamp(self.updated_at_ms),
            parameters: Placeholders::parse(&self.body)
                .map(|p| p.names())
                .unwrap_or_default(),
        }
    }

    /// `"name" (language)`, for messages.
    pub fn label(&self) -> String {
        format!("{:?} ({})", self.name, self.language)
    }

    /// True when the template may be sent.
    pub fn approved(&self) -> bool {
        self.status == TemplateStatus::Approved
    }
}

/// Where an outbound message on a windowed channel stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageState {
    /// Waiting for a decision.
    Pending,
    /// Held until the customer answers.
    Held,
    /// Forwarded to the ingress.
    Sent,
    /// Refused or expired.
    Failed,
}

impl MessageState {
    /// The `window_messages.state` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Held => "held",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    /// Parses [`as_str`](Self::as_str).
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Pending, Self::Held, Self::Sent, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// An outbound message that went through the gate.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRow {
    pub message_id: String,
    pub conversation_id: String,
    pub channel_id: String,
    /// Stream sequence of the request: the conversation's order.
    pub seq: i64,
    pub state: MessageState,
    /// How many times the provider sent it back as outside the window;
    /// part of the ids of later forwards, which must not be deduplicated.
    pub attempt: i64,
    /// When a held message fails; 0 otherwise.
    pub held_until_ms: i64,
    /// The request as stored on the gate subject.
    pub request: MessageRequested,
}
