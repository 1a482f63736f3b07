//! The provider's echo of a message Omnibus itself sent (VK's
//! `message_reply` after `messages.send`) is that message, never a second
//! one. The echo names it by the provider's id (when the send's outcome
//! was recorded first) or by the idempotency key it was sent with (VK's
//! `random_id`, when the echo arrives before the outcome): either way the
//! echo is dropped, and in the second case our message learns its provider
//! id from it.
//!
//! Echoes are applied one by one (runs of `MessageReceived` leave them out), so this
//! is the only place the rule lives.

use omnibus_core::ids;
use omnibus_proto::{AuthorKind, Direction, MessageReceived};
use sqlx::AnyConnection;

/// How many of a conversation's latest unconfirmed sends an echo's key is
/// compared with.
const RECENT_SENDS: i64 = 200;

/// True for an echo of a business message, which may be one of ours.
pub(super) fn may_be_ours(received: &MessageReceived) -> bool {
    received.direction == Direction::Outbound as i32
        && received.author_kind == AuthorKind::ExternalDevice as i32
        && (!received.echo_key.is_empty() || !received.provider_message_id.is_empty())
}

/// True when `received` echoes a message Omnibus sent in the conversation.
pub(super) async fn is_ours(
    conn: &mut AnyConnection,
    conversation_id: &str,
    received: &MessageReceived,
) -> Result<bool, sqlx::Error> {
    if !received.provider_message_id.is_empty() {
        let known: Option<(String,)> = sqlx::query_as(
            "SELECT id FROM conv_messages WHERE conversation_id = $1 AND provider_message_id = $2
             AND direction = $3 AND author_kind <> $4 LIMIT 1",
        )
        .bind(conversation_id)
        .bind(received.provider_message_id.as_str())
        .bind(Direction::Outbound as i64)
        .bind(AuthorKind::ExternalDevice as i64)
        .fetch_optional(&mut *conn)
        .await?;
        if known.is_some() {
            return Ok(true);
        }
    }
    if received.echo_key.is_empty() {
        return Ok(false);
    }
    let unconfirmed: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM conv_messages WHERE conversation_id = $1 AND direction = $2
         AND author_kind <> $3 AND provider_message_id = '' ORDER BY seq DESC LIMIT $4",
    )
    .bind(conversation_id)
    .bind(Direction::Outbound as i64)
    .bind(AuthorKind::ExternalDevice as i64)
    .bind(RECENT_SENDS)
    .fetch_all(&mut *conn)
    .await?;
    let Some((ours,)) = unconfirmed
        .into_iter()
        .find(|(id,)| ids::idempotency_number(id).to_string() == received.echo_key)
    else {
        return Ok(false);
    };
    sqlx::query("UPDATE conv_messages SET provider_message_id = $1 WHERE id = $2 AND provider_message_id = ''")
        .bind(received.provider_message_id.as_str())
        .bind(ours.as_str())
        .execute(conn)
        .await?;
    Ok(true)
}
