//! Checking a Viber channel before it is stored: the token with
//! `get_account_info` (which also gives the bot's name, the sender of every
//! message), and, with `OMNIBUS_PUBLIC_URL`, registering the webhook with
//! `set_webhook`.
//!
//! Viber checks a new webhook at once with a signed `webhook` callback that
//! must get 200, and the channel is stored only after this check answers;
//! so the registration waits, in the background, until the channel is
//! readable, and then calls `set_webhook` (a failure is logged).

use std::time::Duration;

use omnibus_ingress::setup::reply;
use omnibus_ingress::{Context, Provider, ProviderError};
use omnibus_proto::{ChannelSetupReply, ChannelState, channel_setup_reply::Outcome};
use serde_json::{Value, json};

use crate::Viber;
use crate::messenger::{SENDER_AVATAR, SENDER_NAME};

/// The callbacks Omnibus asks Viber for (`message`, `subscribed` and
/// `unsubscribed` always come).
pub const EVENT_TYPES: [&str; 6] = [
    "delivered",
    "seen",
    "failed",
    "subscribed",
    "unsubscribed",
    "conversation_started",
];

/// How long the background registration waits for the channel to be stored.
const REGISTER_WITHIN: Duration = Duration::from_secs(30);

pub(crate) async fn check(context: &Context, state: ChannelState) -> ChannelSetupReply {
    let mut credentials = state.credentials.clone();
    let token = credentials
        .get("auth_token")
        .map(|t| t.trim().to_owned())
        .unwrap_or_default();
    if token.is_empty() {
        return reply(
            Outcome::Invalid,
            "auth_token is required: the bot's token from the Viber admin panel",
        );
    }
    let provider = context.provider::<Viber>(&state);
    let account = match call(&provider, &token, "get_account_info", &json!({})).await {
        Ok(account) => account,
        Err(err) => return refused(&err, "check the auth token"),
    };
    let name = account["name"]
        .as_str()
        .unwrap_or_default()
        .trim()
        .to_owned();
    credentials.insert(SENDER_NAME.into(), name.clone());
    if let Some(icon) = account["icon"].as_str().filter(|i| !i.is_empty()) {
        credentials
            .entry(SENDER_AVATAR.into())
            .or_insert_with(|| icon.to_owned());
    }
    if let Some(url) = context.webhook_url::<Viber>(&state.id) {
        let directory = context.directory.clone();
        let channel_id = state.id.clone();
        tokio::spawn(async move { register(provider, directory, channel_id, token, url).await });
    }
    ChannelSetupReply {
        outcome: Outcome::Ok as i32,
        message: String::new(),
        display_name: name,
        credentials,
    }
}

async fn register(
    provider: Provider,
    directory: omnibus_ingress::ChannelDirectory,
    channel_id: String,
    token: String,
    url: String,
) {
    let deadline = tokio::time::Instant::now() + REGISTER_WITHIN;
    while !matches!(directory.fresh(&channel_id).await, Ok(Some(_))) {
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(%channel_id, "viber webhook not registered: the channel was not stored");
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let body =
        json!({ "url": url, "event_types": EVENT_TYPES, "send_name": true, "send_photo": true });
    match call(&provider, &token, "set_webhook", &body).await {
        Ok(_) => tracing::info!(%channel_id, "viber webhook registered"),
        Err(err) => tracing::warn!(%channel_id, error = %err, "viber webhook not registered"),
    }
}

/// POSTs one `/pa/<method>` call with the token header.
pub async fn call(
    provider: &Provider,
    token: &str,
    method: &str,
    body: &Value,
) -> Result<Value, ProviderError> {
    let url = format!("{}/pa/{method}", provider.base_url());
    let request = provider
        .http()
        .post(url)
        .header("X-Viber-Auth-Token", token)
        .json(body);
    provider.send(&Viber, request).await
}

fn refused(error: &ProviderError, what: &str) -> ChannelSetupReply {
    let outcome = if error.is_transient() {
        Outcome::Unavailable
    } else {
        Outcome::Invalid
    };
    reply(
        outcome,
        format!("viber refused to {what}: {}", error.reason()),
    )
}
