//! Channels, customers' messages and templates: the facts decisions read.

use omnibus_proto::{
    AuthorKind, ChannelChanged, ChannelStatus, Direction, Event, MessageReceived, TemplateChanged,
    template_changed::Change,
};

use super::Step;
use crate::model::{ChannelRow, ConversationRow, TemplateRow};
use crate::sql;

type Result<T = ()> = std::result::Result<T, sqlx::Error>;

pub(super) async fn changed(step: &mut Step<'_>, changed: &ChannelChanged) -> Result {
    let Some(state) = &changed.state else {
        return Ok(());
    };
    let channel = ChannelRow {
        id: state.id.clone(),
        kind: state.kind(),
        deleted: state.status == ChannelStatus::Deleted as i32,
        default_template: state
            .settings
            .as_ref()
            .map(|s| s.default_template.trim().to_owned())
            .unwrap_or_default(),
        human_agent_tag: state.settings.as_ref().is_some_and(|s| s.human_agent_tag),
    };
    sql::save_channel(step.conn, &channel).await?;
    step.channels.saved(&channel);
    // A new default template may let pending requests be held instead of failed.
    step.touched = true;
    Ok(())
}

/// A customer's message opens the window, from the provider's timestamp:
/// a webhook delivered late must not extend the window past what the
/// provider allows.
pub(super) async fn received(
    step: &mut Step<'_>,
    event: &Event,
    received: &MessageReceived,
) -> Result {
    let mut conversation = load(step, event).await?;
    let inbound = received.direction() != Direction::Outbound;
    let customer = matches!(
        received.author_kind(),
        AuthorKind::Contact | AuthorKind::Unspecified
    );
    let windowed = step.channels.windowed(step.conn, &event.channel_id).await?;
    let at = if event.occurred_at_ms > 0 {
        event.occurred_at_ms
    } else {
        event.recorded_at_ms
    };
    if inbound && customer && windowed && at > conversation.last_customer_ms {
        conversation.last_customer_ms = at;
        conversation.provider_closed = false;
        conversation.reopen_sent = false;
        step.touched = true;
    }
    step.conversations.save(conversation);
    Ok(())
}

/// Any conversation event: remember the conversation, so GetWindow tells
/// an unknown id from one whose customer never wrote.
pub(super) async fn seen(step: &mut Step<'_>, event: &Event) -> Result {
    if event.conversation_id.is_empty() {
        return Ok(());
    }
    let conversation = load(step, event).await?;
    step.conversations.save(conversation);
    Ok(())
}

/// The event's conversation as the run left it, or a new one.
pub(super) async fn load(step: &mut Step<'_>, event: &Event) -> Result<ConversationRow> {
    let (id, channel_id) = (&event.conversation_id, &event.channel_id);
    step.conversations.load(step.conn, id, channel_id).await
}

pub(super) async fn template(
    step: &mut Step<'_>,
    event: &Event,
    changed: &TemplateChanged,
) -> Result {
    let Some(state) = &changed.template else {
        return Ok(());
    };
    let channel_id = event.channel_id.as_str();
    let row = TemplateRow::from_state(channel_id, state, event.recorded_at_ms);
    match changed.change() {
        Change::Upserted => sql::save_template(step.conn, &row).await?,
        Change::Deleted => {
            sql::delete_template(step.conn, channel_id, &row.name, &row.language).await?;
        }
        Change::Status => status(step, row).await?,
        Change::Unspecified => return Ok(()),
    }
    // An approved default template may let waiting requests be held.
    step.touched = true;
    Ok(())
}

/// The provider's status webhook: only the status of a known template.
async fn status(step: &mut Step<'_>, update: TemplateRow) -> Result {
    let templates = sql::templates(step.conn, &update.channel_id).await?;
    let Some(known) = templates
        .into_iter()
        .find(|t| t.name == update.name && t.language == update.language)
    else {
        tracing::debug!(name = %update.name, "status of an unknown template; sync to see it");
        return Ok(());
    };
    let provider_template_id = if update.provider_template_id.is_empty() {
        known.provider_template_id.clone()
    } else {
        update.provider_template_id
    };
    let row = TemplateRow {
        status: update.status,
        status_reason: update.status_reason,
        provider_template_id,
        updated_at_ms: update.updated_at_ms,
        ..known
    };
    sql::save_template(step.conn, &row).await
}
