//! Messages: inbound, edits, outbound requests and their delivery statuses.

use omnibus_core::clock::timestamp;
use omnibus_proto::{
    AuthorKind, DeliveryStatusChanged, Direction, Event, Message, MessageDispatched, MessageEdited,
    MessageFailed, MessageHeld, MessageReceived, MessageRequested, MessageStatus, TemplateRef,
    message_failed::Kind as FailureKind,
};
use omnibus_store::{Backend, Param, Shot};
use sqlx::AnyConnection;

use super::conversation::Effect;
use super::echo;
use super::known::Known;
use crate::codec::{self, Attachments};

/// A row of `conv_messages` about to be inserted.
struct NewMessage<'a> {
    id: &'a str,
    seq: u64,
    conversation_id: &'a str,
    direction: Direction,
    author_kind: AuthorKind,
    author_name: &'a str,
    operator_id: &'a str,
    text: &'a str,
    attachments: &'a [omnibus_proto::Attachment],
    template: Option<&'a TemplateRef>,
    status: MessageStatus,
    provider_message_id: &'a str,
    reply_to_message_id: &'a str,
    idempotency_key: &'a str,
    at: i64,
}

/// The insert of a new message: `$1` its id, `$3` its conversation, `$15`
/// its time (the numbers the conversation's update below refers to).
const INSERT_MESSAGE: &str =
    "INSERT INTO conv_messages (id, seq, conversation_id, direction, author_kind, author_name,
         operator_id, text, attachments, template, status, failure_reason, provider_message_id,
         reply_to_message_id, edited, idempotency_key, created_at_ms, updated_at_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '', $12, $13, 0, $14, $15, $15)
     ON CONFLICT (id) DO NOTHING";

/// Inserts the message unless it exists and, only when it was new, records
/// it as its conversation's latest activity; one statement either way (a
/// round trip less per send). True when the message was new and its
/// conversation exists.
async fn insert_and_touch(
    conn: &mut AnyConnection,
    m: &NewMessage<'_>,
    effect: Effect,
) -> Result<bool, sqlx::Error> {
    let sql = insert_and_touch_sql(Backend::of(conn), effect, "");
    let result = Shot::new(sql, message_params(m))
        .into_query()
        .execute(conn)
        .await?;
    // SQLite counts the insert and the update, PostgreSQL the update only.
    Ok(result.rows_affected() > 0)
}

/// The statement of [`insert_and_touch`] with `also` (a statement on
/// SQLite, a `WITH` clause on PostgreSQL, or empty) run beside it. SQLite
/// runs a script, the update gated on `changes()` (which still counts the
/// insert while the update runs); PostgreSQL a `WITH` clause whose
/// `RETURNING` row gates the update.
fn insert_and_touch_sql(backend: Backend, effect: Effect, also: &str) -> String {
    let (unread, unanswered) = match effect {
        Effect::Answered => ("unread_count", "0"),
        Effect::Neutral => ("unread_count", "unanswered"),
    };
    let touch = format!(
        "UPDATE conv_conversations SET unread_count = {unread}, unanswered = {unanswered},
             last_message_id = $1,
             last_activity_ms = CASE WHEN last_activity_ms > $15 THEN last_activity_ms ELSE $15 END,
             updated_at_ms = CASE WHEN updated_at_ms > $15 THEN updated_at_ms ELSE $15 END
         WHERE id = $3"
    );
    match (backend, also) {
        (Backend::Sqlite, "") => format!("{INSERT_MESSAGE}; {touch} AND changes() = 1"),
        (Backend::Sqlite, also) => format!("{INSERT_MESSAGE}; {touch} AND changes() = 1; {also}"),
        (Backend::Postgres, "") => format!(
            "WITH inserted AS ({INSERT_MESSAGE} RETURNING 1)
             {touch} AND EXISTS (SELECT 1 FROM inserted)"
        ),
        (Backend::Postgres, also) => format!(
            "WITH inserted AS ({INSERT_MESSAGE} RETURNING 1), beside AS ({also})
             {touch} AND EXISTS (SELECT 1 FROM inserted)"
        ),
    }
}

/// The parameters of [`INSERT_MESSAGE`] for `m`, `$1` first.
fn message_params(m: &NewMessage<'_>) -> Vec<Param> {
    let attachments = codec::encode(&Attachments {
        items: m.attachments.to_vec(),
    });
    let template = m.template.map(codec::encode).unwrap_or_default();
    vec![
        m.id.into(),
        (m.seq as i64).into(),
        m.conversation_id.into(),
        (m.direction as i64).into(),
        (m.author_kind as i64).into(),
        m.author_name.into(),
        m.operator_id.into(),
        m.text.into(),
        attachments.into(),
        template.into(),
        (m.status as i64).into(),
        m.provider_message_id.into(),
        m.reply_to_message_id.into(),
        m.idempotency_key.into(),
        m.at.into(),
    ]
}

/// One `MessageReceived` outside a run: an echo of the business phone that
/// may be one of our own sends (dropped then), or an unknown message an edit
/// brought. Everything else about it is the run's rule, applied to a run of
/// one.
pub(super) async fn received(
    conn: &mut AnyConnection,
    seq: u64,
    event: &Event,
    received: &MessageReceived,
) -> Result<(), sqlx::Error> {
    if echo::may_be_ours(received) && echo::is_ours(conn, event, received).await? {
        return Ok(());
    }
    let one = super::received::Received {
        seq,
        event,
        received,
    };
    super::received::apply(conn, &[one]).await
}

pub(super) async fn edited(
    conn: &mut AnyConnection,
    seq: u64,
    event: &Event,
    edited: &MessageEdited,
) -> Result<(), sqlx::Error> {
    let at = super::event_time(event);
    if edited.deleted {
        // Unsent by its author: marked, its text kept for the operator.
        let result =
            sqlx::query("UPDATE conv_messages SET deleted = 1, updated_at_ms = $1 WHERE id = $2")
                .bind(at)
                .bind(edited.message_id.as_str())
                .execute(&mut *conn)
                .await?;
        if result.rows_affected() > 0 {
            return Ok(());
        }
    }
    let attachments = codec::encode(&Attachments {
        items: edited.attachments.clone(),
    });
    let result = sqlx::query(
        "UPDATE conv_messages SET text = $1, attachments = $2, edited = 1, updated_at_ms = $3
         WHERE id = $4",
    )
    .bind(edited.text.as_str())
    .bind(attachments)
    .bind(at)
    .bind(edited.message_id.as_str())
    .execute(&mut *conn)
    .await?;
    if result.rows_affected() > 0 {
        return Ok(());
    }
    // An edit of a message we never saw (sent before the channel was
    // connected): keep it as a message of its own, marked edited.
    let as_new = MessageReceived {
        message_id: edited.message_id.clone(),
        provider_message_id: edited.provider_message_id.clone(),
        peer: edited.peer.clone(),
        text: edited.text.clone(),
        attachments: edited.attachments.clone(),
        author_kind: AuthorKind::Contact as i32,
        direction: Direction::Inbound as i32,
        contact_id: edited.contact_id.clone(),
        ..Default::default()
    };
    received(conn, seq, event, &as_new).await?;
    sqlx::query("UPDATE conv_messages SET edited = 1, deleted = $1 WHERE id = $2")
        .bind(i64::from(edited.deleted))
        .bind(edited.message_id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// The row a `MessageRequested` stores: the one place its rules live, for
/// the projection and for the API's answer to `SendMessage` ([`queued`]).
fn requested_row<'a>(
    seq: u64,
    event: &'a Event,
    requested: &'a MessageRequested,
) -> NewMessage<'a> {
    let status = match MessageStatus::try_from(requested.initial_status) {
        Ok(MessageStatus::Unspecified) | Err(_) => MessageStatus::Pending,
        Ok(status) => status,
    };
    NewMessage {
        id: &requested.message_id,
        seq,
        conversation_id: &event.conversation_id,
        direction: Direction::Outbound,
        author_kind: AuthorKind::try_from(requested.author_kind).unwrap_or(AuthorKind::Operator),
        author_name: "",
        operator_id: &requested.operator_id,
        text: &requested.text,
        attachments: &requested.attachments,
        template: requested.template.as_ref(),
        status,
        provider_message_id: "",
        reply_to_message_id: &requested.reply_to_message_id,
        idempotency_key: &requested.idempotency_key,
        at: super::event_time(event),
    }
}

/// The message a new `MessageRequested` stores, as the API reads it back
/// right after it was applied: `SendMessage` answers with it instead of a
/// query.
pub(crate) fn queued(event: &Event, requested: &MessageRequested) -> Message {
    let row = requested_row(0, event, requested);
    Message {
        id: row.id.to_owned(),
        conversation_id: row.conversation_id.to_owned(),
        direction: row.direction as i32,
        author_kind: row.author_kind as i32,
        text: row.text.to_owned(),
        attachments: row.attachments.to_vec(),
        status: row.status as i32,
        failure_reason: String::new(),
        provider_message_id: row.provider_message_id.to_owned(),
        created_at: timestamp(row.at),
        updated_at: timestamp(row.at),
        reply_to_message_id: row.reply_to_message_id.to_owned(),
        author_name: row.author_name.to_owned(),
        operator_id: row.operator_id.to_owned(),
        edited: false,
        idempotency_key: row.idempotency_key.to_owned(),
        template: row.template.cloned(),
        deleted: false,
    }
}

/// A message an operator (or a timer, or the window) asked to send, as one
/// statement: its insert, its conversation's update when it is new, and
/// the move of a held message the window service released, listed where
/// it went out (after the template and the customer's answer). The move
/// needs no gate: it only moves a held message listed before `seq`, which
/// a new one is not.
pub(super) fn requested_shot(
    backend: Backend,
    seq: u64,
    event: &Event,
    requested: &MessageRequested,
) -> Shot {
    let row = requested_row(seq, event, requested);
    let sql = insert_and_touch_sql(backend, requested_effect(&row), MOVE_HELD);
    Shot::new(sql, message_params(&row))
}

/// What a requested message does to its conversation: an operator's (or
/// the business phone's) answers it.
fn requested_effect(row: &NewMessage<'_>) -> Effect {
    match row.author_kind {
        AuthorKind::Operator | AuthorKind::ExternalDevice => Effect::Answered,
        _ => Effect::Neutral,
    }
}

/// Moves a message's status forward; never backwards, and FAILED is final
/// (the enum's numbers are in that order).
async fn advance(
    conn: &mut AnyConnection,
    message_id: &str,
    status: MessageStatus,
    failure_reason: &str,
    at: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE conv_messages SET status = $1,
             failure_reason = CASE WHEN $2 = '' THEN failure_reason ELSE $2 END,
             updated_at_ms = $3
         WHERE id = $4 AND status < $1",
    )
    .bind(status as i64)
    .bind(failure_reason)
    .bind(at)
    .bind(message_id)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// The provider's id (first one wins) and SENT (forward only; the SET
/// expressions all read the row as it was): all of [`dispatched`] unless
/// early statuses wait for the message.
pub(super) fn dispatched_shot(at: i64, dispatched: &MessageDispatched) -> Shot {
    Shot::new(
        "UPDATE conv_messages SET
             provider_message_id = CASE WHEN provider_message_id = '' THEN $1
                                        ELSE provider_message_id END,
             updated_at_ms = CASE WHEN status < $2 THEN $3 ELSE updated_at_ms END,
             status = CASE WHEN status < $2 THEN $2 ELSE status END
         WHERE id = $4",
        vec![
            dispatched.provider_message_id.as_str().into(),
            (MessageStatus::Sent as i64).into(),
            at.into(),
            dispatched.message_id.as_str().into(),
        ],
    )
}

pub(super) async fn dispatched(
    conn: &mut AnyConnection,
    early: &mut Known,
    conversation_id: &str,
    at: i64,
    dispatched: &MessageDispatched,
) -> Result<(), sqlx::Error> {
    dispatched_shot(at, dispatched)
        .into_query()
        .execute(&mut *conn)
        .await?;
    if !early.may_have(conn, conversation_id).await? {
        return Ok(());
    }
    apply_early_statuses(conn, conversation_id, dispatched).await
}

/// Statuses the provider reported before the send call returned (WhatsApp
/// may deliver `sent` and `delivered` webhooks first), applied now that the
/// provider's id is known; taken off the table in the same statement.
async fn apply_early_statuses(
    conn: &mut AnyConnection,
    conversation_id: &str,
    dispatched: &MessageDispatched,
) -> Result<(), sqlx::Error> {
    if dispatched.provider_message_id.is_empty() {
        return Ok(());
    }
    let mut early: Vec<(i64, String, i64, i64)> = sqlx::query_as(
        "DELETE FROM conv_early_statuses WHERE conversation_id = $1 AND provider_message_id = $2
         RETURNING status, failure_reason, at_ms, and_earlier",
    )
    .bind(conversation_id)
    .bind(dispatched.provider_message_id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    early.sort_by_key(|(status, ..)| *status);
    for (status, reason, at, and_earlier) in early {
        let status = MessageStatus::try_from(status as i32).unwrap_or(MessageStatus::Sent);
        advance(conn, &dispatched.message_id, status, &reason, at).await?;
        if and_earlier != 0 && status == MessageStatus::Read {
            read_earlier(conn, conversation_id, &dispatched.message_id, at).await?;
        }
    }
    Ok(())
}

/// The window service held the message until the customer answers; the
/// reason says so to the operator.
/// Marks the message held and lists it after the default template that
/// went out before the hold (the window service stores the template first).
pub(super) async fn held(
    conn: &mut AnyConnection,
    seq: u64,
    at: i64,
    held: &MessageHeld,
) -> Result<(), sqlx::Error> {
    advance(
        conn,
        &held.message_id,
        MessageStatus::Held,
        &held.reason,
        at,
    )
    .await?;
    move_held(conn, &held.message_id, seq).await
}

/// Moves a held message to stream position `seq` in the history.
async fn move_held(
    conn: &mut AnyConnection,
    message_id: &str,
    seq: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query(MOVE_HELD)
        .bind(message_id)
        .bind(seq as i64)
        .execute(conn)
        .await?;
    Ok(())
}

/// Lists a held message (`$1`) where it went out (`$2`, later than where
/// it was held); the parameter numbers are [`INSERT_MESSAGE`]'s.
const MOVE_HELD: &str =
    "UPDATE conv_messages SET seq = $2 WHERE id = $1 AND status = 2 AND seq < $2";
const _: () = assert!(MessageStatus::Held as i32 == 2);

pub(super) async fn failed(
    conn: &mut AnyConnection,
    seq: u64,
    conversation_id: &str,
    at: i64,
    failed: &MessageFailed,
) -> Result<(), sqlx::Error> {
    let changed = advance(
        conn,
        &failed.message_id,
        MessageStatus::Failed,
        &failed.reason,
        at,
    )
    .await?;
    if !changed || failed.kind != FailureKind::RecipientBlocked as i32 {
        return Ok(());
    }
    let notice_id = format!("{}-blocked", failed.message_id);
    let notice = NewMessage {
        id: &notice_id,
        seq,
        conversation_id,
        direction: Direction::Inbound,
        author_kind: AuthorKind::System,
        author_name: "Omnibus",
        operator_id: "",
        text: "The customer blocked the bot: messages to them cannot be delivered until they \
               unblock it and write again.",
        attachments: &[],
        template: None,
        status: MessageStatus::Delivered,
        provider_message_id: "",
        reply_to_message_id: "",
        idempotency_key: "",
        at,
    };
    insert_and_touch(conn, &notice, Effect::Neutral).await?;
    Ok(())
}

pub(super) async fn status_changed(
    conn: &mut AnyConnection,
    early: &mut Known,
    conversation_id: &str,
    at: i64,
    changed: &DeliveryStatusChanged,
) -> Result<(), sqlx::Error> {
    let Ok(status) = MessageStatus::try_from(changed.status) else {
        return Ok(());
    };
    let message_id = if changed.message_id.is_empty() {
        let found: Option<(String,)> = sqlx::query_as(
            // Statuses are for what we (or the business phone) sent:
            // `direction = 2` (OUTBOUND) lets the partial index serve it.
            "SELECT id FROM conv_messages
             WHERE conversation_id = $1 AND provider_message_id = $2 AND direction = 2",
        )
        .bind(conversation_id)
        .bind(changed.provider_message_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        match found {
            Some((id,)) => id,
            None => {
                early.add(conversation_id);
                return keep_early_status(conn, conversation_id, at, changed, status).await;
            }
        }
    } else {
        changed.message_id.clone()
    };
    advance(conn, &message_id, status, &changed.failure_reason, at).await?;
    if changed.and_earlier && status == MessageStatus::Read {
        read_earlier(conn, conversation_id, &message_id, at).await?;
    }
    Ok(())
}

/// A read receipt that covers the conversation's earlier messages too
/// (Instagram's `read`): every outbound message before `message_id` that
/// went out (SENT or DELIVERED) becomes READ; none moves backwards, and
/// FAILED stays.
async fn read_earlier(
    conn: &mut AnyConnection,
    conversation_id: &str,
    message_id: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE conv_messages SET status = $1, updated_at_ms = $2
         WHERE conversation_id = $3 AND direction = $4 AND status IN ($5, $6)
           AND seq < (SELECT seq FROM conv_messages WHERE id = $7)",
    )
    .bind(MessageStatus::Read as i64)
    .bind(at)
    .bind(conversation_id)
    .bind(Direction::Outbound as i64)
    .bind(MessageStatus::Sent as i64)
    .bind(MessageStatus::Delivered as i64)
    .bind(message_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Keeps a status for a provider id we do not know yet; the dispatch that
/// brings the id applies it.
async fn keep_early_status(
    conn: &mut AnyConnection,
    conversation_id: &str,
    at: i64,
    changed: &DeliveryStatusChanged,
    status: MessageStatus,
) -> Result<(), sqlx::Error> {
    if changed.provider_message_id.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO conv_early_statuses
             (conversation_id, provider_message_id, status, failure_reason, at_ms, and_earlier)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(conversation_id)
    .bind(changed.provider_message_id.as_str())
    .bind(status as i64)
    .bind(changed.failure_reason.as_str())
    .bind(at)
    .bind(i64::from(changed.and_earlier))
    .execute(conn)
    .await?;
    Ok(())
}
