//! Conversation facts → notifications, plus the state they need: who is
//! assigned, whether it is closed, and since when a customer is waiting
//! (with the UNANSWERED deadline derived from the channel's settings).

use omnibus_proto::{
    AuthorKind, ChannelChanged, ConversationAssigned, ConversationStarted, Direction,
    MessageFailed, MessageReceived, MessageRequested, NotificationKind as Kind, UnansweredDetected,
};
use sqlx::AnyConnection;

use super::Emitter;

/// What the projection keeps per conversation.
#[derive(Debug, Default)]
struct Conv {
    assignee_id: String,
    closed: i64,
    waiting_seq: i64,
    deadline_ms: i64,
}
from_row!(Conv {
    assignee_id,
    closed,
    waiting_seq,
    deadline_ms
});

async fn load(conn: &mut AnyConnection, id: &str) -> Result<Option<Conv>, sqlx::Error> {
    sqlx::query_as(
        "SELECT assignee_id, closed, waiting_seq, deadline_ms \
         FROM notif_conversations WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
}

/// Loads the event's conversation, creating it (and announcing
/// NEW_CONVERSATION) when this is the first event of its id.
async fn load_or_create(
    conn: &mut AnyConnection,
    out: &mut Emitter,
    assignee: &str,
    message_id: &str,
    text: &str,
) -> Result<Conv, sqlx::Error> {
    if let Some(conv) = load(conn, out.conversation_id()).await? {
        return Ok(conv);
    }
    sqlx::query(
        "INSERT INTO notif_conversations (id, channel_id, assignee_id, closed, waiting_seq, \
         waiting_message_id, waiting_since_ms, deadline_ms) VALUES ($1, $2, $3, 0, 0, '', 0, 0)",
    )
    .bind(out.conversation_id())
    .bind(out.channel_id())
    .bind(assignee)
    .execute(&mut *conn)
    .await?;
    out.push(Kind::NewConversation, assignee, message_id, text);
    Ok(Conv {
        assignee_id: assignee.to_owned(),
        ..Conv::default()
    })
}

/// Remembers the channel's UNANSWERED threshold (0: disabled).
pub async fn channel_changed(
    conn: &mut AnyConnection,
    changed: &ChannelChanged,
) -> Result<(), sqlx::Error> {
    let Some(state) = &changed.state else {
        return Ok(());
    };
    let seconds = state
        .settings
        .as_ref()
        .and_then(|s| s.unanswered_after_seconds)
        .unwrap_or(0);
    sqlx::query(
        "INSERT INTO notif_channels (id, unanswered_after_ms) VALUES ($1, $2) \
         ON CONFLICT (id) DO UPDATE SET unanswered_after_ms = excluded.unanswered_after_ms",
    )
    .bind(&state.id)
    .bind(i64::from(seconds) * 1000)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A customer wrote: NEW_CONVERSATION / CONVERSATION_REOPENED as the case
/// may be, then NEW_MESSAGE, and the wait starts unless one is running.
/// An echo from the business's own device counts as an answer instead.
pub async fn received(
    conn: &mut AnyConnection,
    out: &mut Emitter,
    received: &MessageReceived,
) -> Result<(), sqlx::Error> {
    let from_business = received.direction() == Direction::Outbound
        || received.author_kind() == AuthorKind::ExternalDevice;
    let message_id = received.message_id.as_str();
    let conv = load_or_create(conn, out, "", message_id, &received.text).await?;
    if from_business {
        return clear_wait(conn, out.conversation_id()).await;
    }
    if conv.closed != 0 {
        out.push(
            Kind::ConversationReopened,
            &conv.assignee_id,
            message_id,
            &received.text,
        );
        sqlx::query("UPDATE notif_conversations SET closed = 0 WHERE id = $1")
            .bind(out.conversation_id())
            .execute(&mut *conn)
            .await?;
    }
    out.push(
        Kind::NewMessage,
        &conv.assignee_id,
        message_id,
        &received.text,
    );
    if conv.waiting_seq == 0 {
        start_wait(conn, out, message_id).await?;
    }
    Ok(())
}

async fn start_wait(
    conn: &mut AnyConnection,
    out: &Emitter,
    message_id: &str,
) -> Result<(), sqlx::Error> {
    let threshold: Option<i64> =
        sqlx::query_scalar("SELECT unanswered_after_ms FROM notif_channels WHERE id = $1")
            .bind(out.channel_id())
            .fetch_optional(&mut *conn)
            .await?;
    let deadline = match threshold.unwrap_or(0) {
        0 => 0,
        after => out.at_ms().saturating_add(after),
    };
    sqlx::query(
        "UPDATE notif_conversations SET waiting_seq = $2, waiting_message_id = $3, \
         waiting_since_ms = $4, deadline_ms = $5 WHERE id = $1",
    )
    .bind(out.conversation_id())
    .bind(out.seq())
    .bind(message_id)
    .bind(out.at_ms())
    .bind(deadline)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn clear_wait(conn: &mut AnyConnection, conversation_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notif_conversations SET waiting_seq = 0, waiting_message_id = '', \
         waiting_since_ms = 0, deadline_ms = 0 WHERE id = $1",
    )
    .bind(conversation_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An operator's reply ends the wait; bots and auto-replies do not.
pub async fn requested(
    conn: &mut AnyConnection,
    out: &mut Emitter,
    requested: &MessageRequested,
) -> Result<(), sqlx::Error> {
    load_or_create(conn, out, &requested.operator_id, &requested.message_id, "").await?;
    if requested.author_kind() == AuthorKind::Operator {
        clear_wait(conn, out.conversation_id()).await?;
        handled(conn, out, &requested.operator_id).await?;
    }
    Ok(())
}

/// Counts the conversation as handled by `operator_id` on the event's UTC day.
async fn handled(
    conn: &mut AnyConnection,
    out: &Emitter,
    operator_id: &str,
) -> Result<(), sqlx::Error> {
    if operator_id.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO notif_handled (operator_id, day, conversation_id) VALUES ($1, $2, $3) \
         ON CONFLICT (operator_id, day, conversation_id) DO NOTHING",
    )
    .bind(operator_id)
    .bind(crate::operators::utc_day(out.at_ms()))
    .bind(out.conversation_id())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An outbound message could not be delivered: DELIVERY_FAILED.
pub async fn failed(
    conn: &mut AnyConnection,
    out: &mut Emitter,
    failed: &MessageFailed,
) -> Result<(), sqlx::Error> {
    let conv = load_or_create(conn, out, "", &failed.message_id, "").await?;
    out.push(
        Kind::DeliveryFailed,
        &conv.assignee_id,
        &failed.message_id,
        &failed.reason,
    );
    Ok(())
}

/// CONVERSATION_CLOSED; a closed conversation waits for nobody.
pub async fn closed(conn: &mut AnyConnection, out: &mut Emitter) -> Result<(), sqlx::Error> {
    let conv = load_or_create(conn, out, "", "", "").await?;
    if conv.closed != 0 {
        return Ok(());
    }
    sqlx::query("UPDATE notif_conversations SET closed = 1 WHERE id = $1")
        .bind(out.conversation_id())
        .execute(&mut *conn)
        .await?;
    clear_wait(conn, out.conversation_id()).await?;
    out.push(
        Kind::ConversationClosed,
        &conv.assignee_id,
        "",
        "conversation closed",
    );
    Ok(())
}

/// CONVERSATION_ASSIGNED, addressed to the new assignee.
pub async fn assigned(
    conn: &mut AnyConnection,
    out: &mut Emitter,
    assigned: &ConversationAssigned,
) -> Result<(), sqlx::Error> {
    load_or_create(conn, out, &assigned.operator_id, "", "").await?;
    sqlx::query("UPDATE notif_conversations SET assignee_id = $2 WHERE id = $1")
        .bind(out.conversation_id())
        .bind(&assigned.operator_id)
        .execute(&mut *conn)
        .await?;
    let text = match assigned.operator_id.as_str() {
        "" => "conversation unassigned".to_owned(),
        operator => format!("conversation assigned to {operator}"),
    };
    out.push(Kind::ConversationAssigned, &assigned.operator_id, "", &text);
    Ok(())
}

/// `MarkNoReplyNeeded`: the wait ends without an answer.
pub async fn no_reply_needed(
    conn: &mut AnyConnection,
    out: &mut Emitter,
) -> Result<(), sqlx::Error> {
    load_or_create(conn, out, "", "", "").await?;
    clear_wait(conn, out.conversation_id()).await
}

/// An operator opened a conversation before the customer wrote.
pub async fn started(
    conn: &mut AnyConnection,
    out: &mut Emitter,
    started: &ConversationStarted,
) -> Result<(), sqlx::Error> {
    load_or_create(conn, out, &started.operator_id, "", "conversation started").await?;
    Ok(())
}

/// The deadline fired: UNANSWERED, unless the wait it was armed for ended
/// meanwhile (answered, or a duplicate of an event already applied).
pub async fn unanswered(
    conn: &mut AnyConnection,
    out: &mut Emitter,
    detected: &UnansweredDetected,
) -> Result<(), sqlx::Error> {
    let Some(conv) = load(conn, out.conversation_id()).await? else {
        return Ok(());
    };
    let armed_for = i64::try_from(detected.waiting_since_sequence).unwrap_or(-1);
    if conv.waiting_seq != armed_for || conv.deadline_ms == 0 {
        return Ok(());
    }
    sqlx::query("UPDATE notif_conversations SET deadline_ms = 0 WHERE id = $1")
        .bind(out.conversation_id())
        .execute(&mut *conn)
        .await?;
    let waited_s = (out.at_ms() - detected.waiting_since_ms).max(0) / 1000;
    let text = format!("the customer has waited {waited_s} s for an answer");
    out.push(
        Kind::Unanswered,
        &conv.assignee_id,
        &detected.message_id,
        &text,
    );
    Ok(())
}
