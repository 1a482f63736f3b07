//! Messages and conversation lifecycle commands.

use omnibus_core::ids;
use omnibus_proto::{
    AuthorKind, ChannelKind, ChannelStatus, CloseConversationRequest, CloseReason, Conversation,
    ConversationAssigned, ConversationClosed, ConversationRead, ConversationStatus, Message,
    MessageRequested, MessageStatus, NoReplyNeeded, SendMessageRequest, event::Payload,
};

use super::{Commands, event};
use crate::error::{Result, ServiceError};
use crate::validate::{MAX_IDEMPOTENCY_KEY, MAX_TEXT};

impl Commands {
    /// Queues a message for delivery and returns it as queued: PENDING, or
    /// HELD when the 24-hour window holds it until the customer answers. A
    /// repeated idempotency key returns the original message as it stands
    /// and sends nothing.
    pub async fn send_message(&self, request: SendMessageRequest) -> Result<Message> {
        let conversation_id = request.conversation_id.as_str();
        if conversation_id.is_empty() {
            return Err(ServiceError::invalid("conversation id is required"));
        }
        let target = self
            .send_target(conversation_id)
            .await?
            .ok_or_else(|| ServiceError::not_found("conversation", conversation_id))?;
        let key = request.idempotency_key.trim();
        if key.len() > MAX_IDEMPOTENCY_KEY {
            return Err(ServiceError::invalid(format!(
                "idempotency_key is longer than {MAX_IDEMPOTENCY_KEY} bytes"
            )));
        }
        if !key.is_empty()
            && let Some(original) = self
                .queries
                .message_by_idempotency_key(conversation_id, key)
                .await?
        {
            return Ok(original);
        }
        check_content(&request)?;
        let kind = sendable(&target.channel_id, target.channel)?;
        let author_kind = if !target.bot_id.is_empty() && target.bot_id == request.operator_id {
            AuthorKind::Bot
        } else {
            AuthorKind::Operator
        };
        if request.template.is_some()
            && !matches!(kind, ChannelKind::Whatsapp | ChannelKind::Instagram)
        {
            return Err(ServiceError::invalid(
                "templates are for channels with a 24-hour window (WhatsApp, Instagram); send text instead",
            ));
        }
        let verdict = match omnibus_core::kind::window(kind) {
            Some(_) => Some(
                self.check_window(
                    conversation_id,
                    &target.channel_id,
                    kind,
                    request.template.clone(),
                )
                .await?,
            ),
            None => None,
        };
        let comment_thread =
            kind == ChannelKind::Instagram && target.provider_chat_id.starts_with("comment:");
        let reply_to_provider_message_id = self
            .reply_target(conversation_id, &request, comment_thread)
            .await?;
        let message_id =
            ids::outbound_message_id(conversation_id, (!key.is_empty()).then_some(key));
        let (mut text, mut template, mut status) =
            (request.text, request.template, MessageStatus::Pending);
        if let Some(verdict) = verdict {
            if verdict.held {
                status = MessageStatus::Held;
            }
            if template.is_some() {
                template = verdict.template.or(template);
                if text.trim().is_empty() {
                    text = verdict.rendered_text;
                }
            }
        }
        let requested = MessageRequested {
            message_id: message_id.clone(),
            text,
            attachments: request.attachments,
            reply_to_message_id: request.reply_to_message_id,
            reply_to_provider_message_id,
            author_kind: author_kind as i32,
            operator_id: request.operator_id,
            idempotency_key: key.to_owned(),
            template,
            provider_chat_id: target.provider_chat_id,
            channel_kind: kind as i32,
            initial_status: status as i32,
            comment_reply: request.comment_reply,
            human_agent_tag: false,
        };
        let event = event(
            format!("send:{message_id}"),
            &target.channel_id,
            conversation_id,
            Payload::MessageRequested(requested),
        );
        let subject = self.bus.subjects().outbound(kind, conversation_id);
        let published = self.publish(subject, &event).await?;
        if !published.duplicate
            && let Some(Payload::MessageRequested(requested)) = &event.payload
        {
            // New, and applied by now: the message is what the event says,
            // so answering needs no query.
            return Ok(crate::projection::queued(&event, requested));
        }
        // The same idempotency key sent twice at once: the first one's.
        self.queries
            .message(&message_id)
            .await?
            .ok_or_else(|| ServiceError::not_found("message", &message_id))
    }

    /// Closes a conversation on an operator's request (idempotent).
    pub async fn close_conversation(
        &self,
        request: CloseConversationRequest,
    ) -> Result<Conversation> {
        let conversation = self.conversation(&request.id).await?;
        if conversation.status == ConversationStatus::Closed as i32 {
            return Ok(conversation);
        }
        let closed = ConversationClosed {
            reason: CloseReason::Operator as i32,
            operator_id: request.operator_id,
        };
        self.record(&conversation, Payload::ConversationClosed(closed))
            .await
    }

    /// Assigns a conversation to an operator and/or group; empty unassigns.
    pub async fn assign_conversation(
        &self,
        id: &str,
        operator_id: String,
        group_id: String,
    ) -> Result<Conversation> {
        let conversation = self.conversation(id).await?;
        let assigned = ConversationAssigned {
            operator_id,
            group_id,
        };
        self.record(&conversation, Payload::ConversationAssigned(assigned))
            .await
    }

    /// Clears the unanswered state without sending anything.
    pub async fn mark_no_reply_needed(&self, id: &str) -> Result<Conversation> {
        let conversation = self.conversation(id).await?;
        self.record(&conversation, Payload::NoReplyNeeded(NoReplyNeeded {}))
            .await
    }

    /// Marks every message of the conversation read by the operators.
    pub async fn mark_read(&self, id: &str) -> Result<Conversation> {
        let conversation = self.conversation(id).await?;
        self.record(
            &conversation,
            Payload::ConversationRead(ConversationRead {}),
        )
        .await
    }

    /// Stores a conversation event and returns the updated conversation.
    async fn record(&self, conversation: &Conversation, payload: Payload) -> Result<Conversation> {
        let event = event(
            ids::random_id("ev_"),
            &conversation.channel_id,
            &conversation.id,
            payload,
        );
        self.publish(self.bus.subjects().conversation(&conversation.id), &event)
            .await?;
        self.conversation(&conversation.id).await
    }

    pub(super) async fn conversation(&self, id: &str) -> Result<Conversation> {
        if id.is_empty() {
            return Err(ServiceError::invalid("conversation id is required"));
        }
        self.queries
            .conversation(id)
            .await?
            .ok_or_else(|| ServiceError::not_found("conversation", id))
    }

    /// The kind of a channel that can still send.
    pub(super) async fn sendable_channel(&self, channel_id: &str) -> Result<ChannelKind> {
        let channel = self.queries.channel(channel_id).await?;
        sendable(channel_id, channel.map(|c| (c.kind, c.status)))
    }

    /// The provider id of the message replied to, checked to be in this conversation.
    /// The provider's id of the message answered: the one named, else on an
    /// Instagram comment thread (`comment_thread`) the customer's latest
    /// comment, which a comment answer must name.
    async fn reply_target(
        &self,
        conversation_id: &str,
        request: &SendMessageRequest,
        comment_thread: bool,
    ) -> Result<String> {
        if request.reply_to_message_id.is_empty() {
            if !comment_thread {
                return Ok(String::new());
            }
            let latest = self
                .queries
                .latest_customer_message(conversation_id)
                .await?;
            return Ok(latest.map(|m| m.provider_message_id).unwrap_or_default());
        }
        match self.queries.message(&request.reply_to_message_id).await? {
            Some(m) if m.conversation_id == conversation_id => Ok(m.provider_message_id),
            _ => Err(ServiceError::invalid(format!(
                "reply_to_message_id {:?} is not a message of this conversation",
                request.reply_to_message_id
            ))),
        }
    }
}

/// The kind of a channel (its kind and status, `None` when unknown) that can
/// still send.
fn sendable(channel_id: &str, channel: Option<(i32, i32)>) -> Result<ChannelKind> {
    let (kind, status) = channel.ok_or_else(|| ServiceError::not_found("channel", channel_id))?;
    if status == ChannelStatus::Deleted as i32 {
        return Err(ServiceError::FailedPrecondition(format!(
            "channel {channel_id:?} was deleted; nothing can be sent through it"
        )));
    }
    Ok(ChannelKind::try_from(kind).unwrap_or(ChannelKind::Unspecified))
}

/// A message has something to send, within the messengers' limits.
fn check_content(request: &SendMessageRequest) -> Result<()> {
    if request.text.trim().is_empty()
        && request.attachments.is_empty()
        && request.template.is_none()
    {
        return Err(ServiceError::invalid(
            "a message needs text, an attachment or a template",
        ));
    }
    let length = request.text.chars().count();
    if length > MAX_TEXT {
        return Err(ServiceError::invalid(format!(
            "text has {length} characters; messengers accept at most {MAX_TEXT}"
        )));
    }
    for (i, attachment) in request.attachments.iter().enumerate() {
        if !attachment.url.starts_with("http://") && !attachment.url.starts_with("https://") {
            return Err(ServiceError::invalid(format!(
                "attachments[{i}].url must be an http(s) URL the messenger can fetch"
            )));
        }
    }
    Ok(())
}
