//! The write side: validates requests, stores events, and waits until the
//! projection shows them, so callers read their own writes.

use std::sync::Arc;
use std::time::Duration;

use omnibus_bus::{Bus, Published};
use omnibus_proto::Event;
use tokio::sync::watch;

use crate::contacts::queries::ContactQueries;
use crate::error::{Result, ServiceError};
use crate::queries::Queries;

mod channels;
mod contacts;
mod conversations;
mod default_template;
mod lineage;
mod routing;
mod start;
mod window;

/// Tuning of the write side.
#[derive(Debug, Clone)]
pub struct CommandConfig {
    /// How long a write waits for the projection to show it.
    pub read_your_writes_timeout: Duration,
    /// How long the ingress may take to check a channel with its provider.
    pub setup_timeout: Duration,
}

impl Default for CommandConfig {
    fn default() -> Self {
        Self {
            read_your_writes_timeout: Duration::from_secs(10),
            setup_timeout: Duration::from_secs(20),
        }
    }
}

/// Handles every command of the service.
#[derive(Clone)]
pub struct Commands {
    bus: Bus,
    queries: Queries,
    contacts: ContactQueries,
    applied: watch::Receiver<u64>,
    config: Arc<CommandConfig>,
}

impl Commands {
    /// Commands publishing on `bus`, reading through `queries`, and waiting
    /// on `applied` (the projection's progress).
    pub fn new(
        bus: Bus,
        queries: Queries,
        contacts: ContactQueries,
        applied: watch::Receiver<u64>,
        config: CommandConfig,
    ) -> Self {
        Self {
            bus,
            queries,
            contacts,
            applied,
            config: Arc::new(config),
        }
    }

    /// Every event stored about a conversation, oldest first; NOT_FOUND for
    /// a conversation the projection does not know.
    pub async fn conversation_events(
        &self,
        conversation_id: &str,
    ) -> Result<Vec<omnibus_proto::ConversationEvent>> {
        if self.queries.conversation(conversation_id).await?.is_none() {
            return Err(ServiceError::not_found("conversation", conversation_id));
        }
        crate::history::read(&self.bus, conversation_id).await
    }

    /// Publishes `event` and waits until the projection applied it.
    async fn publish(&self, subject: String, event: &Event) -> Result<Published> {
        let published = self.bus.publish(subject, event).await?;
        self.wait_applied(published.sequence).await?;
        Ok(published)
    }

    async fn wait_applied(&self, sequence: u64) -> Result<()> {
        let mut applied = self.applied.clone();
        let wait = applied.wait_for(|applied| *applied >= sequence);
        match tokio::time::timeout(self.config.read_your_writes_timeout, wait).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(ServiceError::Unavailable(
                "the change was stored but the conversations view is lagging behind; \
                 read it again in a moment"
                    .into(),
            )),
        }
    }
}

/// A fresh event around `payload`, stamped now.
fn event(
    id: String,
    channel_id: &str,
    conversation_id: &str,
    payload: omnibus_proto::event::Payload,
) -> Event {
    let now = omnibus_core::now_ms();
    Event {
        id,
        occurred_at_ms: now,
        recorded_at_ms: now,
        channel_id: channel_id.to_owned(),
        conversation_id: conversation_id.to_owned(),
        payload: Some(payload),
    }
}
