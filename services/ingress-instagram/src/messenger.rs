//! Instagram on the messenger kit: what Instagram differs in.

use std::collections::HashMap;

use axum::http::HeaderMap;
use omnibus_ingress::{
    Answer, Call, Context, Inbound, Messenger, ProviderError, Verdict, Webhook, WebhookError,
};
use omnibus_proto::{
    AuthorKind, ChannelKind, ChannelSetupReply, ChannelState, Event, MessageRequested,
    channel_setup_reply::Outcome, message_failed::Kind,
};
use serde_json::Value;

use crate::compose::{self, Call as GraphCall};
use crate::errors::{SendError, classify};
use crate::normalize::{ChannelView, media_ids, normalize};
use crate::permalink::{self, PermalinkCache};
use crate::wire::parse_notification;
use crate::{DEFAULT_API_BASE, GRAPH_VERSION};

/// The Instagram messenger (Meta's Graph API), with the links of the
/// commented posts it has looked up.
#[derive(Debug, Clone, Default)]
pub struct Instagram {
    pub(crate) permalinks: PermalinkCache,
}

impl Messenger for Instagram {
    /// One Graph call: a path after the version, and its body.
    type Request = GraphCall;

    const KIND: ChannelKind = ChannelKind::Instagram;
    const SECRET_KEYS: &'static [&'static str] = &["access_token", "app_secret", "verify_token"];
    const HANDSHAKE: bool = true;
    /// Instagram's attachment links (lookaside CDN) expire within days.
    const COPY_AT_RECEIPT: bool = true;
    const DEFAULT_API_BASE: &'static str = DEFAULT_API_BASE;

    fn verify(&self, channel: &ChannelState, headers: &HeaderMap, body: Option<&[u8]>) -> Verdict {
        crate::verify::verify(channel, headers, body)
    }

    fn handshake(
        &self,
        channel: &ChannelState,
        query: &HashMap<String, String>,
    ) -> Result<Answer, WebhookError> {
        crate::verify::handshake(channel, query)
    }

    fn normalize(
        &self,
        channel: &ChannelState,
        webhook: &Webhook<'_>,
    ) -> Result<Inbound, WebhookError> {
        let notification = parse_notification(webhook.body)
            .map_err(|e| WebhookError::BadRequest(e.to_string()))?;
        let view = ChannelView {
            id: &channel.id,
            account_id: channel
                .credentials
                .get("account_id")
                .map_or("", String::as_str),
        };
        // Known post links go in at once; the others follow (`after_stored`).
        let known = self.permalinks.known(&media_ids(&notification));
        let normalized = normalize(&view, &notification, &known);
        let follow_up = !permalink::missing(&normalized.events).is_empty();
        Ok(Inbound::conversations(normalized.events, &normalized.skipped).follow_up(follow_up))
    }

    async fn after_stored(
        &self,
        context: &Context,
        channel: &ChannelState,
        _body: &[u8],
        events: Vec<Event>,
    ) {
        permalink::follow_up(self, context, channel, events).await;
    }

    fn plan(
        &self,
        channel: &ChannelState,
        message: &MessageRequested,
    ) -> Result<Vec<GraphCall>, ProviderError> {
        if channel
            .credentials
            .get("access_token")
            .is_none_or(String::is_empty)
        {
            return Err(ProviderError::Fail {
                kind: Kind::NotSent,
                reason: "the channel was deleted before the message could be sent".into(),
                code: None,
            });
        }
        let mut message = message.clone();
        // The window service asks for the 7-day HUMAN_AGENT tag (an
        // operator's reply 24 h–7 d after the customer wrote); it goes out
        // only while the channel still allows it and only for an operator.
        let tag_allowed = channel.settings.as_ref().is_some_and(|s| s.human_agent_tag);
        let automatic = matches!(message.author_kind(), AuthorKind::System | AuthorKind::Bot);
        message.human_agent_tag &= tag_allowed && !automatic;
        let account = channel
            .credentials
            .get("account_id")
            .map_or("", String::as_str);
        compose::plan(&message, account).map_err(|e| ProviderError::refused(e.to_string()))
    }

    async fn call(&self, call: &Call<'_>, request: &GraphCall) -> Result<String, ProviderError> {
        let provider = call.provider;
        let url = format!("{}/{GRAPH_VERSION}/{}", provider.base_url(), request.path);
        let builder = provider
            .http()
            .post(url)
            .bearer_auth(call.credential("access_token"))
            .json(&request.body);
        let answer = provider.send(self, builder).await?;
        compose::sent_id(&answer)
            .ok_or_else(|| ProviderError::transient("Instagram's answer carries no message id"))
    }

    fn classify(&self, status: u16, body: &[u8]) -> Result<Value, ProviderError> {
        if (200..300).contains(&status) {
            return serde_json::from_slice(body)
                .map_err(|_| ProviderError::transient("Instagram answered with unreadable JSON"));
        }
        Err(provider_error(classify(status, body)))
    }

    async fn setup(&self, context: &Context, mut channel: ChannelState) -> ChannelSetupReply {
        let provider = context.provider::<Self>(&channel);
        let account = channel
            .credentials
            .get("account_id")
            .filter(|a| !a.is_empty())
            .map_or("me", String::as_str)
            .to_owned();
        let url = format!(
            "{}/{GRAPH_VERSION}/{account}?fields=id,username",
            provider.base_url()
        );
        let token = channel
            .credentials
            .get("access_token")
            .cloned()
            .unwrap_or_default();
        let builder = provider.http().get(url).bearer_auth(token);
        match provider.send(self, builder).await {
            Ok(answer) => {
                let id = answer["id"].as_str().unwrap_or_default().to_owned();
                if !id.is_empty() {
                    channel.credentials.entry("account_id".into()).or_insert(id);
                }
                let username = answer["username"].as_str().unwrap_or_default();
                ChannelSetupReply {
                    outcome: Outcome::Ok as i32,
                    message: String::new(),
                    display_name: if username.is_empty() {
                        String::new()
                    } else {
                        format!("@{username}")
                    },
                    credentials: channel.credentials,
                }
            }
            Err(error) => omnibus_ingress::setup::reply(
                if error.is_transient() {
                    Outcome::Unavailable
                } else {
                    Outcome::Invalid
                },
                error.reason(),
            ),
        }
    }
}

/// Instagram's error classes in the kit's.
fn provider_error(error: SendError) -> ProviderError {
    let reason = error.readable();
    let code = error.provider_code().map(|c| c.to_string());
    match error {
        SendError::Transient { .. } => ProviderError::Retry {
            after: None,
            reason,
            code,
        },
        SendError::OutsideWindow { .. } => ProviderError::OutsideWindow { reason, code },
        SendError::Unauthorized { .. } => ProviderError::Unauthorized { reason, code },
        SendError::RecipientUnavailable { .. } => ProviderError::Fail {
            kind: Kind::RecipientBlocked,
            reason,
            code,
        },
        SendError::Rejected { .. } => ProviderError::Fail {
            kind: Kind::Rejected,
            reason,
            code,
        },
    }
}
