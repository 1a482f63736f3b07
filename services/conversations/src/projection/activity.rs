//! System lines in a conversation's history for what happened to the
//! conversation itself: closed (by whom, or for inactivity) and reopened.
//! They are never sent to the customer (direction and status UNSPECIFIED),
//! and their ids derive from the stream sequence, so a rebuild writes the
//! same rows. A reopen line shares the sequence of the message that
//! reopened, and its `evt_` id sorts before that message's `msg_` id.

use omnibus_proto::{AuthorKind, CloseReason, ConversationClosed, ConversationStatus};
use sqlx::AnyConnection;

use crate::codec::{self, Attachments};

/// Tells whether the conversation exists and is closed.
pub(super) async fn is_closed(
    conn: &mut AnyConnection,
    conversation_id: &str,
) -> Result<bool, sqlx::Error> {
    let status: Option<i64> =
        sqlx::query_scalar("SELECT status FROM conv_conversations WHERE id = $1")
            .bind(conversation_id)
            .fetch_optional(conn)
            .await?;
    Ok(status == Some(ConversationStatus::Closed as i64))
}

/// "Conversation closed by op-1" / "… for inactivity".
pub(super) async fn closed_line(
    conn: &mut AnyConnection,
    seq: u64,
    conversation_id: &str,
    at: i64,
    closed: &ConversationClosed,
) -> Result<(), sqlx::Error> {
    let text = match (closed.reason(), closed.operator_id.as_str()) {
        (CloseReason::Inactivity, _) => "Conversation closed for inactivity".to_owned(),
        (_, "") => "Conversation closed by an operator".to_owned(),
        (_, operator) => format!("Conversation closed by {operator}"),
    };
    let id = format!("evt_{seq}_closed");
    line(
        conn,
        &id,
        seq,
        conversation_id,
        &closed.operator_id,
        &text,
        at,
    )
    .await
}

/// "Conversation reopened" (by the customer writing, or by an operator).
pub(super) async fn reopened_line(
    conn: &mut AnyConnection,
    seq: u64,
    conversation_id: &str,
    at: i64,
    operator_id: &str,
) -> Result<(), sqlx::Error> {
    let text = if operator_id.is_empty() {
        "Conversation reopened by the customer".to_owned()
    } else {
        format!("Conversation reopened by {operator_id}")
    };
    let id = format!("evt_{seq}_reopened");
    line(conn, &id, seq, conversation_id, operator_id, &text, at).await
}

async fn line(
    conn: &mut AnyConnection,
    id: &str,
    seq: u64,
    conversation_id: &str,
    operator_id: &str,
    text: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    let attachments = codec::encode(&Attachments { items: Vec::new() });
    sqlx::query(
        "INSERT INTO conv_messages (id, seq, conversation_id, direction, author_kind, author_name,
             operator_id, text, attachments, template, status, failure_reason, provider_message_id,
             reply_to_message_id, edited, idempotency_key, created_at_ms, updated_at_ms)
         VALUES ($1, $2, $3, 0, $4, '', $5, $6, $7, '', 0, '', '', '', 0, '', $8, $8)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(seq as i64)
    .bind(conversation_id)
    .bind(AuthorKind::System as i64)
    .bind(operator_id)
    .bind(text)
    .bind(attachments)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}
