//! Reads and writes of the `timer_` tables, on the projection's transaction.

use omnibus_proto::ChannelKind;
use omnibus_store::{Placeholders, keep_prepared};
use sqlx::{AnyConnection, AnyPool, AssertSqlSafe, Row as _, any::AnyRow};

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

/// Most rows (or ids) per run-time statement: 8 parameters a timer row at
/// most, far below SQLite's 32,766 and PostgreSQL's 65,535.
const CHUNK: usize = 250;

/// The stored rows of the conversations `ids` (those that have one).
pub async fn conversations(
    conn: &mut AnyConnection,
    ids: &[&str],
) -> Result<Vec<ConversationRow>, sqlx::Error> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let mut sql = String::from(
            "SELECT id, channel_id, provider_chat_id, open, waiting_since_seq, off_hours_answered
             FROM timer_conversations WHERE id IN (",
        );
        Placeholders::for_connection(conn).push_list(&mut sql, chunk.len());
        sql.push(')');
        let mut query =
            sqlx::query(AssertSqlSafe(sql)).persistent(keep_prepared(chunk.len(), CHUNK));
        for id in chunk {
            query = query.bind(*id);
        }
        for r in query.fetch_all(&mut *conn).await? {
            rows.push(ConversationRow {
                id: r.try_get(0)?,
                channel_id: r.try_get(1)?,
                provider_chat_id: r.try_get(2)?,
                open: r.try_get::<i64, _>(3)? != 0,
                waiting_since_seq: r.try_get(4)?,
                off_hours_answered: r.try_get(5)?,
            });
        }
    }
    Ok(rows)
}

/// Inserts or replaces conversations (each id at most once).
pub async fn save_conversations(
    conn: &mut AnyConnection,
    rows: &[ConversationRow],
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(CHUNK) {
        let mut sql = String::from(
            "INSERT INTO timer_conversations
                 (id, channel_id, provider_chat_id, open, waiting_since_seq, off_hours_answered)
             VALUES ",
        );
        Placeholders::for_connection(conn).push_rows(&mut sql, chunk.len(), 6);
        sql.push_str(
            " ON CONFLICT (id) DO UPDATE SET channel_id = excluded.channel_id,
                 provider_chat_id = excluded.provider_chat_id, open = excluded.open,
                 waiting_since_seq = excluded.waiting_since_seq,
                 off_hours_answered = excluded.off_hours_answered",
        );
        let mut query =
            sqlx::query(AssertSqlSafe(sql)).persistent(keep_prepared(chunk.len(), CHUNK));
        for row in chunk {
            query = query
                .bind(row.id.as_str())
                .bind(row.channel_id.as_str())
                .bind(row.provider_chat_id.as_str())
                .bind(i64::from(row.open))
                .bind(row.waiting_since_seq)
                .bind(row.off_hours_answered);
        }
        query.execute(&mut *conn).await?;
    }
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

/// A stored timer row, with its id and conversation even when its kind is
/// not one this version knows (`timer` is `None` then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRow {
    pub event_id: String,
    pub conversation_id: String,
    pub timer: Option<Timer>,
}

/// Every armed timer of the conversations `ids`.
pub async fn pending_of(
    conn: &mut AnyConnection,
    ids: &[&str],
) -> Result<Vec<PendingRow>, sqlx::Error> {
    let mut rows = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let mut sql = String::from(
            "SELECT event_id, kind, conversation_id, channel_id, channel_kind, provider_chat_id,
                 text, due_ms FROM timer_pending WHERE conversation_id IN (",
        );
        Placeholders::for_connection(conn).push_list(&mut sql, chunk.len());
        sql.push(')');
        let mut query =
            sqlx::query(AssertSqlSafe(sql)).persistent(keep_prepared(chunk.len(), CHUNK));
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            rows.push(PendingRow {
                event_id: row.try_get(0)?,
                conversation_id: row.try_get(2)?,
                timer: timer(&row)?,
            });
        }
    }
    Ok(rows)
}

/// Arms timers whose ids are not armed (an armed id keeps its row).
pub async fn insert_pending(conn: &mut AnyConnection, timers: &[Timer]) -> Result<(), sqlx::Error> {
    for chunk in timers.chunks(CHUNK) {
        let mut sql = String::from(
            "INSERT INTO timer_pending (event_id, kind, conversation_id, channel_id, channel_kind,
                 provider_chat_id, text, due_ms) VALUES ",
        );
        Placeholders::for_connection(conn).push_rows(&mut sql, chunk.len(), 8);
        sql.push_str(" ON CONFLICT (event_id) DO NOTHING");
        let mut query =
            sqlx::query(AssertSqlSafe(sql)).persistent(keep_prepared(chunk.len(), CHUNK));
        for timer in chunk {
            query = query
                .bind(timer.event_id.as_str())
                .bind(timer.kind.as_str())
                .bind(timer.conversation_id.as_str())
                .bind(timer.channel_id.as_str())
                .bind(timer.channel_kind as i64)
                .bind(timer.provider_chat_id.as_str())
                .bind(timer.text.as_str())
                .bind(timer.due_ms);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Disarms the timers `ids` (those armed).
pub async fn delete_pending(conn: &mut AnyConnection, ids: &[String]) -> Result<(), sqlx::Error> {
    for chunk in ids.chunks(CHUNK) {
        let mut sql = String::from("DELETE FROM timer_pending WHERE event_id IN (");
        Placeholders::for_connection(conn).push_list(&mut sql, chunk.len());
        sql.push(')');
        let mut query =
            sqlx::query(AssertSqlSafe(sql)).persistent(keep_prepared(chunk.len(), CHUNK));
        for id in chunk {
            query = query.bind(id.as_str());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
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
             text, due_ms FROM timer_pending WHERE channel_id = $1 AND kind = $2
         ORDER BY event_id",
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
