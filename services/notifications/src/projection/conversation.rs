//! Conversation facts → notifications, plus the state they need: who is
//! assigned, whether it is closed, and since when a customer is waiting
//! (with the UNANSWERED deadline derived from the channel's settings).
//!
//! The rules work on a run's working set ([`Conversations`]): each
//! conversation is read once per run, changed in memory event by event,
//! and written once at the run's end, so a replay costs a few statements
//! per run instead of two to four per event.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use omnibus_proto::{
    AuthorKind, ChannelChanged, ConversationAssigned, ConversationStarted, Direction, Event,
    MessageFailed, MessageReceived, MessageRequested, NotificationKind as Kind, UnansweredDetected,
    event::Payload, notification_event::Change,
};
use omnibus_store::{Placeholders, keep_prepared};
use sqlx::AnyConnection;

use super::Emitter;

/// Rows (or ids) per multi-row statement: at most 8 parameters a row.
const ROWS: usize = 250;

/// What the projection keeps per conversation: a `notif_conversations` row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Conv {
    id: String,
    channel_id: String,
    assignee_id: String,
    closed: i64,
    waiting_seq: i64,
    waiting_message_id: String,
    waiting_since_ms: i64,
    deadline_ms: i64,
}
from_row!(Conv {
    id,
    channel_id,
    assignee_id,
    closed,
    waiting_seq,
    waiting_message_id,
    waiting_since_ms,
    deadline_ms
});

/// A conversation as the run found it in the table and as it is now
/// (`None`: there is no such conversation).
#[derive(Debug, Default)]
struct Slot {
    stored: Option<Conv>,
    now: Option<Conv>,
}

/// Conversations as committed runs left them (`None`: no row), so a live
/// batch reads none again (see [`omnibus_store::Kept`]); this projection
/// is the only writer of `notif_conversations`.
pub(super) type Kept = omnibus_store::Kept<Option<Conv>>;

/// The kept conversations as the table holds them (for tests).
#[cfg(test)]
pub(super) async fn as_loaded(
    kept: &Kept,
    conn: &mut AnyConnection,
) -> Result<BTreeMap<String, Option<Conv>>, sqlx::Error> {
    let mut read = Conversations::default();
    read.load(conn, kept.rows().keys().map(String::as_str))
        .await?;
    Ok(read
        .slots
        .into_iter()
        .map(|(id, slot)| (id, slot.now))
        .collect())
}

/// The conversations a run touches, and the answers it counts.
#[derive(Debug, Default)]
pub(super) struct Conversations {
    slots: BTreeMap<String, Slot>,
    /// `(operator, UTC day, conversation)` answered in this run.
    handled: BTreeSet<(String, i64, String)>,
    /// What earlier runs left, taken from as conversations are read.
    kept: Kept,
}

impl Conversations {
    /// A run's conversations, read first from what earlier runs `kept`.
    pub fn new(kept: Kept) -> Self {
        Self {
            kept,
            ..Self::default()
        }
    }

    /// Ends the run: what is still kept from earlier runs, and each of
    /// this run's conversations as it leaves them (to keep once the
    /// transaction commits).
    pub fn finish(self) -> (Kept, Vec<(String, Option<Conv>)>) {
        let ended = self
            .slots
            .into_iter()
            .map(|(id, slot)| (id, slot.now))
            .collect();
        (self.kept, ended)
    }

    /// Whether [`Conversations::store`] would write anything: a
    /// conversation changed, or an answer not yet in `stored`.
    pub fn writes_anything(&self, stored: &HandledStored) -> bool {
        self.slots.values().any(|slot| slot.now != slot.stored)
            || self.handled.iter().any(|row| !stored.contains(row))
    }

    /// Gives back, unchanged, what the run took from earlier runs or read
    /// (for a run that is dropped, to be applied again).
    pub fn give_back(self) -> Kept {
        let mut kept = self.kept;
        kept.keep(
            self.slots
                .into_iter()
                .map(|(id, slot)| (id, slot.stored))
                .collect(),
        );
        kept
    }

    /// Reads the conversations of `ids` that this run has not read yet:
    /// from what earlier runs kept, else with one `SELECT … IN (…)` per
    /// [`ROWS`] ids.
    pub async fn load<'a>(
        &mut self,
        conn: &mut AnyConnection,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), sqlx::Error> {
        let missing: BTreeSet<&str> = ids
            .into_iter()
            .filter(|id| !self.slots.contains_key(*id))
            .collect();
        let mut read = Vec::with_capacity(missing.len());
        for id in missing {
            match self.kept.take(id) {
                Some(conv) => {
                    let slot = Slot {
                        stored: conv.clone(),
                        now: conv,
                    };
                    self.slots.insert(id.to_owned(), slot);
                }
                None => read.push(id),
            }
        }
        let missing = read;
        for chunk in missing.chunks(ROWS) {
            let mut sql = String::from(
                "SELECT id, channel_id, assignee_id, closed, waiting_seq, waiting_message_id, \
                 waiting_since_ms, deadline_ms FROM notif_conversations WHERE id IN (",
            );
            Placeholders::for_connection(conn).push_list(&mut sql, chunk.len());
            sql.push(')');
            let mut query = sqlx::query_as::<_, Conv>(sqlx::AssertSqlSafe(sql))
                .persistent(keep_prepared(chunk.len(), ROWS));
            for id in chunk {
                query = query.bind(*id);
            }
            let rows = query.fetch_all(&mut *conn).await?;
            for id in chunk {
                self.slots.insert((*id).to_owned(), Slot::default());
            }
            for row in rows {
                if let Some(slot) = self.slots.get_mut(&row.id) {
                    slot.stored = Some(row.clone());
                    slot.now = Some(row);
                }
            }
        }
        Ok(())
    }

    /// Applies a conversation fact to its conversation (read first if
    /// this run has not read it yet); `channels` gives the UNANSWERED
    /// threshold when a wait starts.
    pub async fn apply(
        &mut self,
        conn: &mut AnyConnection,
        channels: &mut Channels,
        out: &mut Emitter,
        fact: Fact<'_>,
    ) -> Result<(), sqlx::Error> {
        let threshold_ms = match fact {
            Fact::Received(r) if starts_wait(r) => {
                channels.threshold(conn, out.channel_id()).await?
            }
            _ => 0,
        };
        self.load(conn, [out.conversation_id()]).await?;
        let slot = &mut self
            .slots
            .entry(out.conversation_id().to_owned())
            .or_default()
            .now;
        match fact {
            Fact::Received(r) => received(slot, out, r, threshold_ms),
            Fact::Requested(r) => {
                if requested(slot, out, r) {
                    self.handled(out, &r.operator_id);
                }
            }
            Fact::Failed(f) => failed(slot, out, f),
            Fact::Closed => closed(slot, out),
            Fact::Assigned(a) => assigned(slot, out, a),
            Fact::NoReplyNeeded => no_reply_needed(slot, out),
            Fact::Started(s) => started(slot, out, s),
            Fact::Unanswered(d) => unanswered(slot, out, d),
        }
        Ok(())
    }

    /// Counts the conversation as handled by `operator_id` on the event's
    /// UTC day.
    fn handled(&mut self, out: &Emitter, operator_id: &str) {
        if operator_id.is_empty() {
            return;
        }
        self.handled.insert((
            operator_id.to_owned(),
            crate::operators::utc_day(out.at_ms()),
            out.conversation_id().to_owned(),
        ));
    }

    /// Writes what the run changed: one upsert per [`ROWS`] conversations
    /// that differ from what was read, one insert per [`ROWS`] answers not
    /// yet in `stored`.
    pub async fn store(
        &mut self,
        conn: &mut AnyConnection,
        stored: &mut HandledStored,
    ) -> Result<(), sqlx::Error> {
        let changed: Vec<&Conv> = self
            .slots
            .values()
            .filter_map(|slot| {
                slot.now
                    .as_ref()
                    .filter(|now| slot.stored.as_ref() != Some(now))
            })
            .collect();
        for chunk in changed.chunks(ROWS) {
            upsert(conn, chunk).await?;
        }
        let handled: Vec<_> = self
            .handled
            .iter()
            .filter(|row| !stored.contains(row))
            .collect();
        for chunk in handled.chunks(ROWS) {
            insert_handled(conn, chunk).await?;
        }
        stored.extend(std::mem::take(&mut self.handled));
        Ok(())
    }
}

/// The `notif_handled` rows this projection knows to be in the table, so an
/// operator's second answer of the day in a conversation (most answers)
/// costs no statement. Only today's and yesterday's rows are kept; cleared
/// whenever something is rolled back, since the rows may be from it.
#[derive(Debug, Default)]
pub(super) struct HandledStored {
    /// `(operator, UTC day, conversation)`, as [`Conversations`] counts them.
    rows: BTreeSet<(String, i64, String)>,
    /// The latest day among `rows`.
    latest_day: i64,
}

impl HandledStored {
    fn contains(&self, row: &(String, i64, String)) -> bool {
        self.rows.contains(row)
    }

    fn extend(&mut self, mut rows: BTreeSet<(String, i64, String)>) {
        let latest = rows.iter().map(|(_, day, _)| *day).max();
        self.rows.append(&mut rows);
        if let Some(latest) = latest.filter(|day| *day > self.latest_day) {
            self.latest_day = latest;
            self.rows.retain(|(_, day, _)| *day >= latest - 1);
        }
    }

    /// Forgets everything (after a rollback).
    pub fn clear(&mut self) {
        self.rows.clear();
        self.latest_day = 0;
    }
}

async fn upsert(conn: &mut AnyConnection, rows: &[&Conv]) -> Result<(), sqlx::Error> {
    let mut sql = String::from(
        "INSERT INTO notif_conversations (id, channel_id, assignee_id, closed, waiting_seq, \
         waiting_message_id, waiting_since_ms, deadline_ms) VALUES ",
    );
    Placeholders::for_connection(conn).push_rows(&mut sql, rows.len(), 8);
    sql.push_str(
        " ON CONFLICT (id) DO UPDATE SET assignee_id = excluded.assignee_id, \
         closed = excluded.closed, waiting_seq = excluded.waiting_seq, \
         waiting_message_id = excluded.waiting_message_id, \
         waiting_since_ms = excluded.waiting_since_ms, deadline_ms = excluded.deadline_ms",
    );
    let mut query =
        sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(keep_prepared(rows.len(), ROWS));
    for conv in rows {
        query = query
            .bind(conv.id.as_str())
            .bind(conv.channel_id.as_str())
            .bind(conv.assignee_id.as_str())
            .bind(conv.closed)
            .bind(conv.waiting_seq)
            .bind(conv.waiting_message_id.as_str())
            .bind(conv.waiting_since_ms)
            .bind(conv.deadline_ms);
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

async fn insert_handled(
    conn: &mut AnyConnection,
    rows: &[&(String, i64, String)],
) -> Result<(), sqlx::Error> {
    let mut sql =
        String::from("INSERT INTO notif_handled (operator_id, day, conversation_id) VALUES ");
    Placeholders::for_connection(conn).push_rows(&mut sql, rows.len(), 3);
    sql.push_str(" ON CONFLICT (operator_id, day, conversation_id) DO NOTHING");
    let mut query =
        sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(keep_prepared(rows.len(), ROWS));
    for (operator_id, day, conversation_id) in rows {
        query = query
            .bind(operator_id.as_str())
            .bind(*day)
            .bind(conversation_id.as_str());
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// Channels' UNANSWERED thresholds (ms, 0: disabled). Only this projection
/// writes `notif_channels`, so what it read or wrote stays valid across
/// runs until something is rolled back ([`Channels::clear`]).
#[derive(Debug, Default)]
pub(super) struct Channels {
    thresholds: HashMap<String, i64>,
}

impl Channels {
    /// The threshold of `channel_id`, read once.
    pub async fn threshold(
        &mut self,
        conn: &mut AnyConnection,
        channel_id: &str,
    ) -> Result<i64, sqlx::Error> {
        if let Some(known) = self.thresholds.get(channel_id) {
            return Ok(*known);
        }
        let threshold: Option<i64> =
            sqlx::query_scalar("SELECT unanswered_after_ms FROM notif_channels WHERE id = $1")
                .bind(channel_id)
                .fetch_optional(&mut *conn)
                .await?;
        let threshold = threshold.unwrap_or(0);
        self.thresholds.insert(channel_id.to_owned(), threshold);
        Ok(threshold)
    }

    /// Remembers the channel's UNANSWERED threshold (0: disabled).
    pub async fn changed(
        &mut self,
        conn: &mut AnyConnection,
        changed: &ChannelChanged,
    ) -> Result<(), sqlx::Error> {
        let Some(state) = &changed.state else {
            return Ok(());
        };
        let seconds = state
            .settings
            .as_ref()
            .and_then(|s| s.unanswered_after_seconds)
            .unwrap_or(0);
        let threshold = i64::from(seconds) * 1000;
        sqlx::query(
            "INSERT INTO notif_channels (id, unanswered_after_ms) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET unanswered_after_ms = excluded.unanswered_after_ms",
        )
        .bind(&state.id)
        .bind(threshold)
        .execute(&mut *conn)
        .await?;
        self.thresholds.insert(state.id.clone(), threshold);
        Ok(())
    }

    /// Forgets everything: it may come from a rolled-back write.
    pub fn clear(&mut self) {
        self.thresholds.clear();
    }
}

/// An event about a conversation: what the rules below apply.
#[derive(Clone, Copy)]
pub(super) enum Fact<'a> {
    Received(&'a MessageReceived),
    Requested(&'a MessageRequested),
    Failed(&'a MessageFailed),
    Closed,
    Assigned(&'a ConversationAssigned),
    NoReplyNeeded,
    Started(&'a ConversationStarted),
    Unanswered(&'a UnansweredDetected),
}

impl<'a> Fact<'a> {
    /// The conversation fact `event` carries, if any.
    pub fn of(event: &'a Event) -> Option<Self> {
        Some(match event.payload.as_ref()? {
            Payload::MessageReceived(r) => Self::Received(r),
            Payload::MessageRequested(r) => Self::Requested(r),
            Payload::MessageFailed(f) => Self::Failed(f),
            Payload::ConversationClosed(_) => Self::Closed,
            Payload::ConversationAssigned(a) => Self::Assigned(a),
            Payload::NoReplyNeeded(_) => Self::NoReplyNeeded,
            Payload::ConversationStarted(s) => Self::Started(s),
            Payload::Notification(n) => match &n.change {
                Some(Change::UnansweredDetected(d)) => Self::Unanswered(d),
                _ => return None,
            },
            _ => return None,
        })
    }
}

/// True when `received` is the customer's (not an echo of the business):
/// it starts a wait when none runs.
fn starts_wait(received: &MessageReceived) -> bool {
    received.direction() != Direction::Outbound
        && received.author_kind() != AuthorKind::ExternalDevice
}

/// The event's conversation, created (announcing NEW_CONVERSATION) when
/// this is the first event of its id.
fn load_or_create<'a>(
    slot: &'a mut Option<Conv>,
    out: &mut Emitter,
    assignee: &str,
    message_id: &str,
    text: &str,
) -> &'a mut Conv {
    if slot.is_none() {
        out.push(Kind::NewConversation, assignee, message_id, text);
    }
    slot.get_or_insert_with(|| Conv {
        id: out.conversation_id().to_owned(),
        channel_id: out.channel_id().to_owned(),
        assignee_id: assignee.to_owned(),
        ..Conv::default()
    })
}

/// A customer wrote: NEW_CONVERSATION / CONVERSATION_REOPENED as the case
/// may be, then NEW_MESSAGE, and the wait starts unless one is running
/// (its deadline `threshold_ms` after, the channel's; 0: none).
/// An echo from the business's own device counts as an answer instead.
fn received(
    slot: &mut Option<Conv>,
    out: &mut Emitter,
    received: &MessageReceived,
    threshold_ms: i64,
) {
    let message_id = received.message_id.as_str();
    let conv = load_or_create(slot, out, "", message_id, &received.text);
    if !starts_wait(received) {
        clear_wait(conv);
        return;
    }
    if conv.closed != 0 {
        out.push(
            Kind::ConversationReopened,
            &conv.assignee_id,
            message_id,
            &received.text,
        );
        conv.closed = 0;
    }
    out.push(
        Kind::NewMessage,
        &conv.assignee_id,
        message_id,
        &received.text,
    );
    if conv.waiting_seq == 0 {
        start_wait(conv, out, message_id, threshold_ms);
    }
}

fn start_wait(conv: &mut Conv, out: &Emitter, message_id: &str, threshold_ms: i64) {
    conv.waiting_seq = out.seq();
    conv.waiting_message_id = message_id.to_owned();
    conv.waiting_since_ms = out.at_ms();
    conv.deadline_ms = match threshold_ms {
        0 => 0,
        after => out.at_ms().saturating_add(after),
    };
}

fn clear_wait(conv: &mut Conv) {
    conv.waiting_seq = 0;
    conv.waiting_message_id.clear();
    conv.waiting_since_ms = 0;
    conv.deadline_ms = 0;
}

/// An operator's reply ends the wait; bots and auto-replies do not. True
/// when it counts as handled by the operator.
fn requested(slot: &mut Option<Conv>, out: &mut Emitter, requested: &MessageRequested) -> bool {
    let conv = load_or_create(slot, out, &requested.operator_id, &requested.message_id, "");
    if requested.author_kind() != AuthorKind::Operator {
        return false;
    }
    clear_wait(conv);
    true
}

/// An outbound message could not be delivered: DELIVERY_FAILED.
fn failed(slot: &mut Option<Conv>, out: &mut Emitter, failed: &MessageFailed) {
    let conv = load_or_create(slot, out, "", &failed.message_id, "");
    let assignee = conv.assignee_id.clone();
    out.push(
        Kind::DeliveryFailed,
        &assignee,
        &failed.message_id,
        &failed.reason,
    );
}

/// CONVERSATION_CLOSED; a closed conversation waits for nobody.
fn closed(slot: &mut Option<Conv>, out: &mut Emitter) {
    let conv = load_or_create(slot, out, "", "", "");
    if conv.closed != 0 {
        return;
    }
    conv.closed = 1;
    clear_wait(conv);
    out.push(
        Kind::ConversationClosed,
        &conv.assignee_id,
        "",
        "conversation closed",
    );
}

/// CONVERSATION_ASSIGNED, addressed to the new assignee.
fn assigned(slot: &mut Option<Conv>, out: &mut Emitter, assigned: &ConversationAssigned) {
    let conv = load_or_create(slot, out, &assigned.operator_id, "", "");
    conv.assignee_id.clone_from(&assigned.operator_id);
    let text = match assigned.operator_id.as_str() {
        "" => "conversation unassigned".to_owned(),
        operator => format!("conversation assigned to {operator}"),
    };
    out.push(Kind::ConversationAssigned, &assigned.operator_id, "", &text);
}

/// `MarkNoReplyNeeded`: the wait ends without an answer.
fn no_reply_needed(slot: &mut Option<Conv>, out: &mut Emitter) {
    clear_wait(load_or_create(slot, out, "", "", ""));
}

/// An operator opened a conversation before the customer wrote.
fn started(slot: &mut Option<Conv>, out: &mut Emitter, started: &ConversationStarted) {
    load_or_create(slot, out, &started.operator_id, "", "conversation started");
}

/// The deadline fired: UNANSWERED, unless the wait it was armed for ended
/// meanwhile (answered, or a duplicate of an event already applied).
fn unanswered(slot: &mut Option<Conv>, out: &mut Emitter, detected: &UnansweredDetected) {
    let Some(conv) = slot else {
        return;
    };
    let armed_for = i64::try_from(detected.waiting_since_sequence).unwrap_or(-1);
    if conv.waiting_seq != armed_for || conv.deadline_ms == 0 {
        return;
    }
    conv.deadline_ms = 0;
    let waited_s = (out.at_ms() - detected.waiting_since_ms).max(0) / 1000;
    let text = format!("the customer has waited {waited_s} s for an answer");
    out.push(
        Kind::Unanswered,
        &conv.assignee_id,
        &detected.message_id,
        &text,
    );
}
