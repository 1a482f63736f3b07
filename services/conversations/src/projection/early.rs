//! Which conversations hold statuses that came before their send's outcome
//! (`conv_early_statuses`), so that the outcome of every other send, which
//! is nearly all of them, costs no statement looking for any.

use std::collections::HashSet;

use sqlx::AnyConnection;

/// The conversations with rows in `conv_early_statuses`, read once, then
/// kept up to date by the projection (the only writer). A superset: a
/// conversation stays in it after its rows were applied, until the next
/// reload. Forgotten whenever something is rolled back, since what was
/// added may be from it.
#[derive(Debug, Default)]
pub(super) struct EarlyStatuses {
    conversations: Option<HashSet<String>>,
}

impl EarlyStatuses {
    /// Whether `conversation_id` may have early statuses stored.
    pub async fn may_have(
        &mut self,
        conn: &mut AnyConnection,
        conversation_id: &str,
    ) -> Result<bool, sqlx::Error> {
        if self.conversations.is_none() {
            let ids: Vec<String> =
                sqlx::query_scalar("SELECT DISTINCT conversation_id FROM conv_early_statuses")
                    .fetch_all(&mut *conn)
                    .await?;
            self.conversations = Some(ids.into_iter().collect());
        }
        Ok(self
            .conversations
            .as_ref()
            .is_some_and(|ids| ids.contains(conversation_id)))
    }

    /// A status was kept for `conversation_id`.
    pub fn kept(&mut self, conversation_id: &str) {
        if let Some(ids) = &mut self.conversations {
            ids.insert(conversation_id.to_owned());
        }
    }

    /// Reads the table again when next asked.
    pub fn forget(&mut self) {
        self.conversations = None;
    }
}
