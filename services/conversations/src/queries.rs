//! Reads of the projection for the API.

use std::collections::HashMap;

use omnibus_proto::{Channel, Conversation, ListConversationsRequest, Message};
use omnibus_store::Store;
use sqlx::Row as _;

use crate::media::MediaLinks;
use crate::paging::{decode_token, encode_token, page_size, split_cursor};
use crate::rows::{self, CHANNEL_COLUMNS, CONVERSATION_COLUMNS, MESSAGE_COLUMNS};
use crate::sql::{Sql, contains_pattern};

/// One page of results.
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Token for the next page, empty on the last.
    pub next_page_token: String,
}

/// Where an outbound message of a conversation goes.
#[derive(Debug, Clone)]
pub struct SendTarget {
    /// The conversation's channel.
    pub channel_id: String,
    /// The provider's chat id to deliver to.
    pub provider_chat_id: String,
    /// The channel's messenger and status; `None` when the channel is unknown.
    pub channel: Option<(i32, i32)>,
    /// The bot the channel routes to (its sends are shown as BOT).
    pub bot_id: String,
}

/// A message's attachments as stored (provider file ids and links), with
/// its channel: what `GET /media` fetches from.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    /// The conversation's channel.
    pub channel_id: String,
    /// Its messenger.
    pub channel_kind: i32,
    /// The attachments as received.
    pub attachments: Vec<omnibus_proto::Attachment>,
}

/// Read access to the conversations projection.
#[derive(Clone)]
pub struct Queries {
    store: Store,
    links: MediaLinks,
}

impl Queries {
    /// Reads from `store`.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            links: MediaLinks::default(),
        }
    }

    /// Attachments' `url`s in answers point to `GET /media` under `links`.
    pub fn with_media_links(mut self, links: MediaLinks) -> Self {
        self.links = links;
        self
    }

    fn linked(&self, row: &sqlx::any::AnyRow) -> Result<Message, sqlx::Error> {
        rows::message(row).map(|message| self.links.apply(message))
    }

    /// The stored attachments of message `id` and its channel.
    pub async fn stored_message(&self, id: &str) -> Result<Option<StoredMessage>, sqlx::Error> {
        let mut sql = Sql::new(
            "SELECT m.attachments, c.channel_id, c.channel_kind FROM conv_messages m \
             JOIN conv_conversations c ON c.id = m.conversation_id WHERE m.id = ",
        );
        let p = sql.text(id);
        sql.push(&p);
        first(sql.fetch_all(self.pool()).await?, |row| {
            Ok(StoredMessage {
                channel_id: row.try_get("channel_id")?,
                channel_kind: row.try_get::<i64, _>("channel_kind")? as i32,
                attachments: crate::codec::decode::<crate::codec::Attachments>(
                    &row.try_get::<String, _>("attachments")?,
                )
                .items,
            })
        })
    }

    pub(crate) fn pool(&self) -> &sqlx::AnyPool {
        self.store.pool()
    }

    /// A channel by id, deleted ones included.
    pub async fn channel(&self, id: &str) -> Result<Option<Channel>, sqlx::Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM conv_channels WHERE id = "
        ));
        let p = sql.text(id);
        sql.push(&p);
        first(sql.fetch_all(self.pool()).await?, rows::channel)
    }

    /// Channels ordered by id (ids are time-ordered).
    pub async fn channels(
        &self,
        requested_size: u32,
        token: &str,
        include_deleted: bool,
    ) -> Result<Page<Channel>, sqlx::Error> {
        let size = page_size(requested_size);
        let mut sql = Sql::new(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM conv_channels WHERE 1 = 1"
        ));
        if !include_deleted {
            let p = sql.int(omnibus_proto::ChannelStatus::Deleted as i64);
            sql.push(&format!(" AND status <> {p}"));
        }
        if let Some(after) = decode_token(token) {
            let p = sql.text(after);
            sql.push(&format!(" AND id > {p}"));
        }
        let p = sql.int(i64::from(size) + 1);
        sql.push(&format!(" ORDER BY id LIMIT {p}"));
        let items = collect(sql.fetch_all(self.pool()).await?, rows::channel)?;
        Ok(paginate(items, size, |c| c.id.clone()))
    }

    /// A conversation with its last message.
    pub async fn conversation(&self, id: &str) -> Result<Option<Conversation>, sqlx::Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conv_conversations WHERE id = "
        ));
        let p = sql.text(id);
        sql.push(&p);
        let rows = sql.fetch_all(self.pool()).await?;
        let mut conversations = self.with_last_messages(&rows).await?;
        Ok(conversations.pop())
    }

    /// Conversations matching the filters, most recently active first.
    pub async fn conversations(
        &self,
        filter: &ListConversationsRequest,
    ) -> Result<Page<Conversation>, sqlx::Error> {
        let size = page_size(filter.page_size);
        let mut sql = Sql::new(&format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conv_conversations c WHERE 1 = 1"
        ));
        if filter.status != 0 {
            let p = sql.int(i64::from(filter.status));
            sql.push(&format!(" AND c.status = {p}"));
        }
        for (column, value) in [
            ("c.channel_id", &filter.channel_id),
            ("c.assignee_id", &filter.assignee_id),
            ("c.group_id", &filter.group_id),
        ] {
            if !value.is_empty() {
                let p = sql.text(value.as_str());
                sql.push(&format!(" AND {column} = {p}"));
            }
        }
        if !filter.contact_id.is_empty() {
            // The person: every identity linked to them, on any channel.
            let p = sql.text(filter.contact_id.as_str());
            sql.push(&format!(
                " AND (c.contact_id = {p}
                     OR c.contact_id IN (SELECT identity_id FROM ct_links WHERE person_id = {p}))"
            ));
        }
        if filter.unanswered_only {
            sql.push(" AND c.unanswered = 1");
        }
        if filter.unassigned_only {
            sql.push(" AND c.assignee_id = ''");
        }
        if !filter.query.trim().is_empty() {
            let p = sql.text(contains_pattern(filter.query.trim()));
            sql.push(&format!(
                " AND (LOWER(c.title) LIKE {p} ESCAPE '\\'
                   OR EXISTS (SELECT 1 FROM conv_contacts k WHERE k.id = c.contact_id
                        AND (LOWER(k.username) LIKE {p} ESCAPE '\\' OR k.phone LIKE {p} ESCAPE '\\'))
                   OR EXISTS (SELECT 1 FROM conv_messages m WHERE m.conversation_id = c.id
                        AND LOWER(m.text) LIKE {p} ESCAPE '\\'))"
            ));
        }
        if let Some((activity, id)) = decode_token(&filter.page_token)
            .as_deref()
            .and_then(split_cursor)
            .map(|(a, id)| (a, id.to_owned()))
        {
            let a = sql.int(activity);
            let i = sql.text(id);
            sql.push(&format!(
                " AND (c.last_activity_ms < {a} OR (c.last_activity_ms = {a} AND c.id < {i}))"
            ));
        }
        let p = sql.int(i64::from(size) + 1);
        sql.push(&format!(
            " ORDER BY c.last_activity_ms DESC, c.id DESC LIMIT {p}"
        ));
        let rows = sql.fetch_all(self.pool()).await?;
        let mut cursors = HashMap::new();
        for row in &rows {
            cursors.insert(
                row.try_get::<String, _>("id")?,
                row.try_get::<i64, _>("last_activity_ms")?,
            );
        }
        let items = self.with_last_messages(&rows).await?;
        Ok(paginate(items, size, |c| {
            format!(
                "{}:{}",
                cursors.get(&c.id).copied().unwrap_or_default(),
                c.id
            )
        }))
    }

    async fn with_last_messages(
        &self,
        rows: &[sqlx::any::AnyRow],
    ) -> Result<Vec<Conversation>, sqlx::Error> {
        let mut conversations = Vec::with_capacity(rows.len());
        let mut last_ids = Vec::new();
        for row in rows {
            last_ids.push(row.try_get::<String, _>("last_message_id")?);
            conversations.push(rows::conversation(row)?);
        }
        let mut messages = self.messages_by_id(&last_ids).await?;
        for (conversation, last_id) in conversations.iter_mut().zip(last_ids) {
            conversation.last_message = messages.remove(&last_id);
        }
        Ok(conversations)
    }

    async fn messages_by_id(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, Message>, sqlx::Error> {
        let ids: Vec<&String> = ids.iter().filter(|id| !id.is_empty()).collect();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut sql = Sql::new(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM conv_messages WHERE id IN ("
        ));
        let placeholders: Vec<String> = ids.iter().map(|id| sql.text(id.as_str())).collect();
        sql.push(&placeholders.join(", ")).push(")");
        let messages = collect(sql.fetch_all(self.pool()).await?, |r| self.linked(r))?;
        Ok(messages.into_iter().map(|m| (m.id.clone(), m)).collect())
    }

    /// A message by id.
    pub async fn message(&self, id: &str) -> Result<Option<Message>, sqlx::Error> {
        Ok(self.messages_by_id(&[id.to_owned()]).await?.remove(id))
    }

    /// The customer's latest message the provider knows (an Instagram
    /// comment thread's latest comment, the one an answer goes to when the
    /// operator names none).
    pub async fn latest_customer_message(
        &self,
        conversation_id: &str,
    ) -> Result<Option<Message>, sqlx::Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM conv_messages WHERE "
        ));
        let c = sql.text(conversation_id);
        let d = sql.int(omnibus_proto::Direction::Inbound as i64);
        sql.push(&format!(
            "conversation_id = {c} AND direction = {d} AND provider_message_id <> '' \
             ORDER BY seq DESC LIMIT 1"
        ));
        first(sql.fetch_all(self.pool()).await?, rows::message)
    }

    /// The message sent earlier with this idempotency key, if any.
    pub async fn message_by_idempotency_key(
        &self,
        conversation_id: &str,
        key: &str,
    ) -> Result<Option<Message>, sqlx::Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM conv_messages WHERE "
        ));
        let c = sql.text(conversation_id);
        let k = sql.text(key);
        // `<> ''` lets the partial index serve the lookup.
        sql.push(&format!(
            "conversation_id = {c} AND idempotency_key = {k} AND idempotency_key <> ''"
        ));
        first(sql.fetch_all(self.pool()).await?, |r| self.linked(r))
    }

    /// Messages of a conversation, oldest first.
    pub async fn messages(
        &self,
        conversation_id: &str,
        requested_size: u32,
        token: &str,
    ) -> Result<Page<Message>, sqlx::Error> {
        let size = page_size(requested_size);
        let mut sql = Sql::new(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM conv_messages WHERE "
        ));
        let c = sql.text(conversation_id);
        sql.push(&format!("conversation_id = {c}"));
        if let Some(after) = decode_token(token).and_then(|t| t.parse::<i64>().ok()) {
            let p = sql.int(after);
            sql.push(&format!(" AND seq > {p}"));
        }
        let p = sql.int(i64::from(size) + 1);
        sql.push(&format!(" ORDER BY seq, id LIMIT {p}"));
        let rows = sql.fetch_all(self.pool()).await?;
        let mut seqs = HashMap::new();
        for row in &rows {
            seqs.insert(
                row.try_get::<String, _>("id")?,
                row.try_get::<i64, _>("seq")?,
            );
        }
        let items = collect(rows, |r| self.linked(r))?;
        Ok(paginate(items, size, |m| {
            seqs.get(&m.id).copied().unwrap_or_default().to_string()
        }))
    }

    /// Where to deliver messages of a conversation, with its channel's
    /// state: everything `SendMessage` checks, in one round trip.
    pub async fn send_target(
        &self,
        conversation_id: &str,
    ) -> Result<Option<SendTarget>, sqlx::Error> {
        type Row = (String, String, Option<i64>, Option<i64>, Option<String>);
        let row: Option<Row> = sqlx::query_as(
            "SELECT c.channel_id, c.provider_chat_id, ch.kind, ch.status, ch.settings
             FROM conv_conversations c LEFT JOIN conv_channels ch ON ch.id = c.channel_id
             WHERE c.id = $1",
        )
        .bind(conversation_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(
            row.map(|(channel_id, provider_chat_id, kind, status, settings)| {
                let settings: omnibus_proto::ChannelSettings = settings
                    .map(|s| crate::codec::decode(&s))
                    .unwrap_or_default();
                SendTarget {
                    channel_id,
                    provider_chat_id,
                    channel: kind.zip(status).map(|(k, s)| (k as i32, s as i32)),
                    bot_id: settings.routing.map(|r| r.bot_id).unwrap_or_default(),
                }
            }),
        )
    }

    /// Whether the conversation exists (without loading it).
    pub async fn conversation_exists(&self, id: &str) -> Result<bool, sqlx::Error> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM conv_conversations WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        Ok(found.is_some())
    }
}

fn collect<T>(
    rows: Vec<sqlx::any::AnyRow>,
    convert: impl Fn(&sqlx::any::AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Vec<T>, sqlx::Error> {
    rows.iter().map(convert).collect()
}

fn first<T>(
    rows: Vec<sqlx::any::AnyRow>,
    convert: impl Fn(&sqlx::any::AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Option<T>, sqlx::Error> {
    rows.first().map(convert).transpose()
}

/// Cuts the one extra row fetched to learn whether another page exists.
fn paginate<T>(mut items: Vec<T>, size: u32, cursor: impl Fn(&T) -> String) -> Page<T> {
    let next_page_token = if items.len() > size as usize {
        items.truncate(size as usize);
        items
            .last()
            .map(|last| encode_token(&cursor(last)))
            .unwrap_or_default()
    } else {
        String::new()
    };
    Page {
        items,
        next_page_token,
    }
}
