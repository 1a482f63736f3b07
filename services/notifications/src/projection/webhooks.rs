//! Webhook subscriptions as events: created, deleted, disabled. Stored as
//! events so a rebuilt database has the same subscriptions.

use omnibus_proto::{
    DeliveryState, WebhookCreated, WebhookDeleted, WebhookDisabled, WebhookStatus,
    notification_event::Change,
};
use sqlx::AnyConnection;

use super::Emitter;
use crate::model::encode_kinds;

/// Internal status of a deleted webhook; never shown by the API.
pub(crate) const DELETED: i64 = -1;

/// Applies a change of webhooks (other changes are not theirs).
pub async fn changed(
    conn: &mut AnyConnection,
    out: &Emitter,
    change: &Change,
) -> Result<(), sqlx::Error> {
    match change {
        Change::WebhookCreated(c) => created(conn, out, c).await,
        Change::WebhookDeleted(d) => deleted(conn, d).await,
        Change::WebhookDisabled(d) => disabled(conn, d).await,
        Change::UnansweredDetected(_) => Ok(()),
    }
}

/// Stores a new subscription; it receives notifications from the next event on.
async fn created(
    conn: &mut AnyConnection,
    out: &Emitter,
    created: &WebhookCreated,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notif_webhooks (id, url, secret, kinds, status, status_reason, \
         failing_since_ms, next_attempt_ms, created_at_ms) VALUES ($1, $2, $3, $4, $5, '', 0, 0, $6) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&created.webhook_id)
    .bind(&created.url)
    .bind(&created.secret)
    .bind(encode_kinds(&created.kinds))
    .bind(WebhookStatus::Active as i64)
    .bind(out.at_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Forgets a subscription and abandons what it still had to deliver.
async fn deleted(conn: &mut AnyConnection, deleted: &WebhookDeleted) -> Result<(), sqlx::Error> {
    stop(conn, &deleted.webhook_id, DELETED, "deleted").await
}

/// Stops a subscription that kept failing.
async fn disabled(conn: &mut AnyConnection, disabled: &WebhookDisabled) -> Result<(), sqlx::Error> {
    stop(
        conn,
        &disabled.webhook_id,
        WebhookStatus::Disabled as i64,
        &disabled.reason,
    )
    .await
}

/// Sets a final status and abandons pending deliveries, in one transaction
/// (the caller's), so the dispatcher never picks one up afterwards.
pub(crate) async fn stop(
    conn: &mut AnyConnection,
    webhook_id: &str,
    status: i64,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notif_webhooks SET status = $2, status_reason = $3 WHERE id = $1 AND status <> $4",
    )
    .bind(webhook_id)
    .bind(status)
    .bind(reason)
    .bind(DELETED)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE notif_deliveries SET state = $2 WHERE webhook_id = $1 AND state = $3")
        .bind(webhook_id)
        .bind(DeliveryState::Abandoned as i64)
        .bind(DeliveryState::Pending as i64)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
