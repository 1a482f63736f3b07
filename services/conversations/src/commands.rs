//! The write side: validates requests, stores events, and waits until the
//! projection shows them, so callers read their own writes.

use std::sync::Arc;
use std::time::Duration;

use omnibus_bus::{Bus, Published};
use omnibus_proto::Event;
use tokio::sync::watch;

use crate::contacts::queries::ContactQueries;
use crate::error::{Result, ServiceError};
use crate::queries::{Queries, SendTarget};
use crate::send_targets::SendTargets;

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
    /// Send targets read before, until a channel changes.
    send_targets: Arc<SendTargets>,
    config: Arc<CommandConfig>,
}

impl Commands {
    /// Commands publishing on `bus`, reading through `queries`, waiting on
    /// `applied` (the projection's progress), and keeping send targets in
    /// `send_targets` (which the caller keeps following the channels).
    pub(crate) fn new(
        bus: Bus,
        queries: Queries,
        contacts: ContactQueries,
        applied: watch::Receiver<u64>,
        send_targets: Arc<SendTargets>,
        config: CommandConfig,
    ) -> Self {
        Self {
            bus,
            queries,
            contacts,
            applied,
            send_targets,
            config: Arc::new(config),
        }
    }

    /// Where a conversation's messages go: kept from an earlier read while
    /// no channel changed, else read from the view (see `send_targets`).
    async fn send_target(&self, conversation_id: &str) -> Result<Option<SendTarget>> {
        if let Some(kept) = self.send_targets.get(conversation_id) {
            return Ok(Some(kept));
        }
        let ticket = self
            .send_targets
            .ticket()
            .filter(|ticket| *self.applied.borrow() >= ticket.needs_applied);
        let found = self.queries.send_target(conversation_id).await?;
        if let (Some(target), Some(ticket)) = (&found, ticket) {
            self.send_targets.keep(conversation_id, target, ticket);
        }
        Ok(found)
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
