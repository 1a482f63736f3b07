//! Reads and writes of the `timer_` tables, on the projection's transaction.

use omnibus_proto::ChannelKind;
use omnibus_store::{Backend, Param, Placeholders, Shot, keep_prepared};
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

/// The stored rows of the conversations `ids` (those that have one) and
/// their armed timers, in one round trip per chunk of ids: the two reads a
/// working set starts with for every run.
pub async fn load(
    conn: &mut AnyConnection,
    ids: &[&str],
) -> Result<(Vec<ConversationRow>, Vec<PendingRow>), sqlx::Error> {
    let (mut rows, mut pending) = (Vec::with_capacity(ids.len()), Vec::new());
    for chunk in ids.chunks(CHUNK) {
        // Both tables under one column list; the columns line up by type
        // (PostgreSQL requires it), and the first tells the tables apart.
        let mut p = Placeholders::for_connection(conn);
        let mut sql = String::from(
            "SELECT 'c', id, channel_id, provider_chat_id, NULL, open, NULL, NULL,
                 waiting_since_seq, off_hours_answered
             FROM timer_conversations WHERE id IN (",
        );
        p.push_list(&mut sql, chunk.len());
        sql.push_str(
            ") UNION ALL
             SELECT 'p', event_id, kind, conversation_id, channel_id, channel_kind,
                 provider_chat_id, text, due_ms, NULL
             FROM timer_pending WHERE conversation_id IN (",
        );
        p.push_list(&mut sql, chunk.len());
        sql.push(')');
        let mut query =
            sqlx::query(AssertSqlSafe(sql)).persistent(keep_prepared(chunk.len(), CHUNK));
        for id in chunk.iter().chain(chunk) {
            query = query.bind(*id);
        }
        for r in query.fetch_all(&mut *conn).await? {
            if r.try_get::<String, _>(0)? == "c" {
                rows.push(ConversationRow {
                    id: r.try_get(1)?,
                    channel_id: r.try_get(2)?,
                    provider_chat_id: r.try_get(3)?,
                    open: r.try_get::<i64, _>(5)? != 0,
                    waiting_since_seq: r.try_get(8)?,
                    off_hours_answered: r.try_get(9)?,
                });
            } else {
                pending.push(PendingRow {
                    event_id: r.try_get(1)?,
                    conversation_id: r.try_get(3)?,
                    timer: timer_from(&r, 1)?,
                });
            }
        }
    }
    Ok((rows, pending))
}

/// Writes what a working set's run changed: conversation rows to insert or
/// replace (each id at most once), timer rows to delete, then timers to
/// arm (an id already armed keeps its row). Deletes go before inserts, so a
/// timer armed again differently is replaced.
///
/// A live run changes a row or two of each, and the three writes then go
/// as one statement: on SQLite one script of three statements, on
/// PostgreSQL one statement whose first writes are `WITH` clauses. Those
/// all see the table as it was, so PostgreSQL only takes that path when no
/// deleted id is armed again; larger runs go chunk by chunk.
pub async fn write_changes(
    conn: &mut AnyConnection,
    upserts: &[ConversationRow],
    deletes: &[String],
    inserts: &[Timer],
) -> Result<(), sqlx::Error> {
    let backend = Backend::of(conn);
    let placeholders = Placeholders::for_connection(conn);
    for (shot, persistent) in statements(backend, placeholders, upserts, deletes, inserts) {
        let query = shot.into_query().persistent(persistent);
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// What [`write_changes`] writes, as shots for the projection runner to
/// send with its checkpoint (numbered placeholders, as shots have).
pub fn changes_as_shots(
    backend: Backend,
    upserts: &[ConversationRow],
    deletes: &[String],
    inserts: &[Timer],
) -> Vec<Shot> {
    let numbered = Placeholders::anonymous(false);
    statements(backend, numbered, upserts, deletes, inserts)
        .into_iter()
        .map(|(shot, _)| shot)
        .collect()
}

/// The statements of [`write_changes`] with their parameters, each with
/// whether it stays prepared; placeholders in the style of `placeholders`.
fn statements(
    backend: Backend,
    placeholders: Placeholders,
    upserts: &[ConversationRow],
    deletes: &[String],
    inserts: &[Timer],
) -> Vec<(Shot, bool)> {
    let sqlite = backend == Backend::Sqlite;
    let writes = [upserts.len(), deletes.len(), inserts.len()];
    let one_statement = writes.iter().filter(|n| **n > 0).count() > 1
        && writes.iter().all(|n| *n <= CHUNK)
        && (sqlite || !rearmed(deletes, inserts));
    if !one_statement {
        let mut all = chunked(&placeholders, upserts, push_upsert, conversation_params);
        all.extend(chunked(&placeholders, deletes, push_delete, id_params));
        all.extend(chunked(&placeholders, inserts, push_insert, timer_params));
        return all;
    }
    let mut p = placeholders;
    let mut parts = Vec::with_capacity(3);
    let mut params = Vec::new();
    for (n, push) in [
        (upserts.len(), push_upsert as Push),
        (deletes.len(), push_delete),
        (inserts.len(), push_insert),
    ] {
        if n > 0 {
            let mut part = String::new();
            push(&mut part, &mut p, n);
            parts.push(part);
        }
    }
    conversation_params(upserts, &mut params);
    id_params(deletes, &mut params);
    timer_params(inserts, &mut params);
    let sql = if sqlite {
        parts.join(";\n")
    } else {
        with_clauses(&parts)
    };
    // Live runs (a row or none of each) recur; other sizes would crowd the
    // connection's statement cache.
    let persistent = writes.iter().all(|n| *n <= 1);
    vec![(Shot::new(sql, params), persistent)]
}

/// Appends one write of `n` rows (or ids), taking its placeholders.
type Push = fn(&mut String, &mut Placeholders, usize);

/// Appends the parameters of rows, in the order their placeholders appear.
type Params<T> = fn(&[T], &mut Vec<Param>);

/// Whether a timer id is both deleted and inserted (armed again differently).
fn rearmed(deletes: &[String], inserts: &[Timer]) -> bool {
    let deleted: std::collections::HashSet<&str> = deletes.iter().map(String::as_str).collect();
    inserts
        .iter()
        .any(|t| deleted.contains(t.event_id.as_str()))
}

/// `items` a chunk per statement, each written by `push` with the
/// parameters of `params`; each with whether it stays prepared.
fn chunked<T>(
    placeholders: &Placeholders,
    items: &[T],
    push: Push,
    params: Params<T>,
) -> Vec<(Shot, bool)> {
    items
        .chunks(CHUNK)
        .map(|chunk| {
            let mut sql = String::new();
            push(&mut sql, &mut placeholders.clone(), chunk.len());
            let mut values = Vec::new();
            params(chunk, &mut values);
            (Shot::new(sql, values), keep_prepared(chunk.len(), CHUNK))
        })
        .collect()
}

/// `WITH w0 AS (first), w1 AS (second) last`: PostgreSQL runs every
/// data-modifying `WITH` clause, referenced or not.
fn with_clauses(parts: &[String]) -> String {
    let Some((last, first)) = parts.split_last() else {
        return String::new();
    };
    let mut sql = String::from("WITH ");
    for (i, part) in first.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("w{i} AS ({part})"));
    }
    sql.push(' ');
    sql.push_str(last);
    sql
}

fn push_upsert(sql: &mut String, p: &mut Placeholders, rows: usize) {
    sql.push_str(
        "INSERT INTO timer_conversations
             (id, channel_id, provider_chat_id, open, waiting_since_seq, off_hours_answered)
         VALUES ",
    );
    p.push_rows(sql, rows, 6);
    sql.push_str(
        " ON CONFLICT (id) DO UPDATE SET channel_id = excluded.channel_id,
             provider_chat_id = excluded.provider_chat_id, open = excluded.open,
             waiting_since_seq = excluded.waiting_since_seq,
             off_hours_answered = excluded.off_hours_answered",
    );
}

fn conversation_params(rows: &[ConversationRow], params: &mut Vec<Param>) {
    for row in rows {
        params.extend([
            row.id.as_str().into(),
            row.channel_id.as_str().into(),
            row.provider_chat_id.as_str().into(),
            i64::from(row.open).into(),
            row.waiting_since_seq.into(),
            row.off_hours_answered.into(),
        ]);
    }
}

fn push_delete(sql: &mut String, p: &mut Placeholders, ids: usize) {
    sql.push_str("DELETE FROM timer_pending WHERE event_id IN (");
    p.push_list(sql, ids);
    sql.push(')');
}

fn id_params(ids: &[String], params: &mut Vec<Param>) {
    params.extend(ids.iter().map(|id| id.as_str().into()));
}

fn push_insert(sql: &mut String, p: &mut Placeholders, rows: usize) {
    sql.push_str(
        "INSERT INTO timer_pending (event_id, kind, conversation_id, channel_id, channel_kind,
             provider_chat_id, text, due_ms) VALUES ",
    );
    p.push_rows(sql, rows, 8);
    sql.push_str(" ON CONFLICT (event_id) DO NOTHING");
}

fn timer_params(timers: &[Timer], params: &mut Vec<Param>) {
    for timer in timers {
        params.extend([
            timer.event_id.as_str().into(),
            timer.kind.as_str().into(),
            timer.conversation_id.as_str().into(),
            timer.channel_id.as_str().into(),
            (timer.channel_kind as i64).into(),
            timer.provider_chat_id.as_str().into(),
            timer.text.as_str().into(),
            timer.due_ms.into(),
        ]);
    }
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
    timer_from(row, 0)
}

/// The timer in the eight columns from `first` on (as `timer_pending`
/// orders them); `None` for a kind this version does not know.
fn timer_from(row: &AnyRow, first: usize) -> Result<Option<Timer>, sqlx::Error> {
    let kind: String = row.try_get(first + 1)?;
    let Some(kind) = TimerKind::parse(&kind) else {
        return Ok(None);
    };
    let channel_kind: i64 = row.try_get(first + 4)?;
    Ok(Some(Timer {
        event_id: row.try_get(first)?,
        kind,
        conversation_id: row.try_get(first + 2)?,
        channel_id: row.try_get(first + 3)?,
        channel_kind: i32::try_from(channel_kind)
            .ok()
            .and_then(|k| ChannelKind::try_from(k).ok())
            .unwrap_or(ChannelKind::Unspecified),
        provider_chat_id: row.try_get(first + 5)?,
        text: row.try_get(first + 6)?,
        due_ms: row.try_get(first + 7)?,
    }))
}
