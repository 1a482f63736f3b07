//! Answering a button press with `answerCallbackQuery`, so the spinner on
//! the customer's button stops. The kit calls this only once the press is
//! stored and never for a duplicate delivery, so a redelivered webhook
//! does not answer twice; the call goes through the channel's provider
//! client (egress policy, the token redacted from errors).

use omnibus_ingress::Context;
use omnibus_proto::ChannelState;

use crate::Telegram;
use crate::botapi::answer_callback_query;
use crate::wire::parse_update;

/// Answers the webhook's `callback_query`, if it has one.
pub(crate) async fn answer(context: &Context, channel: &ChannelState, body: &[u8]) {
    let Some(query) = parse_update(body).ok().and_then(|u| u.callback_query) else {
        return;
    };
    if query.id.is_empty() {
        return;
    }
    let token = channel
        .credentials
        .get("bot_token")
        .map_or("", |t| t.trim());
    let provider = context.provider::<Telegram>(channel);
    if let Err(err) = answer_callback_query(&provider, token, &query.id).await {
        // Telegram stops the spinner by itself after a while; nothing to retry.
        tracing::warn!(channel_id = %channel.id, error = %err, "answerCallbackQuery failed");
    }
}
