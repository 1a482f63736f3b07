//! Viber on the messenger kit: what Viber differs in.

use axum::http::HeaderMap;
use omnibus_ingress::{
    Answer, Call, Context, Inbound, Messenger, ProviderError, Verdict, Webhook, WebhookError,
};
use omnibus_proto::{ChannelKind, ChannelSetupReply, ChannelState, MessageRequested};
use serde_json::Value;

use crate::errors;
use crate::normalize::{ChannelView, normalize};
use crate::signature::{self, SIGNATURE_HEADER};
use crate::wire::parse_callback;

/// The credential holding the bot's name, taken from `get_account_info`
/// when the channel is created; every message is sent under it.
pub const SENDER_NAME: &str = "sender_name";
/// The credential holding the bot's avatar URL (optional).
pub const SENDER_AVATAR: &str = "sender_avatar";

/// The Viber REST bot API messenger.
#[derive(Debug, Clone, Copy, Default)]
pub struct Viber;

impl Messenger for Viber {
    type Request = Value;

    const KIND: ChannelKind = ChannelKind::Viber;
    const SECRET_KEYS: &'static [&'static str] = &["auth_token"];
    const DEFAULT_API_BASE: &'static str = "https://chatapi.viber.com";

    fn verify(&self, channel: &ChannelState, headers: &HeaderMap, body: Option<&[u8]>) -> Verdict {
        let Some(body) = body else {
            return Verdict::NeedsBody;
        };
        let Some(given) = headers.get(SIGNATURE_HEADER) else {
            return Verdict::Invalid(WebhookError::Unauthenticated(
                "missing X-Viber-Content-Signature header",
            ));
        };
        let token = credential(channel, "auth_token");
        if signature::is_valid(token, body, given.as_bytes()) {
            Verdict::Valid
        } else {
            Verdict::Invalid(WebhookError::Unauthenticated(
                "X-Viber-Content-Signature does not match the body signed with the channel's \
                 auth_token",
            ))
        }
    }

    fn normalize(
        &self,
        channel: &ChannelState,
        webhook: &Webhook<'_>,
    ) -> Result<Inbound, WebhookError> {
        let callback =
            parse_callback(webhook.body).map_err(|e| WebhookError::BadRequest(e.to_string()))?;
        let view = view(channel);
        let normalized = normalize(&view, &callback);
        Ok(
            Inbound::conversations(normalized.events, &normalized.skipped)
                .answer(normalized.answer.map_or(Answer::Empty, Answer::Json)),
        )
    }

    fn plan(
        &self,
        channel: &ChannelState,
        message: &MessageRequested,
    ) -> Result<Vec<Value>, ProviderError> {
        let view = view(channel);
        crate::plan::plan(message, view.bot_name, view.bot_avatar)
            .map_err(|e| ProviderError::refused(e.to_string()))
    }

    async fn call(&self, call: &Call<'_>, request: &Value) -> Result<String, ProviderError> {
        let url = format!("{}/pa/send_message", call.provider.base_url());
        let request = call
            .provider
            .http()
            .post(url)
            .header("X-Viber-Auth-Token", call.credential("auth_token"))
            .json(request);
        let answer = call.provider.send(&Viber, request).await?;
        match answer.get("message_token").and_then(Value::as_u64) {
            Some(token) if token > 0 => Ok(token.to_string()),
            _ => Err(ProviderError::transient(
                "viber accepted the message without a message_token",
            )),
        }
    }

    fn classify(&self, status: u16, body: &[u8]) -> Result<Value, ProviderError> {
        errors::classify(status, body).map(|_| serde_json::from_slice(body).unwrap_or(Value::Null))
    }

    async fn setup(&self, context: &Context, channel: ChannelState) -> ChannelSetupReply {
        crate::setup::check(context, channel).await
    }
}

fn credential<'a>(channel: &'a ChannelState, key: &str) -> &'a str {
    channel.credentials.get(key).map_or("", |v| v.trim())
}

fn view(channel: &ChannelState) -> ChannelView<'_> {
    let sender = credential(channel, SENDER_NAME);
    ChannelView {
        id: &channel.id,
        bot_name: if sender.is_empty() {
            channel.name.as_str()
        } else {
            sender
        },
        bot_avatar: credential(channel, SENDER_AVATAR),
        welcome_message: channel
            .settings
            .as_ref()
            .map_or("", |s| s.welcome_message.as_str()),
    }
}
