//! Reads and writes of the `timer_` tables, on the projection's transaction.

use omnibus_proto::ChannelKind;
use sqlx::{AnyConnection, AnyPool, Row as _, any::AnyRow};

use crate::timer::{Timer, TimerKind};

/// A conversation as the timers see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationRow {
    pub id: String,
    pub channel_id: String,
    pub provider_chat_id: String,
    pub open: bool,
    /// Stream sequence of the customer message that started the running
    /// auto-reply sequence; 0 when none runs (answered, or never started).
    pub waiting_since_seq: i64,
    /// Key of the off-hours period already answered (see `WorkingHours`).
    pub off_hours_answered: i64,
}

/// Loads a conversation, `None` before its first event.
pub async fn conversation(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<ConversationRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT channel_id, provider_chat_id, open, waiting_since_seq, off_hours_answered
         FROM timer_conversations WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(ConversationRow {
            id: id.to_owned(),
            channel_id: r.try_get(0)?,
            provider_chat_id: r.try_get(1)?,
            open: r.try_get::<i64, _>(2)? != 0,
            waiting_since_seq: r.try_get(3)?,
            off_hours_answered: r.try_get(4)?,
        })
    })
    .transpose()
}

/// Inserts or replaces a conversation.
pub async fn save_conversation(
    conn: &mut AnyConnection,
    row: &ConversationRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO timer_conversations
             (id, channel_id, provider_chat_id, open, waiting_since_seq, off_hours_answered)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET channel_id = excluded.channel_id,
             provider_chat_id = excluded.provider_chat_id, open = excluded.open,
             waiting_since_seq = excluded.waiting_since_seq,
             off_hours_answered = excluded.off_hours_answered",
    )
    .bind(row.id.as_str())
    .bind(row.channel_id.as_str())
    .bind(row.provider_chat_id.as_str())
    .bind(i64::from(row.open))
    .bind(row.waiting_since_seq)
    .bind(row.off_hours_answered)
    .execute(conn)
    .await?;
    Ok(())
}

/// Stores a channel snapshot's parts the timers use.
pub async fn save_channel(
    conn: &mut AnyConnection,
    id: &str,
    kind: i32,
    deleted: bool,
    settings: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO timer_channels (id, kind, deleted, settings) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, deleted = excluded.deleted,
             settings = excluded.settings",
    )
    .bind(id)
    .bind(i64::from(kind))
    .bind(i64::from(deleted))
    .bind(settings)
    .execute(conn)
    .await?;
    Ok(())
}

/// A stored channel: (kind, deleted, base64 settings).
pub async fn channel(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<(i64, bool, String)>, sqlx::Error> {
    let row = sqlx::query("SELECT kind, deleted, settings FROM timer_channels WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get::<i64, _>(1)? != 0, r.try_get(2)?)))
        .transpose()
}

/// Arms a timer; true when it was not armed yet.
pub async fn arm(conn: &mut AnyConnection, timer: &Timer) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO timer_pending (event_id, kind, conversation_id, channel_id, channel_kind,
             provider_chat_id, text, due_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(timer.event_id.as_str())
    .bind(timer.kind.as_str())
    .bind(timer.conversation_id.as_str())
    .bind(timer.channel_id.as_str())
    .bind(timer.channel_kind as i64)
    .bind(timer.provider_chat_id.as_str())
    .bind(timer.text.as_str())
    .bind(timer.due_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Disarms one timer by id; true when it was armed.
pub async fn disarm(conn: &mut AnyConnection, event_id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM timer_pending WHERE event_id = $1")
        .bind(event_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Disarms every timer of `kind` in a conversation; returns their ids.
pub async fn disarm_kind(
    conn: &mut AnyConnection,
    conversation_id: &str,
    kind: TimerKind,
) -> Result<Vec<String>, sqlx::Error> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT event_id FROM timer_pending WHERE conversation_id = $1 AND kind = $2",
    )
    .bind(conversation_id)
    .bind(kind.as_str())
    .fetch_all(&mut *conn)
    .await?;
    if !ids.is_empty() {
        sqlx::query("DELETE FROM timer_pending WHERE conversation_id = $1 AND kind = $2")
            .bind(conversation_id)
            .bind(kind.as_str())
            .execute(conn)
            .await?;
    }
    Ok(ids)
}

/// Moves every armed `kind` timer of a channel by `delta_ms` (a changed
/// inactivity applies to conversations already open) and returns them.
pub async fn shift_channel_timers(
    conn: &mut AnyConnection,
    channel_id: &str,
    kind: TimerKind,
    delta_ms: i64,
) -> Result<Vec<Timer>, sqlx::Error> {
    sqlx::query(
        "UPDATE timer_pending SET due_ms = due_ms + $1 WHERE channel_id = $2 AND kind = $3",
    )
    .bind(delta_ms)
    .bind(channel_id)
    .bind(kind.as_str())
    .execute(&mut *conn)
    .await?;
    let rows = sqlx::query(
        "SELECT event_id, kind, conversation_id, channel_id, channel_kind, provider_chat_id,
             text, due_ms FROM timer_pending WHERE channel_id = $1 AND kind = $2",
    )
    .bind(channel_id)
    .bind(kind.as_str())
    .fetch_all(conn)
    .await?;
    let mut timers = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Some(timer) = timer(row)? {
            timers.push(timer);
        }
    }
    Ok(timers)
}

/// Every armed timer, to rebuild the in-memory schedule at start.
pub async fn all_pending(pool: &AnyPool) -> Result<Vec<Timer>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT event_id, kind, conversation_id, channel_id, channel_kind, provider_chat_id,
             text, due_ms FROM timer_pending",
    )
    .fetch_all(pool)
    .await?;
    let mut timers = Vec::with_capacity(rows.len());
    for row in &rows {
        match timer(row) {
            Ok(Some(timer)) => timers.push(timer),
            Ok(None) => tracing::warn!("skipping a pending timer of an unknown kind"),
            Err(err) => return Err(err),
        }
    }
    Ok(timers)
}

fn timer(row: &AnyRow) -> Result<Option<Timer>, sqlx::Error> {
    let kind: String = row.try_get(1)?;
    let Some(kind) = TimerKind::parse(&kind) else {
        return Ok(None);
    };
    let channel_kind: i64 = row.try_get(4)?;
    Ok(Some(Timer {
        event_id: row.try_get(0)?,
        kind,
        conversation_id: row.try_get(2)?,
        channel_id: row.try_get(3)?,
        channel_kind: i32::try_from(channel_kind)
            .ok()
            .and_then(|k| ChannelKind::try_from(k).ok())
            .unwrap_or(ChannelKind::Unspecified),
        provider_chat_id: row.try_get(5)?,
        text: row.try_get(6)?,
        due_ms: row.try_get(7)?,
    }))
}
