//! Conversation lifecycle: opening, reopening, closing, assignment, read and
//! answered state.

use omnibus_proto::{
    ConversationAssigned, ConversationClosed, ConversationStarted, ConversationStatus, Event, Peer,
};
use omnibus_store::Shot;
use sqlx::AnyConnection;

const OPEN: i64 = ConversationStatus::Open as i64;
const CLOSED: i64 = ConversationStatus::Closed as i64;

/// Who the customer side of a conversation is.
pub(super) struct Party<'a> {
    pub channel_id: &'a str,
    pub conversation_id: &'a str,
    pub contact_id: &'a str,
    pub peer: &'a Peer,
}

/// The name operators see: the group's title, else first and last name,
/// else username, else phone.
pub(super) fn title(peer: &Peer) -> String {
    let name = name(peer);
    if name.is_empty() {
        peer.phone.clone()
    } else {
        name
    }
}

/// Whether the messenger named the peer (an echo from the business phone
/// carries only the number).
pub(super) fn has_name(peer: &Peer) -> bool {
    !name(peer).is_empty()
}

/// The name the messenger gave, if any: echoes of messages sent from the
/// business phone carry only the number, and must not rename anyone.
fn name(peer: &Peer) -> String {
    if peer.is_group && !peer.chat_title.is_empty() {
        return peer.chat_title.clone();
    }
    let full = format!("{} {}", peer.first_name, peer.last_name);
    let full = full.trim();
    if !full.is_empty() {
        full.to_owned()
    } else {
        peer.username.clone()
    }
}

/// Creates or refreshes the contact behind `party`.
pub(super) async fn upsert_contact(
    conn: &mut AnyConnection,
    party: &Party<'_>,
    at: i64,
) -> Result<(), sqlx::Error> {
    let peer = party.peer;
    let provider_user_id = if peer.is_group {
        &peer.provider_chat_id
    } else {
        &peer.provider_user_id
    };
    let (username, phone) = if peer.is_group {
        ("", "")
    } else {
        (peer.username.as_str(), peer.phone.as_str())
    };
    sqlx::query(
        "INSERT INTO conv_contacts (id, channel_id, provider_user_id, display_name, username,
             phone, is_group, created_at_ms, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
         ON CONFLICT (id) DO UPDATE SET display_name = CASE WHEN $9 = 1 OR conv_contacts.display_name = ''
                 THEN excluded.display_name ELSE conv_contacts.display_name END,
             username = CASE WHEN excluded.username = '' THEN conv_contacts.username ELSE excluded.username END,
             phone = CASE WHEN excluded.phone = '' THEN conv_contacts.phone ELSE excluded.phone END,
             updated_at_ms = excluded.updated_at_ms",
    )
    .bind(party.contact_id)
    .bind(party.channel_id)
    .bind(provider_user_id.as_str())
    .bind(title(peer))
    .bind(username)
    .bind(phone)
    .bind(i64::from(peer.is_group))
    .bind(at)
    .bind(i64::from(!name(peer).is_empty()))
    .execute(conn)
    .await?;
    Ok(())
}

/// Opens the conversation of `party` (an operator started it): creates it,
/// or reopens it when closed. Messages open theirs in `received`.
pub(super) async fn open(
    conn: &mut AnyConnection,
    party: &Party<'_>,
    at: i64,
) -> Result<(), sqlx::Error> {
    upsert_contact(conn, party, at).await?;
    sqlx::query(
        "INSERT INTO conv_conversations (id, channel_id, channel_kind, contact_id, provider_chat_id,
             title, is_group, status, close_reason, assignee_id, group_id, unread_count,
             unanswered, last_message_id, last_activity_ms, created_at_ms, updated_at_ms)
         VALUES ($1, $2, COALESCE((SELECT kind FROM conv_channels WHERE id = $2), 0), $3, $4, $5,
             $6, $7, 0, '', '', 0, 0, '', $8, $8, $8)
         ON CONFLICT (id) DO UPDATE SET
             title = CASE WHEN $9 = 1 OR conv_conversations.title = ''
                 THEN excluded.title ELSE conv_conversations.title END,
             status = excluded.status,
             close_reason = 0,
             updated_at_ms = CASE WHEN excluded.updated_at_ms > conv_conversations.updated_at_ms
                 THEN excluded.updated_at_ms ELSE conv_conversations.updated_at_ms END",
    )
    .bind(party.conversation_id)
    .bind(party.channel_id)
    .bind(party.contact_id)
    .bind(party.peer.provider_chat_id.as_str())
    .bind(title(party.peer))
    .bind(i64::from(party.peer.is_group))
    .bind(OPEN)
    .bind(at)
    .bind(i64::from(!name(party.peer).is_empty()))
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the link of the post or item a comment conversation is about:
/// the first message that carries one sets it, later ones keep it (a
/// conversation is about one post; its link does not move).
pub(super) async fn keep_subject(
    conn: &mut AnyConnection,
    conversation_id: &str,
    subject_url: &str,
) -> Result<(), sqlx::Error> {
    if subject_url.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE conv_conversations SET subject_url = $1 WHERE id = $2 AND subject_url = ''",
    )
    .bind(subject_url)
    .bind(conversation_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The subject link a received message carries (its peer's).
pub(super) fn subject_of(received: &omnibus_proto::MessageReceived) -> &str {
    received
        .peer
        .as_ref()
        .map_or("", |peer| peer.subject_url.as_str())
}

pub(super) async fn started(
    conn: &mut AnyConnection,
    event: &Event,
    started: &ConversationStarted,
) -> Result<(), sqlx::Error> {
    let Some(peer) = &started.peer else {
        return Ok(());
    };
    let party = Party {
        channel_id: &event.channel_id,
        conversation_id: &event.conversation_id,
        contact_id: &started.contact_id,
        peer,
    };
    open(conn, &party, super::event_time(event)).await?;
    keep_subject(conn, &event.conversation_id, &peer.subject_url).await?;
    if !started.operator_id.is_empty() {
        let assigned = ConversationAssigned {
            operator_id: started.operator_id.clone(),
            group_id: String::new(),
        };
        assigned_if_unassigned(conn, &event.conversation_id, &assigned).await?;
    }
    Ok(())
}

async fn assigned_if_unassigned(
    conn: &mut AnyConnection,
    conversation_id: &str,
    assigned: &ConversationAssigned,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE conv_conversations SET assignee_id = $1 WHERE id = $2 AND assignee_id = ''",
    )
    .bind(assigned.operator_id.as_str())
    .bind(conversation_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Closes the conversation: a closed conversation waits for no answer, and
/// `updated_at` never goes back (a provider's clock may lag ours). True
/// when it was open.
pub(super) async fn closed(
    conn: &mut AnyConnection,
    conversation_id: &str,
    at: i64,
    closed: &ConversationClosed,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE conv_conversations SET status = $1, close_reason = $2, unanswered = 0,
             updated_at_ms = CASE WHEN updated_at_ms > $3 THEN updated_at_ms ELSE $3 END
         WHERE id = $4 AND status <> $1",
    )
    .bind(CLOSED)
    .bind(i64::from(closed.reason))
    .bind(at)
    .bind(conversation_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// An operator (or the routing) assigned the conversation.
pub(super) fn assigned_shot(
    conversation_id: &str,
    at: i64,
    assigned: &ConversationAssigned,
) -> Shot {
    Shot::new(
        "UPDATE conv_conversations SET assignee_id = $1, group_id = $2, updated_at_ms = $3
         WHERE id = $4",
        vec![
            assigned.operator_id.as_str().into(),
            assigned.group_id.as_str().into(),
            at.into(),
            conversation_id.into(),
        ],
    )
}

/// An operator read the conversation: nothing is unread.
pub(super) fn read_shot(conversation_id: &str, at: i64) -> Shot {
    Shot::new(
        "UPDATE conv_conversations SET unread_count = 0, updated_at_ms = $1 WHERE id = $2",
        vec![at.into(), conversation_id.into()],
    )
}

/// An operator marked the conversation as needing no reply.
pub(super) fn no_reply_needed_shot(conversation_id: &str, at: i64) -> Shot {
    Shot::new(
        "UPDATE conv_conversations SET unanswered = 0, updated_at_ms = $1 WHERE id = $2",
        vec![at.into(), conversation_id.into()],
    )
}

/// What a new outbound or system message means for the unanswered state
/// (customer messages count in `received`).
#[derive(Debug, Clone, Copy)]
pub(super) enum Effect {
    /// An operator (or the business phone) answered.
    Answered,
    /// Automatic or system messages change neither.
    Neutral,
}
