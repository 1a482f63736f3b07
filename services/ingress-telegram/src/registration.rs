//! Bringing existing channels' webhook registrations up to date: a channel
//! registered with an older [`ALLOWED_UPDATES`] list does not get button
//! presses, reactions or block notices until `setWebhook` names them.
//!
//! Once per channel (and again when its snapshot changes) per process,
//! the ingress reads the registration with `getWebhookInfo` and calls
//! `setWebhook` only when the list lacks a kind, keeping the registered
//! URL and `max_connections`. Repeating this at every start is cheap and
//! harmless: one read per channel, and the write is idempotent (several
//! replicas writing the same registration agree). It touches only
//! registrations that point at this channel's webhook path, so a bot whose
//! webhook goes elsewhere (or that polls) is left alone, and skips those
//! with a custom certificate, which `setWebhook` would drop.

use std::collections::HashMap;
use std::time::Duration;

use omnibus_ingress::{Context, Provider, ProviderError};
use omnibus_proto::{ChannelKind, ChannelState};
use tokio_util::sync::CancellationToken;

use crate::Telegram;
use crate::botapi::{ALLOWED_UPDATES, WebhookInfo, get_webhook_info, set_webhook_with};

/// The first look, once the channel directory has had a moment to load.
const FIRST_SWEEP: Duration = Duration::from_secs(1);
/// Later looks, for channels that appeared or changed since.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// What a look at one channel's registration found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// `setWebhook` was called with the current list.
    Updated,
    /// Already current.
    Current,
    /// Not ours to change (no webhook, another URL, a custom certificate,
    /// or no credentials).
    Skipped,
}

/// Looks at every live channel's registration until `shutdown`.
pub(crate) async fn keep_current(context: &Context, shutdown: CancellationToken) {
    // Channel id → the snapshot time it was checked at.
    let mut checked: HashMap<String, i64> = HashMap::new();
    let mut wait = FIRST_SWEEP;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        wait = SWEEP_EVERY;
        for channel in context.directory.live() {
            if checked.get(&channel.id) == Some(&channel.updated_at_ms) {
                continue;
            }
            let provider = context.provider::<Telegram>(&channel);
            let result = tokio::select! {
                () = shutdown.cancelled() => return,
                result = refresh(&provider, &channel) => result,
            };
            match result {
                Ok(outcome) => {
                    if outcome == Outcome::Updated {
                        tracing::info!(channel_id = %channel.id, "telegram webhook allowed_updates brought up to date");
                    }
                    checked.insert(channel.id.clone(), channel.updated_at_ms);
                }
                // Tried again at the next sweep.
                Err(err) if err.is_transient() => {
                    tracing::debug!(channel_id = %channel.id, error = %err, "telegram webhook check postponed");
                }
                Err(err) => {
                    tracing::warn!(channel_id = %channel.id, error = %err, "telegram webhook check failed");
                    checked.insert(channel.id.clone(), channel.updated_at_ms);
                }
            }
        }
    }
}

/// Brings `channel`'s registration up to date if it needs it.
pub(crate) async fn refresh(
    provider: &Provider,
    channel: &ChannelState,
) -> Result<Outcome, ProviderError> {
    let credential = |key: &str| channel.credentials.get(key).map_or("", |v| v.trim());
    let (token, secret) = (credential("bot_token"), credential("secret_token"));
    if token.is_empty() || secret.is_empty() {
        return Ok(Outcome::Skipped);
    }
    let info = get_webhook_info(provider, token).await?;
    if !points_at(&info.url, &channel.id) || info.has_custom_certificate {
        return Ok(Outcome::Skipped);
    }
    if is_current(&info) {
        return Ok(Outcome::Current);
    }
    set_webhook_with(provider, token, &info.url, secret, info.max_connections).await?;
    Ok(Outcome::Updated)
}

/// The registered URL is this channel's webhook (under whatever public
/// base it was registered with).
fn points_at(url: &str, channel_id: &str) -> bool {
    let path = omnibus_core::kind::webhook_path(ChannelKind::Telegram, channel_id);
    let without_query = url.split(['?', '#']).next().unwrap_or_default();
    !url.is_empty() && without_query.trim_end_matches('/').ends_with(&path)
}

/// Every kind Omnibus asks for is registered.
fn is_current(info: &WebhookInfo) -> bool {
    info.allowed_updates.as_ref().is_some_and(|registered| {
        ALLOWED_UPDATES
            .iter()
            .all(|kind| registered.iter().any(|r| r == kind))
    })
}

#[cfg(test)]
mod tests;
