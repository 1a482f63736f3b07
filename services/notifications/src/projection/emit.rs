//! [`Emitter`]: collects the notifications one event causes and numbers
//! them from the event's stream sequence. [`Outbox`]: keeps a run's
//! notifications and stores them, with their webhook deliveries, in a few
//! multi-row statements instead of one statement per row.

use std::collections::HashSet;

use omnibus_proto::{Event, NotificationKind};
use omnibus_store::{Placeholders, keep_prepared};
use sqlx::AnyConnection;

use crate::model::{ORD_SPAN, StoredNotification, kinds_admit};

/// Delivery states as stored (`DeliveryState` numbers).
pub(crate) const PENDING: i64 = omnibus_proto::DeliveryState::Pending as i64;

/// Rows per multi-row statement: 8 parameters a row keeps a statement at
/// 2,000 parameters, far below SQLite's and PostgreSQL's limits.
const ROWS: usize = 250;

/// The notifications of one event, in the order they happened.
pub struct Emitter {
    seq: i64,
    conversation_id: String,
    channel_id: String,
    at_ms: i64,
    /// False while replaying old history: no webhook deliveries then.
    deliver: bool,
    notes: Vec<StoredNotification>,
}

impl Emitter {
    /// An emitter for `event` at stream sequence `seq`. A notification is
    /// dated when Omnibus stored its event, so times follow the stream's
    /// order (a provider's clock, often in whole seconds, could put a
    /// REOPENED before the CLOSED it follows).
    pub fn new(seq: u64, event: &Event, deliver: bool) -> Self {
        let at_ms = if event.recorded_at_ms != 0 {
            event.recorded_at_ms
        } else {
            event.occurred_at_ms
        };
        Self {
            seq: i64::try_from(seq).unwrap_or(i64::MAX / ORD_SPAN),
            conversation_id: event.conversation_id.clone(),
            channel_id: event.channel_id.clone(),
            at_ms,
            deliver,
            notes: Vec::new(),
        }
    }

    /// The event's conversation.
    pub fn conversation_id(&self) -> &str {
        &self.conversation_id
    }

    /// The event's channel.
    pub fn channel_id(&self) -> &str {
        &self.channel_id
    }

    /// When the event happened (unix ms).
    pub fn at_ms(&self) -> i64 {
        self.at_ms
    }

    /// The event's stream sequence.
    pub fn seq(&self) -> i64 {
        self.seq
    }

    /// Adds a notification; `operator_id` is the assignee after the event.
    pub fn push(
        &mut self,
        kind: NotificationKind,
        operator_id: &str,
        message_id: &str,
        text: &str,
    ) {
        let n = self.notes.len() as i64;
        self.notes.push(StoredNotification {
            ord: self.seq.saturating_mul(ORD_SPAN).saturating_add(n),
            kind,
            conversation_id: self.conversation_id.clone(),
            channel_id: self.channel_id.clone(),
            message_id: message_id.to_owned(),
            text: text.to_owned(),
            operator_id: operator_id.to_owned(),
            created_at_ms: self.at_ms,
        });
    }
}

/// A notification waiting to be stored, and whether it gets deliveries.
struct Pending {
    note: StoredNotification,
    deliver: bool,
}

/// The notifications of a run, stored at its end (or before an event that
/// changes webhooks, so every note gets the deliveries of the webhooks
/// active when it happened, and a stopped webhook abandons them).
#[derive(Default)]
pub struct Outbox {
    pending: Vec<Pending>,
    /// Every `ord` of the run: a repeated one would conflict on insert.
    seen: HashSet<i64>,
    /// The notifications that were new, in stream order.
    fresh: Vec<StoredNotification>,
}

impl Outbox {
    /// Takes the notifications of one event.
    pub fn add(&mut self, emitter: Emitter) {
        let deliver = emitter.deliver;
        for note in emitter.notes {
            if self.seen.insert(note.ord) {
                self.pending.push(Pending { note, deliver });
            }
        }
    }

    /// Stores what is pending: the notifications, then a delivery per new
    /// notification and matching active webhook.
    pub async fn flush(&mut self, conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let mut new = HashSet::with_capacity(pending.len());
        for chunk in pending.chunks(ROWS) {
            new.extend(insert_notes(conn, chunk).await?);
        }
        let fresh: Vec<Pending> = pending
            .into_iter()
            .filter(|p| new.contains(&p.note.ord))
            .collect();
        queue_deliveries(conn, &fresh).await?;
        self.fresh.extend(fresh.into_iter().map(|p| p.note));
        Ok(())
    }

    /// True when no event of the run created a notification.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.fresh.is_empty()
    }

    /// The notifications that were new, once everything was flushed.
    pub fn into_fresh(self) -> Vec<StoredNotification> {
        debug_assert!(self.pending.is_empty(), "outbox dropped unflushed");
        self.fresh
    }
}

/// Inserts `rows`; returns the `ord`s that were new (the others were there
/// already: a replayed event).
async fn insert_notes(conn: &mut AnyConnection, rows: &[Pending]) -> Result<Vec<i64>, sqlx::Error> {
    let mut sql = String::from(
        "INSERT INTO notif_notifications \
         (ord, kind, conversation_id, channel_id, message_id, text, operator_id, created_at_ms) \
         VALUES ",
    );
    Placeholders::for_connection(conn).push_rows(&mut sql, rows.len(), 8);
    sql.push_str(" ON CONFLICT (ord) DO NOTHING RETURNING ord");
    let mut query = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
        .persistent(keep_prepared(rows.len(), ROWS));
    for Pending { note, .. } in rows {
        query = query
            .bind(note.ord)
            .bind(note.kind as i64)
            .bind(note.conversation_id.as_str())
            .bind(note.channel_id.as_str())
            .bind(note.message_id.as_str())
            .bind(note.text.as_str())
            .bind(note.operator_id.as_str())
            .bind(note.created_at_ms);
    }
    query.fetch_all(&mut *conn).await
}

/// One delivery to queue: a webhook and the notification it gets.
struct Queued<'a> {
    webhook_id: &'a str,
    note: &'a StoredNotification,
}

/// Queues a delivery per notification in `fresh` that gets deliveries and
/// per active webhook whose kinds admit it. The active webhooks are read
/// here, only when something may be delivered.
async fn queue_deliveries(conn: &mut AnyConnection, fresh: &[Pending]) -> Result<(), sqlx::Error> {
    if !fresh.iter().any(|p| p.deliver) {
        return Ok(());
    }
    let hooks: Vec<(String, String)> =
        sqlx::query_as("SELECT id, kinds FROM notif_webhooks WHERE status = $1")
            .bind(omnibus_proto::WebhookStatus::Active as i64)
            .fetch_all(&mut *conn)
            .await?;
    let deliveries: Vec<Queued<'_>> = fresh
        .iter()
        .filter(|p| p.deliver)
        .flat_map(|p| {
            hooks
                .iter()
                .filter(move |(_, kinds)| kinds_admit(kinds, p.note.kind))
                .map(move |(webhook_id, _)| Queued {
                    webhook_id,
                    note: &p.note,
                })
        })
        .collect();
    let now = omnibus_core::now_ms();
    for chunk in deliveries.chunks(ROWS) {
        insert_deliveries(conn, chunk, now).await?;
    }
    Ok(())
}

async fn insert_deliveries(
    conn: &mut AnyConnection,
    rows: &[Queued<'_>],
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut sql = String::from(
        "INSERT INTO notif_deliveries \
         (webhook_id, ord, conversation_id, body, state, attempts, created_at_ms, next_attempt_ms) \
         VALUES ",
    );
    Placeholders::for_connection(conn).push_rows_with(&mut sql, rows.len(), |sql, p| {
        let values = [p.next(), p.next(), p.next(), p.next(), p.next()];
        sql.push_str(&values.join(", "));
        sql.push_str(", 0, ");
        let times = [p.next(), p.next()];
        sql.push_str(&times.join(", "));
    });
    sql.push_str(" ON CONFLICT (webhook_id, ord) DO NOTHING");
    let mut query =
        sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(keep_prepared(rows.len(), ROWS));
    for row in rows {
        query = query
            .bind(row.webhook_id)
            .bind(row.note.ord)
            .bind(row.note.conversation_id.as_str())
            .bind(row.note.webhook_body(row.webhook_id))
            .bind(PENDING)
            .bind(now)
            .bind(now);
    }
    query.execute(&mut *conn).await?;
    Ok(())
}
