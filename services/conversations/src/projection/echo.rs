//! The provider's echo of a message Omnibus itself sent (VK's
//! `message_reply` after `messages.send`, Instagram's `is_echo`) is that
//! message, never a second one. The echo names it by the provider's id
//! (when the send's outcome was recorded first) or by the idempotency key
//! it was sent with (VK's `random_id`, when the echo arrives before the
//! outcome): either way the echo is dropped, and in the second case our
//! message learns its provider id from it.
//!
//! The provider's id is looked for in every conversation of the same
//! customer on the channel: Instagram's private answer to a comment belongs
//! to the comment's conversation, while its echo comes as a Direct message.
//! An echo that carries no key and arrives before the outcome (Instagram)
//! is stored; when the outcome names the same provider id, the echo's row
//! is removed ([`drop_echo_of`]), so the message is shown once either way.
//!
//! Echoes are applied one by one (runs of `MessageReceived` leave them out), so this
//! is the only place the rule lives.

use omnibus_core::ids;
use omnibus_proto::{AuthorKind, Direction, Event, MessageDispatched, MessageReceived};
use sqlx::AnyConnection;

use super::known::Known;

/// The statements here write `direction = 2` (outbound) literally: the
/// index of messages by provider id covers outbound messages only, and a
/// database uses such a partial index only when the query itself says so.
const _: () = assert!(Direction::Outbound as i32 == 2);

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
    event: &Event,
    received: &MessageReceived,
) -> Result<bool, sqlx::Error> {
    let conversation_id = event.conversation_id.as_str();
    if !received.provider_message_id.is_empty() {
        let mut conversations = customer_conversations(conn, event, &received.contact_id).await?;
        conversations.insert(0, conversation_id.to_owned());
        for conversation in conversations {
            let known: Option<(String,)> = sqlx::query_as(
                "SELECT id FROM conv_messages WHERE conversation_id = $1
                 AND provider_message_id = $2 AND direction = 2 AND author_kind <> $3 LIMIT 1",
            )
            .bind(conversation.as_str())
            .bind(received.provider_message_id.as_str())
            .bind(AuthorKind::ExternalDevice as i64)
            .fetch_optional(&mut *conn)
            .await?;
            if known.is_some() {
                return Ok(true);
            }
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

/// The other conversations on the event's channel of the customer
/// `contact_id` (comment threads beside Direct), at most a few.
async fn customer_conversations(
    conn: &mut AnyConnection,
    event: &Event,
    contact_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    if contact_id.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM conv_conversations WHERE contact_id = $1 AND channel_id = $2 AND id <> $3
         ORDER BY last_activity_ms DESC LIMIT 50",
    )
    .bind(contact_id)
    .bind(event.channel_id.as_str())
    .bind(event.conversation_id.as_str())
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Our message was sent as `dispatched.provider_message_id`: an echo of it
/// stored before this outcome (shown as EXTERNAL_DEVICE) is removed, in the
/// conversation or another of the same customer on the channel, and a
/// conversation that showed it last shows ours instead. Every send's
/// outcome asks, and almost never finds one, so the asking is one
/// statement, and none on a channel `stored_echoes` says holds no echo.
pub(super) async fn drop_echo_of(
    conn: &mut AnyConnection,
    stored_echoes: &mut Known,
    event: &Event,
    dispatched: &MessageDispatched,
) -> Result<(), sqlx::Error> {
    if dispatched.provider_message_id.is_empty()
        || !stored_echoes.may_have(conn, &event.channel_id).await?
    {
        return Ok(());
    }
    let echoes: Vec<(String, String)> = sqlx::query_as(
        "SELECT conversation_id, id FROM conv_messages
         WHERE provider_message_id = $1 AND direction = 2 AND author_kind = $2 AND id <> $3
           AND (conversation_id = $4 OR conversation_id IN (
                SELECT id FROM conv_conversations
                WHERE contact_id = (SELECT contact_id FROM conv_conversations WHERE id = $4)
                  AND contact_id <> '' AND channel_id = $5))",
    )
    .bind(dispatched.provider_message_id.as_str())
    .bind(AuthorKind::ExternalDevice as i64)
    .bind(dispatched.message_id.as_str())
    .bind(event.conversation_id.as_str())
    .bind(event.channel_id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    for (conversation, echo_id) in echoes {
        sqlx::query("DELETE FROM conv_messages WHERE id = $1")
            .bind(echo_id.as_str())
            .execute(&mut *conn)
            .await?;
        let shown = if conversation == event.conversation_id {
            dispatched.message_id.as_str()
        } else {
            ""
        };
        sqlx::query(
            "UPDATE conv_conversations SET last_message_id = $1
             WHERE id = $2 AND last_message_id = $3",
        )
        .bind(shown)
        .bind(conversation.as_str())
        .bind(echo_id.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
