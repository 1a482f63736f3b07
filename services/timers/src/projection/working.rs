//! The working set of a run: the conversations it touches and their armed
//! timers, read once, changed in memory, written once.
//!
//! Applying events one statement at a time cost 5–7 round trips per
//! message (load, two for the close timer, arm, two for the auto-replies,
//! save). Here a run costs one `SELECT` per 250 conversations to load and
//! one statement to store the net result of a live run (at most three
//! multi-row writes per 250 rows for a larger one), however many events
//! it holds.
//!
//! The rules see exactly what the tables would have told them: `arm` is an
//! `INSERT … ON CONFLICT DO NOTHING` against the rows as they stand after
//! the earlier events of the run, `disarm` and `disarm_kind` a `DELETE` of
//! what stands. That holds because every row of `timer_pending` belongs to
//! the conversation its id names (ids are built from it, see
//! [`timer::event_id`]), so loading a conversation's rows answers every
//! question about its timers.
//!
//! What a committed run left of its conversations is [`Kept`] for the next
//! runs: live traffic comes an event or two a batch, mostly to
//! conversations written a moment before, and reading them again was one
//! of the four hand-offs to the database's thread per batch (see
//! [`omnibus_store::Kept`]). The projection is the only writer of its
//! tables, so what it wrote is what they hold, except where a channel
//! snapshot moves armed closes in SQL: then nothing is kept.

use std::collections::{BTreeMap, HashMap};

use omnibus_store::{Backend, Shot};
use sqlx::AnyConnection;

use crate::sql::{self, ConversationRow, PendingRow};
use crate::timer::{self, Timer, TimerKind};

type Result<T = ()> = std::result::Result<T, sqlx::Error>;

/// A timer row: `None` for a kind this version does not know, which no rule
/// touches but which still occupies its id.
type Slot = Option<Timer>;

/// Conversations as committed runs left them.
pub(crate) type Kept = omnibus_store::Kept<Known>;

/// A conversation's row and timers as its last committed run left them.
#[derive(Debug, Clone)]
pub(crate) struct Known {
    row: Option<ConversationRow>,
    timers: BTreeMap<String, Slot>,
}

/// The kept conversations, by id, each with its row and its timer rows
/// by event id, to compare with [`as_loaded`].
#[cfg(test)]
pub(crate) fn as_kept(
    kept: &Kept,
) -> BTreeMap<String, (Option<ConversationRow>, BTreeMap<String, Slot>)> {
    kept.rows()
        .iter()
        .map(|(id, known)| (id.clone(), (known.row.clone(), known.timers.clone())))
        .collect()
}

/// The kept conversations as the tables hold them.
#[cfg(test)]
pub(crate) async fn as_loaded(
    kept: &Kept,
    conn: &mut AnyConnection,
) -> Result<BTreeMap<String, (Option<ConversationRow>, BTreeMap<String, Slot>)>> {
    let ids: Vec<&str> = kept.rows().keys().map(String::as_str).collect();
    let mut set = WorkingSet::default();
    set.load(conn, &ids).await?;
    Ok(set
        .conversations
        .into_iter()
        .map(|(id, c)| (id, (c.row, c.timers)))
        .collect())
}

/// Conversations of the run by id; cleared by [`WorkingSet::flush`].
#[derive(Debug, Default)]
pub(crate) struct WorkingSet {
    conversations: HashMap<String, Conversation>,
    /// What earlier runs left, taken from as conversations are read.
    kept: Kept,
    /// What the run's flushes left of each conversation, in order.
    ended: Vec<(String, Known)>,
}

/// One conversation as stored before the run and as it stands now.
#[derive(Debug, Default)]
struct Conversation {
    stored: Option<ConversationRow>,
    row: Option<ConversationRow>,
    stored_timers: BTreeMap<String, Slot>,
    /// By event id: `disarm_kind` hands out ids in a stable order.
    timers: BTreeMap<String, Slot>,
}

/// What a flush writes.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct NetChanges {
    pub upserts: Vec<ConversationRow>,
    pub deletes: Vec<String>,
    pub inserts: Vec<Timer>,
}

impl WorkingSet {
    /// A run's working set, reading first from what earlier runs `kept`.
    pub fn new(kept: Kept) -> Self {
        Self {
            kept,
            ..Self::default()
        }
    }

    /// Ends the run: what is still kept from earlier runs, and what this
    /// run's flushes left (to keep once its transaction commits).
    pub fn finish(self) -> (Kept, Vec<(String, Known)>) {
        (self.kept, self.ended)
    }

    /// Forgets what earlier runs and this one left so far: SQL outside the
    /// working set may have changed their rows (flush first).
    pub fn forget_kept(&mut self) {
        self.kept.forget();
        self.ended.clear();
    }

    /// Loads the conversations among `ids` not loaded yet, with their
    /// timers: from what earlier runs kept, else from the tables.
    pub async fn load(&mut self, conn: &mut AnyConnection, ids: &[&str]) -> Result {
        let mut missing: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| !self.conversations.contains_key(*id))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        missing.retain(|id| !self.take_kept(id));
        if missing.is_empty() {
            return Ok(());
        }
        let (rows, pending) = sql::load(conn, &missing).await?;
        self.add_loaded(&missing, rows, pending);
        Ok(())
    }

    /// Moves `id` from what earlier runs kept into the set; false when it
    /// was not kept.
    fn take_kept(&mut self, id: &str) -> bool {
        let Some(known) = self.kept.take(id) else {
            return false;
        };
        let conversation = Conversation {
            stored: known.row.clone(),
            row: known.row,
            stored_timers: known.timers.clone(),
            timers: known.timers,
        };
        self.conversations.insert(id.to_owned(), conversation);
        true
    }

    /// Takes in what [`WorkingSet::load`] read for `ids`.
    fn add_loaded(&mut self, ids: &[&str], rows: Vec<ConversationRow>, pending: Vec<PendingRow>) {
        for id in ids {
            self.conversations
                .insert((*id).to_owned(), Conversation::default());
        }
        for row in rows {
            if let Some(c) = self.conversations.get_mut(&row.id) {
                c.stored = Some(row.clone());
                c.row = Some(row);
            }
        }
        for p in pending {
            if let Some(c) = self.conversations.get_mut(&p.conversation_id) {
                c.stored_timers.insert(p.event_id.clone(), p.timer.clone());
                c.timers.insert(p.event_id, p.timer);
            }
        }
    }

    async fn entry(&mut self, conn: &mut AnyConnection, id: &str) -> Result<&mut Conversation> {
        if !self.conversations.contains_key(id) {
            self.load(conn, &[id]).await?;
        }
        Ok(self.conversations.entry(id.to_owned()).or_default())
    }

    /// The conversation's row, `None` before its first event.
    pub async fn conversation(
        &mut self,
        conn: &mut AnyConnection,
        id: &str,
    ) -> Result<Option<ConversationRow>> {
        Ok(self.entry(conn, id).await?.row.clone())
    }

    /// Inserts or replaces a conversation's row.
    pub async fn save(&mut self, conn: &mut AnyConnection, row: ConversationRow) -> Result {
        let entry = self.entry(conn, &row.id).await?;
        entry.row = Some(row);
        Ok(())
    }

    /// Arms `timer`; false when its id is armed already (which keeps the
    /// armed one, as `ON CONFLICT DO NOTHING` did).
    pub async fn arm(&mut self, conn: &mut AnyConnection, timer: &Timer) -> Result<bool> {
        let c = self.entry(conn, &timer.conversation_id).await?;
        if c.timers.contains_key(&timer.event_id) {
            return Ok(false);
        }
        c.timers.insert(timer.event_id.clone(), Some(timer.clone()));
        Ok(true)
    }

    /// Disarms the timer `event_id`; true when it was armed.
    pub async fn disarm(&mut self, conn: &mut AnyConnection, event_id: &str) -> Result<bool> {
        let Some(conversation) = timer::conversation_of(event_id) else {
            return Ok(false);
        };
        let c = self.entry(conn, conversation).await?;
        Ok(c.timers.remove(event_id).is_some())
    }

    /// Disarms every timer of `kind` in a conversation; returns their ids.
    pub async fn disarm_kind(
        &mut self,
        conn: &mut AnyConnection,
        conversation_id: &str,
        kind: TimerKind,
    ) -> Result<Vec<String>> {
        let c = self.entry(conn, conversation_id).await?;
        let ids: Vec<String> = c
            .timers
            .iter()
            .filter(|(_, slot)| slot.as_ref().is_some_and(|t| t.kind == kind))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &ids {
            c.timers.remove(id);
        }
        Ok(ids)
    }

    /// Writes the net result of the run so far and starts afresh.
    pub async fn flush(&mut self, conn: &mut AnyConnection) -> Result {
        let net = self.take_changes();
        sql::write_changes(conn, &net.upserts, &net.deletes, &net.inserts).await
    }

    /// The net result of the run so far as shots, for the runner to write
    /// with its checkpoint; starts afresh like [`WorkingSet::flush`].
    pub fn take_shots(&mut self, backend: Backend) -> Vec<Shot> {
        let net = self.take_changes();
        sql::changes_as_shots(backend, &net.upserts, &net.deletes, &net.inserts)
    }

    /// The rows that changed, the timer rows to delete (disarmed, or armed
    /// again differently) and those to insert; empties the set.
    pub fn take_changes(&mut self) -> NetChanges {
        let mut net = NetChanges::default();
        let mut conversations: Vec<_> = self.conversations.drain().collect();
        conversations.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (id, c) in conversations {
            let known = Known {
                row: c.row.clone(),
                timers: c.timers.clone(),
            };
            self.ended.push((id, known));
            if let Some(row) = c.row.filter(|row| c.stored.as_ref() != Some(row)) {
                net.upserts.push(row);
            }
            for (id, stored) in &c.stored_timers {
                if c.timers.get(id) != Some(stored) {
                    net.deletes.push(id.clone());
                }
            }
            for (id, slot) in c.timers {
                if c.stored_timers.get(&id) != Some(&slot)
                    && let Some(timer) = slot
                {
                    net.inserts.push(timer);
                }
            }
        }
        net
    }
}

#[cfg(test)]
mod tests {
    use omnibus_proto::ChannelKind;
    use sqlx::Connection as _;

    use super::*;

    fn timer(kind: TimerKind, key: &str, text: &str) -> Timer {
        Timer {
            event_id: timer::event_id(kind, "cv_1", key),
            kind,
            conversation_id: "cv_1".into(),
            channel_id: "ch_1".into(),
            channel_kind: ChannelKind::Telegram,
            provider_chat_id: "1".into(),
            text: text.into(),
            due_ms: 10,
        }
    }

    /// A working set holding `cv_1` with these rows, and a connection its
    /// methods never need (everything they touch is loaded).
    async fn loaded(timers: &[&Timer], unknown: &[&str]) -> (WorkingSet, AnyConnection) {
        sqlx::any::install_default_drivers();
        let conn = AnyConnection::connect("sqlite::memory:").await.unwrap();
        let mut pending: Vec<PendingRow> = timers
            .iter()
            .map(|t| PendingRow {
                event_id: t.event_id.clone(),
                conversation_id: t.conversation_id.clone(),
                timer: Some((*t).clone()),
            })
            .collect();
        pending.extend(unknown.iter().map(|id| PendingRow {
            event_id: (*id).to_owned(),
            conversation_id: "cv_1".into(),
            timer: None,
        }));
        let mut set = WorkingSet::default();
        set.add_loaded(&["cv_1"], Vec::new(), pending);
        (set, conn)
    }

    #[tokio::test]
    async fn arming_what_is_armed_keeps_it_and_unchanged_rows_are_not_written() {
        let close = timer(TimerKind::Close, "1", "");
        let (mut set, mut conn) = loaded(&[&close], &["timer:future:cv_1:1"]).await;
        let moved = Timer {
            due_ms: 99,
            ..close.clone()
        };
        assert!(!set.arm(&mut conn, &moved).await.unwrap());
        assert_eq!(set.take_changes(), NetChanges::default());
    }

    #[tokio::test]
    async fn armed_then_disarmed_in_one_run_writes_nothing() {
        let (mut set, mut conn) = loaded(&[], &[]).await;
        let reply = timer(TimerKind::Reply, "2:0", "Soon");
        assert!(set.arm(&mut conn, &reply).await.unwrap());
        assert!(
            !set.arm(&mut conn, &reply).await.unwrap(),
            "armed earlier in the run"
        );
        let ids = set.disarm_kind(&mut conn, "cv_1", TimerKind::Reply).await;
        assert_eq!(ids.unwrap(), std::slice::from_ref(&reply.event_id));
        assert!(!set.disarm(&mut conn, &reply.event_id).await.unwrap());
        assert_eq!(set.take_changes(), NetChanges::default());
    }

    #[tokio::test]
    async fn a_stored_timer_disarmed_and_armed_again_differently_is_replaced() {
        let old = timer(TimerKind::Closing, "3", "Bye");
        let (mut set, mut conn) = loaded(&[&old], &[]).await;
        assert!(set.disarm(&mut conn, &old.event_id).await.unwrap());
        let new = timer(TimerKind::Closing, "3", "Goodbye");
        assert!(set.arm(&mut conn, &new).await.unwrap());
        let net = set.take_changes();
        assert_eq!(net.deletes, [old.event_id]);
        assert_eq!(net.inserts, [new]);
    }

    #[tokio::test]
    async fn unknown_kinds_stay_unless_disarmed_by_id() {
        let unknown = "timer:future:cv_1:1";
        let (mut set, mut conn) = loaded(&[], &[unknown]).await;
        for kind in [
            TimerKind::Close,
            TimerKind::Closing,
            TimerKind::Reply,
            TimerKind::OffHours,
        ] {
            let ids = set.disarm_kind(&mut conn, "cv_1", kind).await.unwrap();
            assert!(ids.is_empty(), "{kind:?}");
        }
        assert!(set.disarm(&mut conn, unknown).await.unwrap());
        let net = set.take_changes();
        assert_eq!(net.deletes, [unknown]);
        assert!(net.inserts.is_empty());
    }
}
