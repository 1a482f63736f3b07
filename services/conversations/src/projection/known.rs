//! Rare rows every send's outcome would otherwise look for: statuses that
//! came before their send's outcome (`conv_early_statuses`) and echoes of
//! the business phone stored before it (WhatsApp, Instagram). A [`Known`]
//! set says which conversations or channels may hold any, so the outcome
//! of every other send, nearly all of them, costs no statement.

use std::collections::HashSet;

use omnibus_proto::{AuthorKind, Direction};
use sqlx::AnyConnection;

/// The conversations with rows in `conv_early_statuses`.
const EARLY_STATUSES: &str = "SELECT DISTINCT conversation_id FROM conv_early_statuses";

/// The channels with stored echoes that an outcome may replace (outbound,
/// from the business phone, with the provider's id).
const ECHOES: &str = "SELECT DISTINCT c.channel_id FROM conv_messages m
     JOIN conv_conversations c ON c.id = m.conversation_id
     WHERE m.direction = 2 AND m.author_kind = 5 AND m.provider_message_id <> ''";
const _: () = assert!(Direction::Outbound as i32 == 2);
const _: () = assert!(AuthorKind::ExternalDevice as i32 == 5);

/// Both sets a send's outcome consults.
#[derive(Debug)]
pub(super) struct Lookups {
    /// Conversations that hold statuses waiting for their send's outcome.
    pub early: Known,
    /// Channels that hold echoes a send's outcome may replace.
    pub echoes: Known,
}

impl Default for Lookups {
    fn default() -> Self {
        Self {
            early: Known::new(EARLY_STATUSES),
            echoes: Known::new(ECHOES),
        }
    }
}

impl Lookups {
    /// Reads both again when next asked.
    pub fn forget(&mut self) {
        self.early.forget();
        self.echoes.forget();
    }
}

/// The ids `query` finds, read once, then kept up to date by the
/// projection (the only writer). A superset: an id stays after its rows
/// went, until the next read. Forgotten whenever something is rolled back,
/// since what was added may be from it.
#[derive(Debug)]
pub(super) struct Known {
    query: &'static str,
    ids: Option<HashSet<String>>,
}

impl Known {
    pub fn new(query: &'static str) -> Self {
        Self { query, ids: None }
    }

    /// Whether `id` may have rows.
    pub async fn may_have(
        &mut self,
        conn: &mut AnyConnection,
        id: &str,
    ) -> Result<bool, sqlx::Error> {
        if self.ids.is_none() {
            let ids: Vec<String> = sqlx::query_scalar(self.query).fetch_all(&mut *conn).await?;
            self.ids = Some(ids.into_iter().collect());
        }
        Ok(self.ids.as_ref().is_some_and(|ids| ids.contains(id)))
    }

    /// Whether `id` is known to have no rows: false until the ids are read.
    pub fn lacks(&self, id: &str) -> bool {
        self.ids.as_ref().is_some_and(|ids| !ids.contains(id))
    }

    /// `id` may have rows from now on.
    pub fn add(&mut self, id: &str) {
        if let Some(ids) = &mut self.ids {
            ids.insert(id.to_owned());
        }
    }

    /// Reads the table again when next asked.
    pub fn forget(&mut self) {
        self.ids = None;
    }
}
