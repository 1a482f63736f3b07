//! Gated messages: requests, and the decisions that come back.

use omnibus_proto::{Event, MessageFailed, MessageHeld, MessageOutsideWindow, MessageRequested};

use super::{Routes, Step, channels};
use crate::ids;
use crate::model::{MessageRow, MessageState};
use crate::sql;

type Result<T = ()> = std::result::Result<T, sqlx::Error>;

/// Whether [`requested`] acts on a request published on `subject` with
/// event id `event_id`: one waiting at the gate, or the window's own
/// forward or default template; every other outbound message passes by.
pub(super) fn acts_on_request(routes: &Routes, subject: &str, event_id: &str) -> bool {
    subject.starts_with(&routes.gate)
        || (subject.starts_with(&routes.send)
            && (event_id.starts_with(ids::SEND) || event_id.starts_with(ids::TEMPLATE)))
}

/// Whether [`held`] acts on a hold with event id `event_id` (the window's own).
pub(super) fn acts_on_hold(event_id: &str) -> bool {
    event_id.starts_with(ids::HELD)
}

pub(super) async fn requested(
    step: &mut Step<'_>,
    event: &Event,
    requested: &MessageRequested,
) -> Result {
    if step.subject.starts_with(&step.routes.gate) {
        return gated(step, event, requested).await;
    }
    if !step.subject.starts_with(&step.routes.send) {
        return Ok(());
    }
    if event.id.starts_with(ids::TEMPLATE) {
        let mut conversation = channels::load(step, event).await?;
        conversation.reopen_sent = true;
        step.conversations.save(conversation);
    } else if event.id.starts_with(ids::SEND)
        && let Some(message) = sql::message(step.conn, &requested.message_id).await?
    {
        let id = &message.message_id;
        sql::set_message_state(step.conn, id, MessageState::Sent, message.attempt, 0).await?;
        step.touched = true;
    }
    Ok(())
}

/// A request waiting for a decision.
async fn gated(step: &mut Step<'_>, event: &Event, requested: &MessageRequested) -> Result {
    channels::seen(step, event).await?;
    let message = MessageRow {
        message_id: requested.message_id.clone(),
        conversation_id: event.conversation_id.clone(),
        channel_id: event.channel_id.clone(),
        seq: step.seq,
        state: MessageState::Pending,
        attempt: 0,
        held_until_ms: 0,
        request: requested.clone(),
    };
    if sql::insert_message(step.conn, &message).await? {
        step.touched = true;
    }
    Ok(())
}

pub(super) async fn held(step: &mut Step<'_>, event: &Event, held: &MessageHeld) -> Result {
    if !acts_on_hold(&event.id) {
        return Ok(());
    }
    let Some(message) = sql::message(step.conn, &held.message_id).await? else {
        return Ok(());
    };
    let (id, attempt) = (&message.message_id, message.attempt);
    sql::set_message_state(
        step.conn,
        id,
        MessageState::Held,
        attempt,
        held.expires_at_ms,
    )
    .await?;
    if !held.template_message_id.is_empty() {
        let mut conversation = channels::load(step, event).await?;
        conversation.reopen_sent = true;
        step.conversations.save(conversation);
    }
    step.touched = true;
    Ok(())
}

/// Our own refusals and expiries end a waiting message; anyone's failure
/// ends a forwarded one.
pub(super) async fn failed(step: &mut Step<'_>, event: &Event, failed: &MessageFailed) -> Result {
    let Some(message) = sql::message(step.conn, &failed.message_id).await? else {
        return Ok(());
    };
    let ends = match message.state {
        MessageState::Pending | MessageState::Held => event.id.starts_with(ids::PREFIX),
        MessageState::Sent => true,
        MessageState::Failed => false,
    };
    if ends {
        let (id, attempt) = (&message.message_id, message.attempt);
        sql::set_message_state(step.conn, id, MessageState::Failed, attempt, 0).await?;
        step.touched = true;
    }
    Ok(())
}

/// The provider refused a forwarded message as outside its window: the
/// window is closed whatever our clock says, and the message is decided
/// again (held behind the default template, or failed).
pub(super) async fn outside(
    step: &mut Step<'_>,
    event: &Event,
    outside: &MessageOutsideWindow,
) -> Result {
    let message = sql::message(step.conn, &outside.message_id).await?;
    let conversation_id = match &message {
        Some(m) if event.conversation_id.is_empty() => m.conversation_id.clone(),
        _ => event.conversation_id.clone(),
    };
    if !conversation_id.is_empty() {
        let mut conversation = step
            .conversations
            .load(step.conn, &conversation_id, &event.channel_id)
            .await?;
        conversation.provider_closed = true;
        step.conversations.save(conversation);
    }
    let Some(message) = message else {
        return Ok(());
    };
    if message.state == MessageState::Sent {
        let (id, attempt) = (&message.message_id, message.attempt + 1);
        sql::set_message_state(step.conn, id, MessageState::Pending, attempt, 0).await?;
    }
    step.touched = true;
    Ok(())
}
