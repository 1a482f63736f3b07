//! Conversation events → armed and disarmed timers.
//!
//! The rules, per conversation: any message resets the inactivity close; a
//! customer's message during working hours starts the auto-reply sequence
//! unless one runs; one outside them arms the off-hours message once per
//! period; an operator's answer or a close cancels pending auto-replies; a
//! close (whatever the reason) arms the closing message.

use omnibus_proto::{
    AuthorKind, ConversationClosed, ConversationStarted, Direction, Event, MessageReceived,
    MessageRequested,
};

use super::Step;
use super::channel::ChannelInfo;
use crate::deadlines::Op;
use crate::sql::ConversationRow;
use crate::timer::{self, Timer, TimerKind};

type Result<T = ()> = std::result::Result<T, sqlx::Error>;

pub(super) async fn received(
    step: &mut Step<'_>,
    seq: i64,
    event: &Event,
    received: &MessageReceived,
) -> Result {
    let at = super::event_time(event);
    let mut conversation = load(step, event).await?;
    if let Some(peer) = &received.peer
        && !peer.provider_chat_id.is_empty()
    {
        conversation.provider_chat_id = peer.provider_chat_id.clone();
    }
    conversation.open = true;
    let channel = step.channel(&event.channel_id).await?;
    rearm_close(step, &conversation, channel.as_ref(), seq, at).await?;
    let direction = Direction::try_from(received.direction).unwrap_or(Direction::Inbound);
    let author = AuthorKind::try_from(received.author_kind).unwrap_or(AuthorKind::Contact);
    match (direction, author) {
        (Direction::Inbound, AuthorKind::Contact) => {
            customer_wrote(step, &mut conversation, channel.as_ref(), seq, at).await?;
        }
        (Direction::Outbound, _) => answered(step, &mut conversation).await?,
        _ => {}
    }
    step.work.save(step.conn, conversation).await
}

pub(super) async fn requested(
    step: &mut Step<'_>,
    seq: i64,
    event: &Event,
    requested: &MessageRequested,
) -> Result {
    let Some(mut conversation) = step
        .work
        .conversation(step.conn, &event.conversation_id)
        .await?
    else {
        return Ok(());
    };
    if let Some((kind, key)) = timer::parse_event_id(&event.id) {
        disarm(step, &event.id).await?;
        if kind == TimerKind::OffHours {
            conversation.off_hours_answered = key.parse().unwrap_or(i64::MAX);
        }
    }
    if conversation.provider_chat_id.is_empty() {
        conversation.provider_chat_id = requested.provider_chat_id.clone();
    }
    let channel = step.channel(&event.channel_id).await?;
    rearm_close(
        step,
        &conversation,
        channel.as_ref(),
        seq,
        super::event_time(event),
    )
    .await?;
    let author = AuthorKind::try_from(requested.author_kind).unwrap_or(AuthorKind::Operator);
    if matches!(author, AuthorKind::Operator | AuthorKind::ExternalDevice) {
        answered(step, &mut conversation).await?;
    }
    step.work.save(step.conn, conversation).await
}

pub(super) async fn closed(
    step: &mut Step<'_>,
    seq: i64,
    event: &Event,
    _closed: &ConversationClosed,
) -> Result {
    if timer::parse_event_id(&event.id).is_some() {
        disarm(step, &event.id).await?;
    }
    let Some(mut conversation) = step
        .work
        .conversation(step.conn, &event.conversation_id)
        .await?
    else {
        return Ok(());
    };
    if !conversation.open {
        return Ok(());
    }
    conversation.open = false;
    disarm_kind(step, &conversation.id, TimerKind::Close).await?;
    answered(step, &mut conversation).await?;
    let channel = step.channel(&event.channel_id).await?;
    if let Some(channel) = channel.filter(|c| !c.settings.closing_message.trim().is_empty()) {
        let text = channel.settings.closing_message.clone();
        let due = super::event_time(event);
        let closing = timer(
            &conversation,
            &channel,
            TimerKind::Closing,
            &seq.to_string(),
            due,
        );
        arm(step, Timer { text, ..closing }).await?;
    }
    step.work.save(step.conn, conversation).await
}

pub(super) async fn started(
    step: &mut Step<'_>,
    seq: i64,
    event: &Event,
    started: &ConversationStarted,
) -> Result {
    let mut conversation = load(step, event).await?;
    if let Some(peer) = &started.peer
        && !peer.provider_chat_id.is_empty()
    {
        conversation.provider_chat_id = peer.provider_chat_id.clone();
    }
    conversation.open = true;
    let channel = step.channel(&event.channel_id).await?;
    rearm_close(
        step,
        &conversation,
        channel.as_ref(),
        seq,
        super::event_time(event),
    )
    .await?;
    step.work.save(step.conn, conversation).await
}

/// The stored conversation, or a new one for the event's conversation.
async fn load(step: &mut Step<'_>, event: &Event) -> Result<ConversationRow> {
    let stored = step
        .work
        .conversation(step.conn, &event.conversation_id)
        .await?;
    Ok(stored.unwrap_or_else(|| ConversationRow {
        id: event.conversation_id.clone(),
        channel_id: event.channel_id.clone(),
        ..Default::default()
    }))
}

/// Moves the inactivity close to `at` + the channel's inactivity, keyed by
/// the activity's sequence, or only cancels it when the conversation is closed.
async fn rearm_close(
    step: &mut Step<'_>,
    conversation: &ConversationRow,
    channel: Option<&ChannelInfo>,
    seq: i64,
    at: i64,
) -> Result {
    disarm_kind(step, &conversation.id, TimerKind::Close).await?;
    let Some(channel) = channel.filter(|c| !c.deleted) else {
        return Ok(());
    };
    if !conversation.open {
        return Ok(());
    }
    let due = at.saturating_add(channel.inactivity_ms());
    let close = timer(
        conversation,
        channel,
        TimerKind::Close,
        &seq.to_string(),
        due,
    );
    arm(step, close).await
}

/// Off hours: the off-hours message once per period, no auto-replies.
/// Working hours: starts the auto-reply sequence unless one runs already.
async fn customer_wrote(
    step: &mut Step<'_>,
    conversation: &mut ConversationRow,
    channel: Option<&ChannelInfo>,
    seq: i64,
    at: i64,
) -> Result {
    let Some(channel) = channel.filter(|c| !c.deleted) else {
        return Ok(());
    };
    let hours = channel.hours.as_ref();
    if let Some(period) = hours.and_then(|h| h.off_hours_period(at)) {
        let text = channel.settings.off_hours_message.trim();
        if !text.is_empty() && conversation.off_hours_answered != period {
            let key = period.to_string();
            let off_hours = timer(conversation, channel, TimerKind::OffHours, &key, at);
            let text = text.to_owned();
            arm(step, Timer { text, ..off_hours }).await?;
        }
        return Ok(());
    }
    if conversation.waiting_since_seq != 0 {
        return Ok(());
    }
    conversation.waiting_since_seq = seq;
    for (i, reply) in channel.settings.auto_replies.iter().enumerate() {
        let due = at.saturating_add(i64::from(reply.delay_seconds) * 1000);
        if hours.is_some_and(|h| !h.is_open(due)) {
            // Falls due after closing time: off hours do not get auto-replies.
            continue;
        }
        let auto_reply = timer(
            conversation,
            channel,
            TimerKind::Reply,
            &format!("{seq}:{i}"),
            due,
        );
        let text = reply.text.clone();
        arm(step, Timer { text, ..auto_reply }).await?;
    }
    Ok(())
}

/// An operator answered (or the conversation closed): pending auto-replies
/// are cancelled and the next customer message starts a new sequence.
async fn answered(step: &mut Step<'_>, conversation: &mut ConversationRow) -> Result {
    disarm_kind(step, &conversation.id, TimerKind::Reply).await?;
    conversation.waiting_since_seq = 0;
    Ok(())
}

fn timer(
    conversation: &ConversationRow,
    channel: &ChannelInfo,
    kind: TimerKind,
    key: &str,
    due_ms: i64,
) -> Timer {
    Timer {
        event_id: timer::event_id(kind, &conversation.id, key),
        kind,
        conversation_id: conversation.id.clone(),
        channel_id: conversation.channel_id.clone(),
        channel_kind: channel.kind,
        provider_chat_id: conversation.provider_chat_id.clone(),
        text: String::new(),
        due_ms,
    }
}

/// Arms `timer` unless armed already, as the table would.
async fn arm(step: &mut Step<'_>, timer: Timer) -> Result {
    if step.work.arm(step.conn, &timer).await? {
        step.ops.push(Op::Arm(timer));
    }
    Ok(())
}

/// Disarms the timer whose event came back. The firing loop is told even
/// when it was not armed here: it may hold it again after a failed publish.
async fn disarm(step: &mut Step<'_>, event_id: &str) -> Result {
    step.work.disarm(step.conn, event_id).await?;
    step.ops.push(Op::Disarm(event_id.to_owned()));
    Ok(())
}

async fn disarm_kind(step: &mut Step<'_>, conversation_id: &str, kind: TimerKind) -> Result {
    for id in step
        .work
        .disarm_kind(step.conn, conversation_id, kind)
        .await?
    {
        step.ops.push(Op::Disarm(id));
    }
    Ok(())
}
