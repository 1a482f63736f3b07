//! [`Emitter`]: collects the notifications one event causes, numbers them
//! from the event's stream sequence, and stores them with their webhook
//! deliveries in the projection's transaction.

use omnibus_proto::{Event, NotificationKind};
use sqlx::AnyConnection;

use crate::model::{ORD_SPAN, StoredNotification, kinds_admit};

/// Delivery states as stored (`DeliveryState` numbers).
pub(crate) const PENDING: i64 = omnibus_proto::DeliveryState::Pending as i64;

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

    /// Stores the notifications and queues a delivery per matching active
    /// webhook; returns the notifications that were new. `hooks` holds the
    /// active webhooks read for earlier events of the run (read here when
    /// `None`; the caller resets it when an event changes webhooks).
    pub async fn flush(
        self,
        conn: &mut AnyConnection,
        hooks: &mut Option<Vec<(String, String)>>,
    ) -> Result<Vec<StoredNotification>, sqlx::Error> {
        if self.notes.is_empty() {
            return Ok(Vec::new());
        }
        let hooks: &[(String, String)] = if self.deliver {
            if hooks.is_none() {
                let active =
                    sqlx::query_as("SELECT id, kinds FROM notif_webhooks WHERE status = $1")
                        .bind(omnibus_proto::WebhookStatus::Active as i64)
                        .fetch_all(&mut *conn)
                        .await?;
                *hooks = Some(active);
            }
            hooks.as_deref().unwrap_or_default()
        } else {
            &[]
        };
        let mut fresh = Vec::with_capacity(self.notes.len());
        for note in self.notes {
            if !insert(conn, &note).await? {
                continue;
            }
            for (webhook_id, kinds) in hooks {
                if kinds_admit(kinds, note.kind) {
                    queue_delivery(conn, webhook_id, &note).await?;
                }
            }
            fresh.push(note);
        }
        Ok(fresh)
    }
}

/// Inserts `note`; false when it was already there (a replayed event).
async fn insert(conn: &mut AnyConnection, note: &StoredNotification) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO notif_notifications \
         (ord, kind, conversation_id, channel_id, message_id, text, operator_id, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (ord) DO NOTHING",
    )
    .bind(note.ord)
    .bind(note.kind as i64)
    .bind(&note.conversation_id)
    .bind(&note.channel_id)
    .bind(&note.message_id)
    .bind(&note.text)
    .bind(&note.operator_id)
    .bind(note.created_at_ms)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn queue_delivery(
    conn: &mut AnyConnection,
    webhook_id: &str,
    note: &StoredNotification,
) -> Result<(), sqlx::Error> {
    let now = omnibus_core::now_ms();
    sqlx::query(
        "INSERT INTO notif_deliveries \
         (webhook_id, ord, conversation_id, body, state, attempts, created_at_ms, next_attempt_ms) \
         VALUES ($1, $2, $3, $4, $5, 0, $6, $6) ON CONFLICT (webhook_id, ord) DO NOTHING",
    )
    .bind(webhook_id)
    .bind(note.ord)
    .bind(&note.conversation_id)
    .bind(note.webhook_body(webhook_id))
    .bind(PENDING)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
