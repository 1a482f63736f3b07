//! Which Wazzup message each of our sends became, kept where every replica
//! and a restarted process find it: Wazzup's `statuses[]` name only its own
//! `messageId`, so without this a status arriving after a restart (or at
//! another replica) could not find its message.
//!
//! A JetStream key-value bucket (`<STREAM>_wazzup_sends`), one entry per
//! Wazzup message id, kept [`KEPT_FOR`]: written when a send returns an id
//! and when our own echo (carrying our `crmMessageId`) tells it; read by a
//! webhook for the statuses the process does not remember. The process's
//! memory stays the fast path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use omnibus_bus::{Bus, bucket};
use omnibus_proto::{Event, event::Payload};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use crate::normalize::{Sends, SentRef};

/// How long a send is remembered: statuses come within days.
pub const KEPT_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
/// How many sends one process keeps in memory.
const REMEMBERED: usize = 100_000;
/// The most statuses of one webhook looked up in the bucket.
const LOOKUPS_PER_WEBHOOK: usize = 200;

/// The stored form of a [`SentRef`].
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    channel_id: String,
    conversation_id: String,
    message_id: String,
}

/// Our sends by Wazzup message id: in memory, and in the bucket when the
/// log has a bus.
#[derive(Debug, Clone, Default)]
pub struct SendLog {
    memory: Arc<Mutex<HashMap<String, SentRef>>>,
    durable: Option<Durable>,
}

#[derive(Clone)]
struct Durable {
    bus: Bus,
    store: Arc<OnceCell<bucket::Store>>,
}

impl std::fmt::Debug for Durable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Durable").finish_non_exhaustive()
    }
}

impl Sends for SendLog {
    fn find(&self, wazzup_message_id: &str) -> Option<SentRef> {
        let memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        memory.get(wazzup_message_id).cloned()
    }
}

impl SendLog {
    /// A log kept in the stream's bucket as well as in memory.
    pub fn durable(bus: Bus) -> Self {
        Self {
            memory: Arc::default(),
            durable: Some(Durable {
                bus,
                store: Arc::new(OnceCell::new()),
            }),
        }
    }

    fn keep(&self, wazzup_message_id: &str, sent: &SentRef) {
        let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        if memory.len() >= REMEMBERED {
            memory.clear();
        }
        memory.insert(wazzup_message_id.to_owned(), sent.clone());
    }

    /// Records that our message `sent` is Wazzup's `wazzup_message_id`.
    /// A bucket that cannot be written is logged: the memory still has it.
    pub async fn record(&self, wazzup_message_id: &str, sent: &SentRef) {
        if wazzup_message_id.is_empty() {
            return;
        }
        self.keep(wazzup_message_id, sent);
        let Some(store) = self.store().await else {
            return;
        };
        if !bucket::is_valid_key(wazzup_message_id) {
            tracing::debug!("a Wazzup message id the bucket cannot key; kept in memory only");
            return;
        }
        let stored = Stored {
            channel_id: sent.channel_id.clone(),
            conversation_id: sent.conversation_id.clone(),
            message_id: sent.message_id.clone(),
        };
        let Ok(value) = serde_json::to_vec(&stored) else {
            return;
        };
        if let Err(err) = store.put(wazzup_message_id, value.into()).await {
            tracing::warn!(error = %err, message_id = %sent.message_id,
                "cannot store which Wazzup message a send became");
        }
    }

    /// Brings the sends of `wazzup_message_ids` this process does not
    /// remember into memory from the bucket.
    pub async fn load(&self, wazzup_message_ids: &[&str]) {
        let missing: Vec<&str> = wazzup_message_ids
            .iter()
            .copied()
            .filter(|id| bucket::is_valid_key(id) && self.find(id).is_none())
            .take(LOOKUPS_PER_WEBHOOK)
            .collect();
        if missing.is_empty() {
            return;
        }
        let Some(store) = self.store().await else {
            return;
        };
        for id in missing {
            match store.get(id).await {
                Ok(Some(value)) => match serde_json::from_slice::<Stored>(&value) {
                    Ok(stored) => self.keep(
                        id,
                        &SentRef {
                            channel_id: stored.channel_id,
                            conversation_id: stored.conversation_id,
                            message_id: stored.message_id,
                        },
                    ),
                    Err(_) => tracing::warn!("an unreadable entry in the Wazzup send log"),
                },
                Ok(None) => {}
                Err(err) => tracing::warn!(error = %err, "cannot read the Wazzup send log"),
            }
        }
    }

    /// Records the sends our own echoes among `events` reveal (a retried
    /// send that Wazzup refused as a repeat returned no id; its echo has).
    pub async fn learn_from(&self, events: &[Event]) {
        for event in events {
            let Some(Payload::DeliveryStatusChanged(status)) = &event.payload else {
                continue;
            };
            if status.message_id.is_empty() || status.provider_message_id.is_empty() {
                continue;
            }
            if self.find(&status.provider_message_id).is_some() {
                continue;
            }
            let sent = SentRef {
                channel_id: event.channel_id.clone(),
                conversation_id: event.conversation_id.clone(),
                message_id: status.message_id.clone(),
            };
            self.record(&status.provider_message_id, &sent).await;
        }
    }

    /// The bucket, opened on first use; `None` for a memory-only log or
    /// while NATS cannot open it (tried again next time).
    async fn store(&self) -> Option<&bucket::Store> {
        let durable = self.durable.as_ref()?;
        let opened = durable
            .store
            .get_or_try_init(|| {
                bucket::open(
                    &durable.bus,
                    "wazzup_sends",
                    "the Wazzup message each send became (omnibus-ingress-wazzup)",
                    KEPT_FOR,
                )
            })
            .await;
        match opened {
            Ok(store) => Some(store),
            Err(err) => {
                tracing::warn!(error = %err, "cannot open the Wazzup send log");
                None
            }
        }
    }
}
