//! Telegram on the messenger kit: what Telegram differs in.

use axum::http::HeaderMap;
use omnibus_ingress::{
    Call, Context, Inbound, MediaCall, MediaDownload, Messenger, ProviderError, Verdict, Webhook,
    WebhookError,
};
use omnibus_proto::{ChannelKind, ChannelSetupReply, ChannelState, Event, MessageRequested};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::compose::{OutboundMessage, Request, plan};
use crate::normalize::{Normalized, normalize};
use crate::wire::parse_update;

/// The Telegram Bot API messenger.
#[derive(Debug, Clone, Copy, Default)]
pub struct Telegram;

impl Messenger for Telegram {
    type Request = Request;

    const KIND: ChannelKind = ChannelKind::Telegram;
    const SECRET_KEYS: &'static [&'static str] = &["bot_token", "secret_token"];
    const DEFAULT_API_BASE: &'static str = "https://api.telegram.org";

    fn verify(&self, channel: &ChannelState, headers: &HeaderMap, _body: Option<&[u8]>) -> Verdict {
        crate::webhook::verify(channel, headers)
    }

    fn normalize(
        &self,
        _channel: &ChannelState,
        webhook: &Webhook<'_>,
    ) -> Result<Inbound, WebhookError> {
        let update =
            parse_update(webhook.body).map_err(|e| WebhookError::BadRequest(e.to_string()))?;
        Ok(match normalize(webhook.channel_id, &update) {
            Normalized::Ignored(why) => {
                Inbound::ignored(format!("update {}: {why}", update.update_id))
            }
            // A button press is answered once stored (`after_stored`).
            Normalized::Event(event) => {
                Inbound::event(event).follow_up(update.callback_query.is_some())
            }
        })
    }

    fn plan(
        &self,
        _channel: &ChannelState,
        message: &MessageRequested,
    ) -> Result<Vec<Request>, ProviderError> {
        plan(&OutboundMessage::from(message)).map_err(ProviderError::from)
    }

    async fn call(&self, call: &Call<'_>, request: &Request) -> Result<String, ProviderError> {
        let token = call.credential("bot_token");
        let sent: crate::botapi::SentMessage =
            crate::botapi::call(call.provider, token, request.method, &request.body).await?;
        Ok(sent.message_id.to_string())
    }

    fn classify(&self, status: u16, body: &[u8]) -> Result<Value, ProviderError> {
        crate::errors::classify_answer(status, body)
    }

    async fn setup(&self, context: &Context, channel: ChannelState) -> ChannelSetupReply {
        crate::setup::check(context, channel).await
    }

    async fn after_stored(
        &self,
        context: &Context,
        channel: &ChannelState,
        body: &[u8],
        _events: Vec<Event>,
    ) {
        crate::callback::answer(context, channel, body).await;
    }

    async fn maintain(&self, context: &Context, shutdown: CancellationToken) {
        crate::registration::keep_current(context, shutdown).await;
    }

    async fn media(&self, call: &MediaCall<'_>) -> Result<MediaDownload, ProviderError> {
        crate::botapi::file_download(call).await
    }
}
