//! The read side: templates and windows, straight from the projection.

use std::sync::Arc;
use std::time::Duration;

use omnibus_bus::Bus;
use omnibus_core::{Clock, clock::timestamp};
use omnibus_proto::{TemplateStatus, Window};
use omnibus_store::Store;
use tokio::sync::watch;

use crate::error::{Result, WindowError};
use crate::model::{ChannelRow, TemplateRow};
use crate::policy::WindowState;
use crate::sql;

/// Reads; cheap to clone.
#[derive(Clone)]
pub struct Queries {
    store: Store,
    clock: Arc<dyn Clock>,
    catch_up: CatchUp,
}

/// Lets a read of something just created elsewhere (a channel, a
/// conversation) wait for this projection to reach it: the other service
/// answered its caller once its own projection had it, not this one.
#[derive(Clone)]
pub struct CatchUp {
    pub bus: Bus,
    pub applied: watch::Receiver<u64>,
    pub timeout: Duration,
}

impl CatchUp {
    /// Waits (bounded) until the projection applied the stream as it is now.
    async fn wait(&self) {
        let Ok(end) = self.bus.stream_end().await else {
            return;
        };
        let mut applied = self.applied.clone();
        let _ = tokio::time::timeout(self.timeout, applied.wait_for(|a| *a >= end)).await;
    }
}

impl Queries {
    /// Queries over `store`, with `clock` deciding whether windows are open.
    pub fn new(store: Store, clock: Arc<dyn Clock>, catch_up: CatchUp) -> Self {
        Self {
            store,
            clock,
            catch_up,
        }
    }

    /// A channel that exists (not deleted).
    pub async fn channel(&self, id: &str) -> Result<ChannelRow> {
        if id.trim().is_empty() {
            return Err(WindowError::invalid(
                "channel_id is empty; give a channel id",
            ));
        }
        if let Some(channel) = self.find_channel(id).await? {
            return Ok(channel);
        }
        self.catch_up.wait().await;
        self.find_channel(id)
            .await?
            .ok_or_else(|| WindowError::not_found("channel", id))
    }

    async fn find_channel(&self, id: &str) -> Result<Option<ChannelRow>> {
        let mut conn = self.store.pool().acquire().await?;
        Ok(sql::channel(&mut conn, id).await?.filter(|c| !c.deleted))
    }

    /// The channel's templates, only those in `status` unless UNSPECIFIED.
    pub async fn templates(
        &self,
        channel_id: &str,
        status: TemplateStatus,
    ) -> Result<Vec<TemplateRow>> {
        let mut conn = self.store.pool().acquire().await?;
        let all = sql::templates(&mut conn, channel_id).await?;
        Ok(all
            .into_iter()
            .filter(|t| status == TemplateStatus::Unspecified || t.status == status)
            .collect())
    }

    /// One template, `None` when unknown.
    pub async fn template(
        &self,
        channel_id: &str,
        name: &str,
        language: &str,
    ) -> Result<Option<TemplateRow>> {
        let all = self
            .templates(channel_id, TemplateStatus::Unspecified)
            .await?;
        Ok(all
            .into_iter()
            .find(|t| t.name == name && t.language == language))
    }

    /// The window of a conversation now.
    pub async fn window(&self, conversation_id: &str) -> Result<Window> {
        if conversation_id.trim().is_empty() {
            return Err(WindowError::invalid(
                "conversation_id is empty; give a conversation id",
            ));
        }
        let mut conn = self.store.pool().acquire().await?;
        let mut conversation = sql::conversation(&mut conn, conversation_id).await?;
        if conversation.is_none() {
            self.catch_up.wait().await;
            conversation = sql::conversation(&mut conn, conversation_id).await?;
        }
        let conversation =
            conversation.ok_or_else(|| WindowError::not_found("conversation", conversation_id))?;
        let channel = sql::channel(&mut conn, &conversation.channel_id).await?;
        let kind = channel.as_ref().map(|c| c.kind).unwrap_or_default();
        let held = sql::held_in(&mut conn, conversation_id).await?;
        let state = WindowState::of(kind, Some(&conversation)).with_tag_of(channel.as_ref());
        let now = self.clock.now_ms();
        let human_agent = state.human_agent_open(now);
        // With the tag, operators may write until the tag's end: that is
        // when the window closes for them.
        let expires = state
            .human_agent_expires_at_ms()
            .or_else(|| state.expires_at_ms());
        Ok(Window {
            open: state.is_open(now) || human_agent,
            expires_at: expires.and_then(timestamp),
            windowed: state.windowed(),
            last_customer_message_at: timestamp(conversation.last_customer_ms),
            held_messages: u32::try_from(held).unwrap_or(u32::MAX),
            human_agent,
            standard_expires_at: state.expires_at_ms().and_then(timestamp),
        })
    }
}
