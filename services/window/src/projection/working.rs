//! What a run works on in memory, so a replay does not pay three
//! statements for every customer message.
//!
//! - [`Channels`]: whether a channel is windowed, kept across runs. Only
//!   this projection writes `window_channels`, and it updates the cache with
//!   every row it writes, so the cache is what the tables hold; it is
//!   dropped whenever something is rolled back.
//! - [`Conversations`]: the run's conversations, read with one `IN (…)`
//!   statement at its start, changed in memory by every event of the run,
//!   and the changed rows written with one multi-row upsert at its end.
//!   Every read and write of `window_conversations` inside the projection
//!   goes through it, and nothing outside the projection's transaction can
//!   see the rows before the run commits, so no write has to happen earlier.

use std::collections::{HashMap, HashSet};

use sqlx::AnyConnection;

use crate::model::{ChannelRow, ConversationRow};
use crate::sql;

type Result<T = ()> = std::result::Result<T, sqlx::Error>;

/// Whether each channel looked at has a window, as `window_channels` holds it.
#[derive(Debug, Default)]
pub(crate) struct Channels {
    /// Channel id → windowed; false for a channel without a snapshot yet.
    windowed: HashMap<String, bool>,
}

impl Channels {
    /// Whether channel `id` has a window (false before its first snapshot).
    pub(crate) async fn windowed(&mut self, conn: &mut AnyConnection, id: &str) -> Result<bool> {
        if let Some(&windowed) = self.windowed.get(id) {
            return Ok(windowed);
        }
        let windowed = sql::channel(conn, id)
            .await?
            .is_some_and(|c| omnibus_core::kind::window(c.kind).is_some());
        self.windowed.insert(id.to_owned(), windowed);
        Ok(windowed)
    }

    /// `channel` was just written: the cache follows the table.
    pub(crate) fn saved(&mut self, channel: &ChannelRow) {
        let windowed = omnibus_core::kind::window(channel.kind).is_some();
        self.windowed.insert(channel.id.clone(), windowed);
    }

    /// Forgets everything: the tables may no longer hold what was cached.
    pub(crate) fn clear(&mut self) {
        self.windowed.clear();
    }
}

/// One conversation of a run: as stored, and as the run left it so far.
#[derive(Debug)]
struct Entry {
    stored: Option<ConversationRow>,
    current: Option<ConversationRow>,
}

/// The conversations of one run (see the module's documentation).
#[derive(Debug, Default)]
pub(crate) struct Conversations {
    entries: HashMap<String, Entry>,
}

impl Conversations {
    /// Reads the stored rows of `ids` not read yet, in one statement (per
    /// 500 ids); ids without a row are remembered as new.
    pub(crate) async fn prefetch<'i>(
        &mut self,
        conn: &mut AnyConnection,
        ids: impl IntoIterator<Item = &'i str>,
    ) -> Result {
        let missing: HashSet<&str> = ids
            .into_iter()
            .filter(|id| !self.entries.contains_key(*id))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let missing: Vec<&str> = missing.into_iter().collect();
        for row in sql::conversations(conn, &missing).await? {
            self.remember(row.id.clone(), Some(row));
        }
        for id in missing {
            if !self.entries.contains_key(id) {
                self.remember(id.to_owned(), None);
            }
        }
        Ok(())
    }

    /// Conversation `id` as the run left it, or a new one of `channel_id`;
    /// read from the table when the run had not read it yet.
    pub(crate) async fn load(
        &mut self,
        conn: &mut AnyConnection,
        id: &str,
        channel_id: &str,
    ) -> Result<ConversationRow> {
        if !self.entries.contains_key(id) {
            let stored = sql::conversation(conn, id).await?;
            self.remember(id.to_owned(), stored);
        }
        let current = self.entries.get(id).and_then(|e| e.current.clone());
        Ok(current.unwrap_or_else(|| ConversationRow {
            id: id.to_owned(),
            channel_id: channel_id.to_owned(),
            ..Default::default()
        }))
    }

    /// Records `row` as the conversation's state; written by [`Self::flush`].
    pub(crate) fn save(&mut self, row: ConversationRow) {
        match self.entries.get_mut(&row.id) {
            Some(entry) => entry.current = Some(row),
            None => {
                let id = row.id.clone();
                self.entries.insert(
                    id,
                    Entry {
                        stored: None,
                        current: Some(row),
                    },
                );
            }
        }
    }

    /// Writes the rows the run changed (in id order), in one statement per
    /// 500 rows; an unchanged row is not written, as rewriting it would
    /// change nothing.
    pub(crate) async fn flush(&mut self, conn: &mut AnyConnection) -> Result {
        let mut changed: Vec<&ConversationRow> = self
            .entries
            .values()
            .filter(|e| e.current != e.stored)
            .filter_map(|e| e.current.as_ref())
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        changed.sort_by(|a, b| a.id.cmp(&b.id));
        sql::save_conversations(conn, &changed).await?;
        for entry in self.entries.values_mut() {
            entry.stored.clone_from(&entry.current);
        }
        Ok(())
    }

    fn remember(&mut self, id: String, stored: Option<ConversationRow>) {
        let current = stored.clone();
        self.entries.insert(id, Entry { stored, current });
    }
}
