//! WhatsApp Cloud API on the messenger kit: what WhatsApp differs in.

use std::collections::HashMap;

use axum::http::HeaderMap;
use omnibus_ingress::{
    Answer, Call, Context, Inbound, MediaCall, MediaDownload, Messenger, ProviderError, Routed,
    Verdict, Webhook, WebhookError,
};
use omnibus_proto::{
    ChannelKind, ChannelSetupReply, ChannelState, MessageRequested, TemplatesFetchReply,
    message_failed::Kind,
};
use serde_json::Value;

use crate::compose::plan;
use crate::normalize::{self, ChannelView, normalize};
use crate::wire::parse_notification;

/// The default Graph API base URL.
pub const DEFAULT_API_BASE: &str = "https://graph.facebook.com";

/// The WhatsApp Cloud API messenger.
#[derive(Debug, Clone, Copy, Default)]
pub struct Whatsapp;

impl Messenger for Whatsapp {
    /// One Cloud API message body.
    type Request = Value;

    const KIND: ChannelKind = ChannelKind::Whatsapp;
    const SECRET_KEYS: &'static [&'static str] = &["access_token", "app_secret", "verify_token"];
    const HANDSHAKE: bool = true;
    const TEMPLATES: bool = true;
    const DEFAULT_API_BASE: &'static str = DEFAULT_API_BASE;

    fn verify(&self, channel: &ChannelState, headers: &HeaderMap, body: Option<&[u8]>) -> Verdict {
        crate::webhook::verify(channel, headers, body)
    }

    fn handshake(
        &self,
        channel: &ChannelState,
        query: &HashMap<String, String>,
    ) -> Result<Answer, WebhookError> {
        crate::webhook::handshake(channel, query)
    }

    fn normalize(
        &self,
        channel: &ChannelState,
        webhook: &Webhook<'_>,
    ) -> Result<Inbound, WebhookError> {
        let notification = parse_notification(webhook.body)
            .map_err(|e| WebhookError::BadRequest(e.to_string()))?;
        let credential = |key: &str| channel.credentials.get(key).map_or("", String::as_str);
        let view = ChannelView {
            id: &channel.id,
            phone_number_id: credential("phone_number_id"),
            business_account_id: credential("business_account_id"),
        };
        let normalized = normalize(&view, &notification);
        let events = normalized
            .events
            .into_iter()
            .map(|routed| match routed {
                normalize::Routed::Conversation(event) => Routed::Conversation(event),
                normalize::Routed::Template(event) => Routed::Template(event),
            })
            .collect();
        Ok(Inbound {
            events,
            skipped: normalized.skipped.into_iter().map(str::to_owned).collect(),
            ..Inbound::default()
        })
    }

    fn plan(
        &self,
        channel: &ChannelState,
        message: &MessageRequested,
    ) -> Result<Vec<Value>, ProviderError> {
        let has = |key: &str| channel.credentials.get(key).is_some_and(|v| !v.is_empty());
        if !has("access_token") || !has("phone_number_id") {
            return Err(ProviderError::Fail {
                kind: Kind::NotSent,
                reason: "the channel was deleted before the message could be sent".into(),
                code: None,
            });
        }
        plan(message).map_err(|e| ProviderError::refused(e.to_string()))
    }

    async fn call(&self, call: &Call<'_>, body: &Value) -> Result<String, ProviderError> {
        let token = call.credential("access_token");
        let phone_number_id = call.credential("phone_number_id");
        crate::graph::send(call.provider, token, phone_number_id, body).await
    }

    fn classify(&self, status: u16, body: &[u8]) -> Result<Value, ProviderError> {
        crate::graph::decode(status, body).map_err(ProviderError::from)
    }

    async fn setup(&self, context: &Context, channel: ChannelState) -> ChannelSetupReply {
        crate::setup::check(context, channel).await
    }

    async fn templates(&self, context: &Context, channel: ChannelState) -> TemplatesFetchReply {
        crate::templates::fetch(context, channel).await
    }

    async fn media(&self, call: &MediaCall<'_>) -> Result<MediaDownload, ProviderError> {
        crate::graph::media_download(call).await
    }
}
