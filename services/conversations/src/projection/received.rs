//! `MessageReceived`: the one apply path of inbound messages (and of the
//! business phone's echoes), for a run of consecutive events or a run of
//! one. A few multi-row statements per chunk instead of four statements per
//! event; the result is that of applying the events one by one, which the
//! rebuild tests check by comparing a live-built database (small batches)
//! with a replayed one (large batches).
//!
//! Per chunk of events one `INSERT … RETURNING` of the messages tells which
//! are new; for all the run's new ones, contacts and conversations are then
//! upserted once each, with the run's combined effect (unread added up, the
//! last answer or customer message deciding `unanswered`, the latest
//! message last).

use std::collections::{HashMap, HashSet};

use omnibus_proto::{
    AuthorKind, ConversationStatus, Direction, Event, MessageReceived, MessageStatus, Peer,
};
use omnibus_store::Placeholders;
use sqlx::AnyConnection;

use super::conversation::{has_name, title};
use crate::codec::{self, Attachments};

/// Events per statement: 13 parameters a message, 2,600 a statement, far
/// below the limits of SQLite (32,766) and PostgreSQL (65,535); fewer
/// statements mean fewer round trips on PostgreSQL.
const CHUNK: usize = 200;

/// Whether a multi-row statement of `rows` rows stays prepared.
fn keep_prepared(rows: usize) -> bool {
    omnibus_store::keep_prepared(rows, CHUNK)
}

/// One `MessageReceived` of the run and its stream sequence.
pub(super) struct Received<'a> {
    pub seq: u64,
    pub event: &'a Event,
    pub received: &'a MessageReceived,
}

/// Applies `run`: its messages in chunks, then one summary of what the new
/// ones did to their contacts and conversations (one upsert per row, not
/// per chunk: a run of 2,000 events over 50 chats costs two upserts of 50
/// rows instead of ten pairs).
pub(super) async fn apply(
    conn: &mut AnyConnection,
    run: &[Received<'_>],
) -> Result<(), sqlx::Error> {
    // A repeated event (beyond JetStream's duplicate window) counts once.
    let mut seen = HashSet::new();
    let unique: Vec<&Received<'_>> = run
        .iter()
        .filter(|r| seen.insert(r.received.message_id.as_str()))
        .collect();
    let mut fresh = Vec::with_capacity(unique.len());
    for chunk in unique.chunks(CHUNK) {
        let new = insert_messages(conn, chunk).await?;
        fresh.extend(
            chunk
                .iter()
                .filter(|r| new.contains(r.received.message_id.as_str())),
        );
    }
    let summary = Summary::of(&fresh);
    for rows in summary.conversations.chunks(CHUNK) {
        reopened_lines(conn, rows).await?;
    }
    upsert_contacts(conn, &summary.contacts).await?;
    upsert_conversations(conn, &summary.conversations).await?;
    for r in &fresh {
        let subject = super::conversation::subject_of(r.received);
        super::conversation::keep_subject(conn, &r.event.conversation_id, subject).await?;
        link_reply_to_ours(conn, r).await?;
    }
    Ok(())
}

/// Points a customer's answer or reaction at OUR message it is about, when
/// the provider id it names is one of our sends (the ingress can only
/// derive ids of the customer's own messages). Replies are rare, so this
/// costs the common message nothing.
async fn link_reply_to_ours(conn: &mut AnyConnection, r: &Received<'_>) -> Result<(), sqlx::Error> {
    let provider_id = r.received.reply_to_provider_message_id.as_str();
    if provider_id.is_empty() {
        return Ok(());
    }
    let ours: Option<String> = sqlx::query_scalar(
        "SELECT id FROM conv_messages
         WHERE conversation_id = $1 AND provider_message_id = $2 AND direction = $3
         ORDER BY seq LIMIT 1",
    )
    .bind(r.event.conversation_id.as_str())
    .bind(provider_id)
    .bind(Direction::Outbound as i64)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(ours) = ours {
        sqlx::query("UPDATE conv_messages SET reply_to_message_id = $1 WHERE id = $2")
            .bind(ours)
            .bind(r.received.message_id.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

fn direction(r: &MessageReceived) -> Direction {
    Direction::try_from(r.direction).unwrap_or(Direction::Inbound)
}

fn author(r: &MessageReceived) -> AuthorKind {
    AuthorKind::try_from(r.author_kind).unwrap_or(AuthorKind::Contact)
}

/// Inserts the messages; returns the ids that were new.
async fn insert_messages(
    conn: &mut AnyConnection,
    rows: &[&Received<'_>],
) -> Result<HashSet<String>, sqlx::Error> {
    let mut sql = String::from(
        "INSERT INTO conv_messages (id, seq, conversation_id, direction, author_kind, author_name,
             operator_id, text, attachments, template, status, failure_reason, provider_message_id,
             reply_to_message_id, edited, idempotency_key, created_at_ms, updated_at_ms) VALUES ",
    );
    let mut p = Placeholders::for_connection(conn);
    p.push_rows_with(&mut sql, rows.len(), |sql, p| {
        let mut next = || p.next();
        let values = [
            next(),
            next(),
            next(),
            next(),
            next(),
            next(),
            "''".into(),
            next(),
            next(),
            "''".into(),
            next(),
            "''".into(),
            next(),
            next(),
            "0".into(),
            "''".into(),
            next(),
            next(),
        ];
        sql.push_str(&values.join(", "));
    });
    sql.push_str(" ON CONFLICT (id) DO NOTHING RETURNING id");
    let mut query = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(sql))
        .persistent(keep_prepared(rows.len()));
    for r in rows {
        let m = r.received;
        let status = if direction(m) == Direction::Outbound {
            MessageStatus::Sent
        } else {
            MessageStatus::Delivered
        };
        query = query
            .bind(m.message_id.as_str())
            .bind(r.seq as i64)
            .bind(r.event.conversation_id.as_str())
            .bind(direction(m) as i64)
            .bind(author(m) as i64)
            .bind(m.author_name.as_str())
            .bind(m.text.as_str())
            .bind(codec::encode(&Attachments {
                items: m.attachments.clone(),
            }))
            .bind(status as i64)
            .bind(m.provider_message_id.as_str())
            .bind(m.reply_to_message_id.as_str())
            .bind(super::event_time(r.event))
            .bind(super::event_time(r.event));
    }
    let inserted = query.fetch_all(conn).await?;
    Ok(inserted.into_iter().map(|(id,)| id).collect())
}

/// What the new messages of a chunk do to their contacts and conversations.
#[derive(Default)]
struct Summary<'a> {
    contacts: Vec<ContactRow<'a>>,
    conversations: Vec<ConversationRow<'a>>,
}

struct ContactRow<'a> {
    id: &'a str,
    channel_id: &'a str,
    provider_user_id: &'a str,
    /// The last peer with a name, else the first one.
    display_name: String,
    named: bool,
    username: &'a str,
    phone: &'a str,
    is_group: bool,
    first_at: i64,
    last_at: i64,
}

struct ConversationRow<'a> {
    id: &'a str,
    channel_id: &'a str,
    contact_id: &'a str,
    provider_chat_id: &'a str,
    is_group: bool,
    title: String,
    named: bool,
    reopen: bool,
    /// The first message that may reopen it (sequence, time).
    reopen_by: Option<(u64, i64)>,
    unread: i64,
    /// The last customer message (true) or answer (false); None: unchanged.
    unanswered: Option<bool>,
    last_message_id: &'a str,
    /// The latest message time: the conversation's activity and update time
    /// never go back (a provider's clock may lag ours).
    max_at: i64,
    first_at: i64,
}

impl<'a> Summary<'a> {
    fn of(fresh: &[&Received<'a>]) -> Self {
        let mut summary = Summary::default();
        let (mut contacts, mut conversations) = (HashMap::new(), HashMap::new());
        for r in fresh {
            let peer = r.received.peer.as_ref().map_or(&EMPTY_PEER, |p| p);
            let at = super::event_time(r.event);
            let c = *contacts
                .entry(r.received.contact_id.as_str())
                .or_insert_with(|| {
                    summary.contacts.push(ContactRow::new(r, peer, at));
                    summary.contacts.len() - 1
                });
            summary.contacts[c].add(peer, at);
            let v = *conversations
                .entry(r.event.conversation_id.as_str())
                .or_insert_with(|| {
                    summary
                        .conversations
                        .push(ConversationRow::new(r, peer, at));
                    summary.conversations.len() - 1
                });
            summary.conversations[v].add(r.received, peer, at);
            let row = &mut summary.conversations[v];
            if row.reopen && row.reopen_by.is_none() {
                row.reopen_by = Some((r.seq, at));
            }
        }
        summary
    }
}

static EMPTY_PEER: Peer = Peer {
    provider_chat_id: String::new(),
    provider_user_id: String::new(),
    first_name: String::new(),
    last_name: String::new(),
    username: String::new(),
    phone: String::new(),
    is_group: false,
    chat_title: String::new(),
    subject_url: String::new(),
};

impl<'a> ContactRow<'a> {
    fn new(r: &Received<'a>, peer: &'a Peer, at: i64) -> Self {
        let user = if peer.is_group {
            &peer.provider_chat_id
        } else {
            &peer.provider_user_id
        };
        Self {
            id: &r.received.contact_id,
            channel_id: &r.event.channel_id,
            provider_user_id: user,
            display_name: title(peer),
            named: false,
            username: "",
            phone: "",
            is_group: peer.is_group,
            first_at: at,
            last_at: at,
        }
    }

    fn add(&mut self, peer: &'a Peer, at: i64) {
        if has_name(peer) || self.display_name.is_empty() {
            self.display_name = title(peer);
            self.named |= has_name(peer);
        }
        if !peer.is_group && !peer.username.is_empty() {
            self.username = &peer.username;
        }
        if !peer.is_group && !peer.phone.is_empty() {
            self.phone = &peer.phone;
        }
        self.last_at = at;
    }
}

impl<'a> ConversationRow<'a> {
    fn new(r: &Received<'a>, peer: &'a Peer, at: i64) -> Self {
        Self {
            id: &r.event.conversation_id,
            channel_id: &r.event.channel_id,
            contact_id: &r.received.contact_id,
            provider_chat_id: &peer.provider_chat_id,
            is_group: peer.is_group,
            title: title(peer),
            named: false,
            reopen: false,
            reopen_by: None,
            unread: 0,
            unanswered: None,
            last_message_id: "",
            max_at: at,
            first_at: at,
        }
    }

    fn add(&mut self, m: &'a MessageReceived, peer: &Peer, at: i64) {
        if has_name(peer) || self.title.is_empty() {
            self.title = title(peer);
            self.named |= has_name(peer);
        }
        match (direction(m), author(m)) {
            (Direction::Inbound, AuthorKind::Contact) => {
                self.unread += 1;
                self.unanswered = Some(true);
            }
            (Direction::Outbound, _) => self.unanswered = Some(false),
            _ => {}
        }
        self.reopen |= direction(m) != Direction::Outbound;
        self.last_message_id = &m.message_id;
        self.max_at = self.max_at.max(at);
    }
}

/// The system line of every closed conversation the run reopens, as the
/// one-by-one path writes it; which are closed is asked in one statement.
async fn reopened_lines(
    conn: &mut AnyConnection,
    rows: &[ConversationRow<'_>],
) -> Result<(), sqlx::Error> {
    let reopening: Vec<(&str, u64, i64)> = rows
        .iter()
        .filter_map(|row| row.reopen_by.map(|(seq, at)| (row.id, seq, at)))
        .collect();
    if reopening.is_empty() {
        return Ok(());
    }
    let mut p = Placeholders::for_connection(conn);
    let mut sql = format!(
        "SELECT id FROM conv_conversations WHERE status = {} AND id IN (",
        p.next()
    );
    p.push_list(&mut sql, reopening.len());
    sql.push(')');
    let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
        .bind(ConversationStatus::Closed as i64);
    for (id, _, _) in &reopening {
        query = query.bind(*id);
    }
    let closed: HashSet<String> = query.fetch_all(&mut *conn).await?.into_iter().collect();
    for (id, seq, at) in reopening {
        if closed.contains(id) {
            super::activity::reopened_line(conn, seq, id, at, "").await?;
        }
    }
    Ok(())
}

/// One statement per kind of row (named or not) and chunk.
async fn upsert_contacts(
    conn: &mut AnyConnection,
    rows: &[ContactRow<'_>],
) -> Result<(), sqlx::Error> {
    for named in [true, false] {
        let rows: Vec<&ContactRow<'_>> = rows.iter().filter(|r| r.named == named).collect();
        for rows in rows.chunks(CHUNK) {
            upsert_contact_kind(conn, rows, named).await?;
        }
    }
    Ok(())
}

async fn upsert_contact_kind(
    conn: &mut AnyConnection,
    rows: &[&ContactRow<'_>],
    named: bool,
) -> Result<(), sqlx::Error> {
    let mut sql = String::from(
        "INSERT INTO conv_contacts (id, channel_id, provider_user_id, display_name, username,
             phone, is_group, created_at_ms, updated_at_ms) VALUES ",
    );
    Placeholders::for_connection(conn).push_rows(&mut sql, rows.len(), 9);
    sql.push_str(if named {
        " ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name,"
    } else {
        " ON CONFLICT (id) DO UPDATE SET display_name = CASE WHEN conv_contacts.display_name = ''
             THEN excluded.display_name ELSE conv_contacts.display_name END,"
    });
    sql.push_str(
        " username = CASE WHEN excluded.username = '' THEN conv_contacts.username ELSE excluded.username END,
          phone = CASE WHEN excluded.phone = '' THEN conv_contacts.phone ELSE excluded.phone END,
          updated_at_ms = excluded.updated_at_ms",
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(keep_prepared(rows.len()));
    for r in rows {
        query = query
            .bind(r.id)
            .bind(r.channel_id)
            .bind(r.provider_user_id)
            .bind(r.display_name.as_str())
            .bind(r.username)
            .bind(r.phone)
            .bind(i64::from(r.is_group))
            .bind(r.first_at)
            .bind(r.last_at);
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// One statement per kind of row (named or not, reopening or not, and what
/// the run did to `unanswered`) and chunk.
async fn upsert_conversations(
    conn: &mut AnyConnection,
    rows: &[ConversationRow<'_>],
) -> Result<(), sqlx::Error> {
    for named in [true, false] {
        for reopen in [true, false] {
            for unanswered in [Some(true), Some(false), None] {
                let rows: Vec<&ConversationRow<'_>> = rows
                    .iter()
                    .filter(|r| {
                        r.named == named && r.reopen == reopen && r.unanswered == unanswered
                    })
                    .collect();
                for rows in rows.chunks(CHUNK) {
                    upsert_conversation_kind(conn, rows, named, reopen, unanswered).await?;
                }
            }
        }
    }
    Ok(())
}

async fn upsert_conversation_kind(
    conn: &mut AnyConnection,
    rows: &[&ConversationRow<'_>],
    named: bool,
    reopen: bool,
    unanswered: Option<bool>,
) -> Result<(), sqlx::Error> {
    let mut sql = String::from(
        "INSERT INTO conv_conversations (id, channel_id, channel_kind, contact_id, provider_chat_id,
             title, is_group, status, close_reason, assignee_id, group_id, unread_count,
             unanswered, last_message_id, last_activity_ms, created_at_ms, updated_at_ms) VALUES ",
    );
    let mut p = Placeholders::for_connection(conn);
    p.push_rows_with(&mut sql, rows.len(), |sql, p| {
        let mut next = || p.next();
        let (id, channel) = (next(), next());
        let kind = format!(
            "COALESCE((SELECT kind FROM conv_channels WHERE id = {}), 0)",
            next()
        );
        let values = [
            id,
            channel,
            kind.into(),
            next(),
            next(),
            next(),
            next(),
            "1".into(),
            "0".into(),
            "''".into(),
            "''".into(),
            next(),
            next(),
            next(),
            next(),
            next(),
            next(),
        ];
        sql.push_str(&values.join(", "));
    });
    let title = if named {
        "excluded.title"
    } else {
        "CASE WHEN conv_conversations.title = '' THEN excluded.title ELSE conv_conversations.title END"
    };
    let (status, close_reason) = if reopen {
        ("1", "0")
    } else {
        (
            "conv_conversations.status",
            "conv_conversations.close_reason",
        )
    };
    let unanswered_sql = match unanswered {
        Some(true) => "1",
        Some(false) => "0",
        None => "conv_conversations.unanswered",
    };
    sql.push_str(&format!(
        " ON CONFLICT (id) DO UPDATE SET title = {title}, status = {status},
              close_reason = {close_reason},
              unread_count = conv_conversations.unread_count + excluded.unread_count,
              unanswered = {unanswered_sql}, last_message_id = excluded.last_message_id,
              last_activity_ms = CASE WHEN conv_conversations.last_activity_ms > excluded.last_activity_ms
                  THEN conv_conversations.last_activity_ms ELSE excluded.last_activity_ms END,
              updated_at_ms = CASE WHEN conv_conversations.updated_at_ms > excluded.updated_at_ms
                  THEN conv_conversations.updated_at_ms ELSE excluded.updated_at_ms END"
    ));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(keep_prepared(rows.len()));
    for r in rows {
        query = query
            .bind(r.id)
            .bind(r.channel_id)
            .bind(r.channel_id)
            .bind(r.contact_id)
            .bind(r.provider_chat_id)
            .bind(r.title.as_str())
            .bind(i64::from(r.is_group))
            .bind(r.unread)
            .bind(i64::from(r.unanswered == Some(true)))
            .bind(r.last_message_id)
            .bind(r.max_at)
            .bind(r.first_at)
            .bind(r.max_at);
    }
    query.execute(conn).await?;
    Ok(())
}
