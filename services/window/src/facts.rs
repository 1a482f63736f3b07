//! What one decision reads from the projection, loaded together.

use omnibus_proto::{AuthorKind, ChannelKind, TemplateRef};
use sqlx::AnyConnection;

use crate::model::{ChannelRow, ConversationRow, TemplateRow};
use crate::policy::{DefaultTemplate, Situation, WindowState};
use crate::sql;

/// A conversation's channel, window and the channel's templates.
#[derive(Debug, Clone)]
pub struct Facts {
    pub channel: Option<ChannelRow>,
    pub conversation: Option<ConversationRow>,
    pub templates: Vec<TemplateRow>,
}

impl Facts {
    /// Loads the facts of `conversation_id` on `channel_id`.
    pub async fn load(
        conn: &mut AnyConnection,
        channel_id: &str,
        conversation_id: &str,
    ) -> Result<Self, sqlx::Error> {
        Ok(Self {
            channel: sql::channel(conn, channel_id).await?,
            conversation: sql::conversation(conn, conversation_id).await?,
            templates: sql::templates(conn, channel_id).await?,
        })
    }

    /// The channel's kind, or `fallback` (the caller's word) before its
    /// first snapshot.
    pub fn kind(&self, fallback: ChannelKind) -> ChannelKind {
        self.channel.as_ref().map_or(fallback, |c| c.kind)
    }

    /// The conversation's window on a channel of `kind`.
    pub fn window(&self, kind: ChannelKind) -> WindowState {
        WindowState::of(kind, self.conversation.as_ref()).with_tag_of(self.channel.as_ref())
    }

    /// The decision's inputs for a message by `author`.
    pub fn situation<'a>(
        &'a self,
        kind: ChannelKind,
        author: AuthorKind,
        template: Option<&'a TemplateRef>,
    ) -> Situation<'a> {
        Situation {
            window: self.window(kind),
            author,
            template,
            templates: &self.templates,
            default_template: DefaultTemplate::of(self.channel.as_ref(), &self.templates),
        }
    }
}
