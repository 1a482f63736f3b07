//! Reads of the `notif_` tables for the API and the subscriber streams.

use omnibus_proto::{Delivery, DeliveryAttempt, NotificationKind, Webhook, WebhookStatus};
use omnibus_store::Store;

use crate::model::{StoredNotification, decode_kinds, format_id};
use crate::projection::DELETED;
use crate::{Result, ServiceError};

/// Read access to the projection; cheap to clone.
#[derive(Clone)]
pub struct Queries {
    store: Store,
}

struct NotificationRow {
    ord: i64,
    kind: i64,
    conversation_id: String,
    channel_id: String,
    message_id: String,
    text: String,
    operator_id: String,
    created_at_ms: i64,
}
from_row!(NotificationRow {
    ord,
    kind,
    conversation_id,
    channel_id,
    message_id,
    text,
    operator_id,
    created_at_ms
});

struct WebhookRow {
    id: String,
    url: String,
    kinds: String,
    status: i64,
    status_reason: String,
    created_at_ms: i64,
}
from_row!(WebhookRow {
    id,
    url,
    kinds,
    status,
    status_reason,
    created_at_ms
});

struct DeliveryRow {
    webhook_id: String,
    ord: i64,
    conversation_id: String,
    state: i64,
    next_attempt_ms: i64,
}
from_row!(DeliveryRow {
    webhook_id,
    ord,
    conversation_id,
    state,
    next_attempt_ms
});

struct AttemptRow {
    attempt: i64,
    at_ms: i64,
    status_code: i64,
    error: String,
}
from_row!(AttemptRow {
    attempt,
    at_ms,
    status_code,
    error
});

impl Queries {
    /// Queries over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Up to `limit` notifications after `ord`, in stream order.
    pub async fn notifications_after(
        &self,
        ord: i64,
        limit: i64,
    ) -> Result<Vec<StoredNotification>> {
        let rows: Vec<NotificationRow> = sqlx::query_as(
            "SELECT ord, kind, conversation_id, channel_id, message_id, text, operator_id, \
             created_at_ms FROM notif_notifications WHERE ord > $1 ORDER BY ord LIMIT $2",
        )
        .bind(ord)
        .bind(limit)
        .fetch_all(self.store.pool())
        .await?;
        Ok(rows.into_iter().map(notification).collect())
    }

    /// Every webhook that was not deleted, oldest first.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>> {
        let rows: Vec<WebhookRow> = sqlx::query_as(
            "SELECT id, url, kinds, status, status_reason, created_at_ms FROM notif_webhooks \
             WHERE status <> $1 ORDER BY created_at_ms, id",
        )
        .bind(DELETED)
        .fetch_all(self.store.pool())
        .await?;
        Ok(rows.into_iter().map(webhook).collect())
    }

    /// One webhook, NOT_FOUND when it does not exist or was deleted.
    pub async fn webhook(&self, id: &str) -> Result<Webhook> {
        let row: Option<WebhookRow> = sqlx::query_as(
            "SELECT id, url, kinds, status, status_reason, created_at_ms FROM notif_webhooks \
             WHERE id = $1 AND status <> $2",
        )
        .bind(id)
        .bind(DELETED)
        .fetch_optional(self.store.pool())
        .await?;
        row.map(webhook).ok_or_else(|| {
            ServiceError::NotFound(format!(
                "webhook {id:?} not found; ListWebhooks shows the existing ones"
            ))
        })
    }

    /// The latest `limit` deliveries of a webhook with their attempts.
    pub async fn deliveries(&self, webhook_id: &str, limit: i64) -> Result<Vec<Delivery>> {
        self.webhook(webhook_id).await?;
        let rows: Vec<DeliveryRow> = sqlx::query_as(
            "SELECT webhook_id, ord, conversation_id, state, next_attempt_ms \
             FROM notif_deliveries WHERE webhook_id = $1 ORDER BY ord DESC LIMIT $2",
        )
        .bind(webhook_id)
        .bind(limit)
        .fetch_all(self.store.pool())
        .await?;
        let mut deliveries = Vec::with_capacity(rows.len());
        for row in rows {
            let attempts = self.attempts(&row.webhook_id, row.ord).await?;
            deliveries.push(delivery(row, attempts));
        }
        Ok(deliveries)
    }

    async fn attempts(&self, webhook_id: &str, ord: i64) -> Result<Vec<DeliveryAttempt>> {
        let rows: Vec<AttemptRow> = sqlx::query_as(
            "SELECT attempt, at_ms, status_code, error FROM notif_attempts \
             WHERE webhook_id = $1 AND ord = $2 ORDER BY attempt",
        )
        .bind(webhook_id)
        .bind(ord)
        .fetch_all(self.store.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| DeliveryAttempt {
                attempt: u32::try_from(row.attempt).unwrap_or(u32::MAX),
                at: omnibus_core::clock::timestamp(row.at_ms),
                status_code: u32::try_from(row.status_code).unwrap_or(0),
                error: row.error,
            })
            .collect())
    }
}

fn notification(row: NotificationRow) -> StoredNotification {
    StoredNotification {
        ord: row.ord,
        kind: i32::try_from(row.kind)
            .ok()
            .and_then(|k| NotificationKind::try_from(k).ok())
            .unwrap_or(NotificationKind::Unspecified),
        conversation_id: row.conversation_id,
        channel_id: row.channel_id,
        message_id: row.message_id,
        text: row.text,
        operator_id: row.operator_id,
        created_at_ms: row.created_at_ms,
    }
}

fn webhook(row: WebhookRow) -> Webhook {
    let status = i32::try_from(row.status).unwrap_or(0);
    Webhook {
        id: row.id,
        url: row.url,
        kinds: decode_kinds(&row.kinds),
        status: WebhookStatus::try_from(status).map_or(0, |s| s as i32),
        status_reason: row.status_reason,
        created_at: omnibus_core::clock::timestamp(row.created_at_ms),
    }
}

fn delivery(row: DeliveryRow, attempts: Vec<DeliveryAttempt>) -> Delivery {
    Delivery {
        webhook_id: row.webhook_id,
        notification_id: format_id(row.ord),
        conversation_id: row.conversation_id,
        state: i32::try_from(row.state).unwrap_or(0),
        attempts,
        next_attempt_at: omnibus_core::clock::timestamp(row.next_attempt_ms),
    }
}
