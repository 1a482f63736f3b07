//! Reads and writes of the `window_` tables. Every function takes a
//! connection, so the projection runs them on its transaction and the
//! readers on a pooled connection.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use omnibus_proto::{ChannelKind, MessageRequested, TemplateStatus};
use omnibus_store::{Placeholders, keep_prepared};
use prost::Message as _;
use sqlx::{AnyConnection, Row as _, any::AnyRow};

use crate::model::{ChannelRow, ConversationRow, MessageRow, MessageState, TemplateRow};

type Result<T> = std::result::Result<T, sqlx::Error>;

// === channels ===

/// A channel, `None` before its first snapshot.
pub async fn channel(conn: &mut AnyConnection, id: &str) -> Result<Option<ChannelRow>> {
    let row = sqlx::query(
        "SELECT kind, deleted, default_template, human_agent_tag FROM window_channels
             WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(ChannelRow {
            id: id.to_owned(),
            kind: channel_kind(r.try_get(0)?),
            deleted: r.try_get::<i64, _>(1)? != 0,
            default_template: r.try_get(2)?,
            human_agent_tag: r.try_get::<i64, _>(3)? != 0,
        })
    })
    .transpose()
}

/// Inserts or replaces a channel.
pub async fn save_channel(conn: &mut AnyConnection, channel: &ChannelRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO window_channels (id, kind, deleted, default_template, human_agent_tag)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, deleted = excluded.deleted,
             default_template = excluded.default_template,
             human_agent_tag = excluded.human_agent_tag",
    )
    .bind(channel.id.as_str())
    .bind(channel.kind as i64)
    .bind(i64::from(channel.deleted))
    .bind(channel.default_template.as_str())
    .bind(i64::from(channel.human_agent_tag))
    .execute(conn)
    .await?;
    Ok(())
}

fn channel_kind(value: i64) -> ChannelKind {
    i32::try_from(value)
        .ok()
        .and_then(|k| ChannelKind::try_from(k).ok())
        .unwrap_or(ChannelKind::Unspecified)
}

// === conversations ===

/// Most conversations read or written by one statement: 5 values a row
/// keeps an upsert far below both backends' parameter limits.
const CONVERSATION_ROWS: usize = 500;

const CONVERSATION_COLUMNS: &str = "id, channel_id, last_customer_ms, provider_closed, reopen_sent";

/// A conversation, `None` before its first event.
pub async fn conversation(conn: &mut AnyConnection, id: &str) -> Result<Option<ConversationRow>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CONVERSATION_COLUMNS} FROM window_conversations WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(conversation_row).transpose()
}

/// The stored conversations among `ids`, in any order: one `IN (…)`
/// statement per [`CONVERSATION_ROWS`] ids, so a projection run loads its
/// conversations in one round trip instead of one per event.
pub async fn conversations(conn: &mut AnyConnection, ids: &[&str]) -> Result<Vec<ConversationRow>> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CONVERSATION_ROWS) {
        let mut sql =
            format!("SELECT {CONVERSATION_COLUMNS} FROM window_conversations WHERE id IN (");
        Placeholders::for_connection(conn).push_list(&mut sql, chunk.len());
        sql.push(')');
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .persistent(keep_prepared(chunk.len(), CONVERSATION_ROWS));
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            found.push(conversation_row(&row)?);
        }
    }
    Ok(found)
}

/// Inserts or replaces conversations (distinct ids): one multi-row upsert
/// per [`CONVERSATION_ROWS`] rows.
pub async fn save_conversations(conn: &mut AnyConnection, rows: &[&ConversationRow]) -> Result<()> {
    for chunk in rows.chunks(CONVERSATION_ROWS) {
        let mut sql = format!("INSERT INTO window_conversations ({CONVERSATION_COLUMNS}) VALUES ");
        Placeholders::for_connection(conn).push_rows(&mut sql, chunk.len(), 5);
        sql.push_str(
            " ON CONFLICT (id) DO UPDATE SET channel_id = excluded.channel_id,
                 last_customer_ms = excluded.last_customer_ms,
                 provider_closed = excluded.provider_closed, reopen_sent = excluded.reopen_sent",
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .persistent(keep_prepared(chunk.len(), CONVERSATION_ROWS));
        for row in chunk {
            query = query
                .bind(row.id.as_str())
                .bind(row.channel_id.as_str())
                .bind(row.last_customer_ms)
                .bind(i64::from(row.provider_closed))
                .bind(i64::from(row.reopen_sent));
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

fn conversation_row(r: &AnyRow) -> Result<ConversationRow> {
    Ok(ConversationRow {
        id: r.try_get(0)?,
        channel_id: r.try_get(1)?,
        last_customer_ms: r.try_get(2)?,
        provider_closed: r.try_get::<i64, _>(3)? != 0,
        reopen_sent: r.try_get::<i64, _>(4)? != 0,
    })
}

// === templates ===

const TEMPLATE_COLUMNS: &str = "channel_id, name, language, body, category, status, \
     status_reason, provider_template_id, updated_at_ms";

/// Every template of a channel, by name and language.
pub async fn templates(conn: &mut AnyConnection, channel_id: &str) -> Result<Vec<TemplateRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {TEMPLATE_COLUMNS} FROM window_templates WHERE channel_id = $1
         ORDER BY name, language"
    )))
    .bind(channel_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(template_row).collect()
}

/// Inserts or replaces a template.
pub async fn save_template(conn: &mut AnyConnection, t: &TemplateRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO window_templates (channel_id, name, language, body, category, status,
             status_reason, provider_template_id, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (channel_id, name, language) DO UPDATE SET body = excluded.body,
             category = excluded.category, status = excluded.status,
             status_reason = excluded.status_reason,
             provider_template_id = excluded.provider_template_id,
             updated_at_ms = excluded.updated_at_ms",
    )
    .bind(t.channel_id.as_str())
    .bind(t.name.as_str())
    .bind(t.language.as_str())
    .bind(t.body.as_str())
    .bind(t.category.as_str())
    .bind(t.status as i64)
    .bind(t.status_reason.as_str())
    .bind(t.provider_template_id.as_str())
    .bind(t.updated_at_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes a template (nothing when it is unknown).
pub async fn delete_template(
    conn: &mut AnyConnection,
    channel_id: &str,
    name: &str,
    language: &str,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM window_templates WHERE channel_id = $1 AND name = $2 AND language = $3",
    )
    .bind(channel_id)
    .bind(name)
    .bind(language)
    .execute(conn)
    .await?;
    Ok(())
}

fn template_row(r: &AnyRow) -> Result<TemplateRow> {
    let status: i64 = r.try_get(5)?;
    Ok(TemplateRow {
        channel_id: r.try_get(0)?,
        name: r.try_get(1)?,
        language: r.try_get(2)?,
        body: r.try_get(3)?,
        category: r.try_get(4)?,
        status: i32::try_from(status)
            .ok()
            .and_then(|s| TemplateStatus::try_from(s).ok())
            .unwrap_or(TemplateStatus::Unspecified),
        status_reason: r.try_get(6)?,
        provider_template_id: r.try_get(7)?,
        updated_at_ms: r.try_get(8)?,
    })
}

// === gated messages ===

const MESSAGE_COLUMNS: &str =
    "message_id, conversation_id, channel_id, seq, state, attempt, held_until_ms, request";

/// Records a gate request; false when the message is known already.
pub async fn insert_message(conn: &mut AnyConnection, m: &MessageRow) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO window_messages (message_id, conversation_id, channel_id, seq, state,
             attempt, held_until_ms, request)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(m.message_id.as_str())
    .bind(m.conversation_id.as_str())
    .bind(m.channel_id.as_str())
    .bind(m.seq)
    .bind(m.state.as_str())
    .bind(m.attempt)
    .bind(m.held_until_ms)
    .bind(STANDARD.encode(m.request.encode_to_vec()))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One gated message.
pub async fn message(conn: &mut AnyConnection, id: &str) -> Result<Option<MessageRow>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM window_messages WHERE message_id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(message_row).transpose()
}

/// Moves a message to `state`.
pub async fn set_message_state(
    conn: &mut AnyConnection,
    id: &str,
    state: MessageState,
    attempt: i64,
    held_until_ms: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE window_messages SET state = $2, attempt = $3, held_until_ms = $4
         WHERE message_id = $1",
    )
    .bind(id)
    .bind(state.as_str())
    .bind(attempt)
    .bind(held_until_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Up to `limit` messages in `state`, oldest request first.
pub async fn messages_in_state(
    conn: &mut AnyConnection,
    state: MessageState,
    limit: i64,
) -> Result<Vec<MessageRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM window_messages WHERE state = $1 ORDER BY seq LIMIT $2"
    )))
    .bind(state.as_str())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(message_row).collect()
}

/// How many messages of a conversation are held.
pub async fn held_in(conn: &mut AnyConnection, conversation_id: &str) -> Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM window_messages WHERE conversation_id = $1 AND state = 'held'",
    )
    .bind(conversation_id)
    .fetch_one(conn)
    .await
}

/// How many messages are held in all.
pub async fn held_total(conn: &mut AnyConnection) -> Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM window_messages WHERE state = 'held'")
        .fetch_one(conn)
        .await
}

fn message_row(r: &AnyRow) -> Result<MessageRow> {
    let state: String = r.try_get(4)?;
    let encoded: String = r.try_get(7)?;
    let request = STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| MessageRequested::decode(bytes.as_slice()).ok())
        .ok_or_else(|| sqlx::Error::Decode("window_messages.request is not a request".into()))?;
    Ok(MessageRow {
        message_id: r.try_get(0)?,
        conversation_id: r.try_get(1)?,
        channel_id: r.try_get(2)?,
        seq: r.try_get(3)?,
        state: MessageState::parse(&state).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown window_messages.state {state:?}").into())
        })?,
        attempt: r.try_get(5)?,
        held_until_ms: r.try_get(6)?,
        request,
    })
}

/// Held messages of conversations whose customer wrote after `since_ms`
/// (candidates for release), oldest request first.
pub async fn held_since(
    conn: &mut AnyConnection,
    since_ms: i64,
    limit: i64,
) -> Result<Vec<MessageRow>> {
    let rows = sqlx::query(
        "SELECT m.message_id, m.conversation_id, m.channel_id, m.seq, m.state, m.attempt,
             m.held_until_ms, m.request
         FROM window_messages m JOIN window_conversations c ON c.id = m.conversation_id
         WHERE m.state = 'held' AND c.provider_closed = 0 AND c.last_customer_ms > $1
         ORDER BY m.seq LIMIT $2",
    )
    .bind(since_ms)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(message_row).collect()
}

/// Held messages whose hold ran out at `now_ms`, oldest request first.
pub async fn held_until(
    conn: &mut AnyConnection,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<MessageRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {MESSAGE_COLUMNS} FROM window_messages
         WHERE state = 'held' AND held_until_ms <= $1 ORDER BY seq LIMIT $2"
    )))
    .bind(now_ms)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(message_row).collect()
}

/// When the next held message runs out.
pub async fn next_hold_end(conn: &mut AnyConnection) -> Result<Option<i64>> {
    sqlx::query_scalar("SELECT MIN(held_until_ms) FROM window_messages WHERE state = 'held'")
        .fetch_one(conn)
        .await
}
