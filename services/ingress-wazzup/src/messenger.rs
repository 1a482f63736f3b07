//! Wazzup on the messenger kit: what Wazzup differs in.

use axum::http::{HeaderMap, header};
use omnibus_bus::Bus;
use omnibus_core::ids;
use omnibus_ingress::{
    Call, Context, Inbound, Messenger, Provider, ProviderError, Routed, Verdict, Webhook,
    WebhookError,
};
use omnibus_proto::{
    ChannelKind, ChannelSetupReply, ChannelState, Event, MessageRequested, ProviderChannel,
    channel_setup_reply::Outcome, message_failed::Kind,
};
use serde_json::Value;

use crate::DEFAULT_API_BASE;
use crate::channels::parse_channels;
use crate::compose;
use crate::errors::{SendError, classify};
use crate::normalize::{Account, Linked, SentRef, names_account, normalize};
use crate::send_log::SendLog;
use crate::verify::{self, Verdict as TokenVerdict};
use crate::wire::{Webhook as ParsedWebhook, parse_webhook};

/// The Wazzup messenger. Remembers which Wazzup message each of our sends
/// became, so statuses (which name only Wazzup's id) find their message,
/// after a restart and at another replica too ([`SendLog`]).
#[derive(Debug, Clone, Default)]
pub struct Wazzup {
    log: SendLog,
}

/// One `POST /v3/message` body, with the message it delivers.
#[derive(Debug, Clone)]
pub struct Request {
    pub body: Value,
    pub sent: SentRef,
}

impl Wazzup {
    /// Wazzup with its send log in the stream's key-value bucket.
    pub fn durable(bus: Bus) -> Self {
        Self {
            log: SendLog::durable(bus),
        }
    }

    /// The events of a parsed delivery (the sends its statuses name already
    /// in the log's memory).
    fn inbound(
        &self,
        channel: &ChannelState,
        webhook: &Webhook<'_>,
        parsed: &ParsedWebhook,
    ) -> Result<Inbound, WebhookError> {
        if parsed.test && parsed.messages.is_empty() && parsed.statuses.is_empty() {
            return Ok(Inbound::ignored("wazzup connection check"));
        }
        let account = account(channel, webhook);
        let has_token = !credential(channel, "webhook_token").is_empty();
        let empty = parsed.messages.is_empty() && parsed.statuses.is_empty();
        if !has_token && !empty && !names_account(&account, parsed, &self.log) {
            return Err(WebhookError::Forbidden(
                "the body names no Wazzup channel of this account (set a webhook_token to verify \
                 deliveries by header)",
            ));
        }
        let normalized = normalize(&account, parsed, &self.log);
        Ok(Inbound::conversations(
            normalized.events,
            &normalized.skipped,
        ))
    }
}

fn credential<'a>(channel: &'a ChannelState, key: &str) -> &'a str {
    channel.credentials.get(key).map_or("", |v| v.trim())
}

/// The Omnibus channels of `channel`'s Wazzup account (same API key).
fn account(channel: &ChannelState, webhook: &Webhook<'_>) -> Account {
    let key = credential(channel, "api_key");
    let mut channels: Vec<Linked> = webhook
        .directory
        .live()
        .iter()
        .filter(|c| c.id != channel.id && credential(c, "api_key") == key)
        .map(|c| Linked {
            channel_id: c.id.clone(),
            wazzup_channel_id: credential(c, "channel_id").to_owned(),
        })
        .collect();
    channels.insert(
        0,
        Linked {
            channel_id: channel.id.clone(),
            wazzup_channel_id: credential(channel, "channel_id").to_owned(),
        },
    );
    Account { channels }
}

impl Messenger for Wazzup {
    type Request = Request;

    const KIND: ChannelKind = ChannelKind::Wazzup;
    const SECRET_KEYS: &'static [&'static str] = &["api_key", "webhook_token"];
    const DEFAULT_API_BASE: &'static str = DEFAULT_API_BASE;

    fn verify(&self, channel: &ChannelState, headers: &HeaderMap, _body: Option<&[u8]>) -> Verdict {
        let given = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
        match verify::check(credential(channel, "webhook_token"), given) {
            TokenVerdict::Verified | TokenVerdict::NeedsKnownChannel => Verdict::Valid,
            TokenVerdict::Refused => Verdict::Invalid(WebhookError::Unauthenticated(
                "Authorization must be Bearer <webhook_token> of the channel",
            )),
        }
    }

    fn normalize(
        &self,
        channel: &ChannelState,
        webhook: &Webhook<'_>,
    ) -> Result<Inbound, WebhookError> {
        let parsed =
            parse_webhook(webhook.body).map_err(|e| WebhookError::BadRequest(e.to_string()))?;
        self.inbound(channel, webhook, &parsed)
    }

    async fn receive(
        &self,
        _context: &Context,
        channel: &ChannelState,
        webhook: &Webhook<'_>,
    ) -> Result<Inbound, WebhookError> {
        let parsed =
            parse_webhook(webhook.body).map_err(|e| WebhookError::BadRequest(e.to_string()))?;
        let named: Vec<&str> = parsed
            .statuses
            .iter()
            .filter_map(|s| s["messageId"].as_str())
            .collect();
        self.log.load(&named).await;
        let inbound = self.inbound(channel, webhook, &parsed)?;
        let events: Vec<Event> = inbound
            .events
            .iter()
            .filter_map(|routed| match routed {
                Routed::Conversation(event) => Some(event.clone()),
                Routed::Template(_) => None,
            })
            .collect();
        self.log.learn_from(&events).await;
        Ok(inbound)
    }

    fn plan(
        &self,
        channel: &ChannelState,
        message: &MessageRequested,
    ) -> Result<Vec<Request>, ProviderError> {
        if credential(channel, "api_key").is_empty() {
            return Err(ProviderError::Fail {
                kind: Kind::NotSent,
                reason: "the channel was deleted before the message could be sent".into(),
                code: None,
            });
        }
        let bodies = compose::plan(message, credential(channel, "channel_id"))
            .map_err(|e| ProviderError::refused(e.to_string()))?;
        let sent = SentRef {
            channel_id: channel.id.clone(),
            conversation_id: ids::conversation_id(&channel.id, &message.provider_chat_id),
            message_id: message.message_id.clone(),
        };
        Ok(bodies
            .into_iter()
            .map(|body| Request {
                body,
                sent: sent.clone(),
            })
            .collect())
    }

    async fn call(&self, call: &Call<'_>, request: &Request) -> Result<String, ProviderError> {
        let provider = call.provider;
        let url = format!("{}/v3/message", provider.base_url());
        let builder = provider
            .http()
            .post(url)
            .bearer_auth(call.credential("api_key"))
            .json(&request.body);
        let answer = provider.send(self, builder).await?;
        // A repeat of a send whose answer was lost has no id: the echo
        // (carrying our crmMessageId) tells it later.
        let id = compose::sent_id(&answer).unwrap_or_default();
        self.log.record(&id, &request.sent).await;
        Ok(id)
    }

    fn classify(&self, status: u16, body: &[u8]) -> Result<Value, ProviderError> {
        if (200..300).contains(&status) {
            return Ok(serde_json::from_slice(body).unwrap_or_default());
        }
        match classify(status, body) {
            SendError::AlreadySent => Ok(Value::Null),
            error => Err(provider_error(error)),
        }
    }

    async fn setup(&self, context: &Context, channel: ChannelState) -> ChannelSetupReply {
        let provider = context.provider::<Self>(&channel);
        let wanted = credential(&channel, "channel_id").to_owned();
        let listed = match list_channels(&provider, credential(&channel, "api_key")).await {
            Ok(listed) => listed,
            Err(reply) => return reply,
        };
        let Some(found) = listed.into_iter().find(|c| c.channel_id == wanted) else {
            return omnibus_ingress::setup::reply(
                Outcome::Invalid,
                format!(
                    "channel_id {wanted:?} is not a channel of this Wazzup account; \
                     `omnictl channels create --kind wazzup` (ListProviderChannels) lists them"
                ),
            );
        };
        ChannelSetupReply {
            outcome: Outcome::Ok as i32,
            message: String::new(),
            display_name: format!("Wazzup {}", found.name),
            credentials: channel.credentials,
        }
    }
}

/// The account's channels (`GET /v3/channels`), or the failure's reply.
pub async fn list_channels(
    provider: &Provider,
    api_key: &str,
) -> Result<Vec<ProviderChannel>, ChannelSetupReply> {
    let url = format!("{}/v3/channels", provider.base_url());
    let builder = provider.http().get(url).bearer_auth(api_key);
    match provider.send(&Wazzup::default(), builder).await {
        Ok(answer) => Ok(parse_channels(&answer)),
        Err(error) => Err(omnibus_ingress::setup::reply(
            if error.is_transient() {
                Outcome::Unavailable
            } else {
                Outcome::Invalid
            },
            error.reason(),
        )),
    }
}

/// Wazzup's error classes in the kit's.
fn provider_error(error: SendError) -> ProviderError {
    let reason = error.readable();
    match error {
        SendError::Transient { http_status, .. } => ProviderError::Retry {
            after: None,
            reason,
            code: Some(http_status.to_string()),
        },
        SendError::Unauthorized { .. } => ProviderError::Unauthorized { reason, code: None },
        SendError::Rejected { code, .. } => ProviderError::Fail {
            kind: Kind::Rejected,
            reason,
            code: Some(code).filter(|c| !c.is_empty()),
        },
        SendError::AlreadySent => ProviderError::transient(reason),
    }
}
