//! Channel snapshots → `conv_channels`. Credentials are not stored here: the
//! API never returns them, so only their key names are kept.

use omnibus_proto::{ChannelChanged, ChannelFlagged, ChannelStatus, channel_changed::Change};
use sqlx::AnyConnection;

use crate::codec;

pub(super) async fn apply(
    conn: &mut AnyConnection,
    changed: &ChannelChanged,
) -> Result<(), sqlx::Error> {
    let Some(state) = &changed.state else {
        return Ok(());
    };
    let mut keys: Vec<&str> = state.credentials.keys().map(String::as_str).collect();
    keys.sort_unstable();
    sqlx::query(
        "INSERT INTO conv_channels (id, kind, name, status, status_reason, settings, api_base_url,
             credential_keys, created_at_ms, updated_at_ms, account_key, conversation_scope)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name,
             status = excluded.status, status_reason = excluded.status_reason,
             settings = excluded.settings, api_base_url = excluded.api_base_url,
             credential_keys = excluded.credential_keys, updated_at_ms = excluded.updated_at_ms,
             account_key = excluded.account_key,
             conversation_scope = excluded.conversation_scope",
    )
    .bind(state.id.as_str())
    .bind(i64::from(state.kind))
    .bind(state.name.as_str())
    .bind(i64::from(state.status))
    .bind(state.status_reason.as_str())
    .bind(codec::encode(&state.settings.clone().unwrap_or_default()))
    .bind(state.api_base_url.as_str())
    .bind(keys.join(","))
    .bind(state.created_at_ms)
    .bind(state.updated_at_ms)
    .bind(state.account_key.as_str())
    .bind(state.conversation_scope.as_str())
    .execute(&mut *conn)
    .await?;
    if changed.change == Change::Created as i32 && !state.conversation_scope.is_empty() {
        carry_on(conn, &state.id, &state.conversation_scope).await?;
    }
    Ok(())
}

/// Moves the conversations of every channel of `scope` to `channel_id`,
/// the one that re-creates them.
async fn carry_on(
    conn: &mut AnyConnection,
    channel_id: &str,
    scope: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE conv_conversations SET channel_id = $1
         WHERE channel_id <> $1 AND channel_id IN
             (SELECT id FROM conv_channels WHERE id = $2 OR conversation_scope = $2)",
    )
    .bind(channel_id)
    .bind(scope)
    .execute(conn)
    .await?;
    Ok(())
}

/// An ingress found the channel unusable (e.g. an expired token): shown as
/// the channel's status until the next snapshot (an update) replaces it.
pub(super) async fn flagged(
    conn: &mut AnyConnection,
    channel_id: &str,
    at: i64,
    flagged: &ChannelFlagged,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE conv_channels SET status = $1, status_reason = $2, updated_at_ms = $3
         WHERE id = $4 AND status <> $5",
    )
    .bind(i64::from(flagged.status))
    .bind(flagged.reason.as_str())
    .bind(at)
    .bind(channel_id)
    .bind(ChannelStatus::Deleted as i64)
    .execute(conn)
    .await?;
    Ok(())
}
