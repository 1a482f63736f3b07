//! Bot API methods (`getMe`, `setWebhook`, the sends) over the kit's
//! provider client. The bot token is part of every URL
//! (`/bot<token>/<method>`); the client redacts it from every error.

use omnibus_ingress::{MediaCall, MediaDownload, Provider, ProviderError};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::Telegram;

/// The updates Omnibus asks Telegram to deliver to its webhook. Telegram
/// sends only the kinds named here (without a list, everything but
/// `message_reaction` and `chat_member`); registrations made with an older
/// list are brought up to date by `registration`.
pub const ALLOWED_UPDATES: [&str; 5] = [
    "message",
    "edited_message",
    "callback_query",
    "my_chat_member",
    "message_reaction",
];

/// The bot as Telegram knows it (`getMe`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BotUser {
    pub id: i64,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub username: String,
}

/// What Telegram returns about a message it accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct SentMessage {
    /// Telegram's id of the message, unique inside its chat.
    pub message_id: i64,
}

/// Returns the bot behind `token`; the cheapest way to check a token.
pub async fn get_me(provider: &Provider, token: &str) -> Result<BotUser, ProviderError> {
    call(provider, token, "getMe", &json!({})).await
}

/// The webhook registration as Telegram reports it (`getWebhookInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct WebhookInfo {
    /// Empty when no webhook is set (the bot polls, or nothing is set up).
    pub url: String,
    /// A self-signed certificate was uploaded; `setWebhook` without it
    /// would drop it.
    pub has_custom_certificate: bool,
    pub max_connections: Option<u32>,
    /// Absent means Telegram's default: every kind except `chat_member`,
    /// `message_reaction` and `message_reaction_count`.
    pub allowed_updates: Option<Vec<String>>,
}

/// Reads the bot's webhook registration.
pub async fn get_webhook_info(
    provider: &Provider,
    token: &str,
) -> Result<WebhookInfo, ProviderError> {
    call(provider, token, "getWebhookInfo", &json!({})).await
}

/// Points Telegram's webhook at `url`; Telegram will send `secret_token`
/// in `X-Telegram-Bot-Api-Secret-Token` with every update.
pub async fn set_webhook(
    provider: &Provider,
    token: &str,
    url: &str,
    secret_token: &str,
) -> Result<(), ProviderError> {
    set_webhook_with(provider, token, url, secret_token, None).await
}

/// [`set_webhook`], keeping a `max_connections` chosen earlier.
pub async fn set_webhook_with(
    provider: &Provider,
    token: &str,
    url: &str,
    secret_token: &str,
    max_connections: Option<u32>,
) -> Result<(), ProviderError> {
    let mut body = json!({
        "url": url,
        "secret_token": secret_token,
        "allowed_updates": ALLOWED_UPDATES,
    });
    if let Some(max) = max_connections {
        body["max_connections"] = json!(max);
    }
    call::<Value>(provider, token, "setWebhook", &body)
        .await
        .map(drop)
}

/// Stops the spinner on the button the customer pressed.
pub async fn answer_callback_query(
    provider: &Provider,
    token: &str,
    callback_query_id: &str,
) -> Result<(), ProviderError> {
    let body = json!({ "callback_query_id": callback_query_id });
    call::<Value>(provider, token, "answerCallbackQuery", &body)
        .await
        .map(drop)
}

/// A file as `getFile` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct File {
    /// Where to download it: `<base>/file/bot<token>/<file_path>`.
    #[serde(default)]
    pub file_path: String,
}

/// Resolves an inbound file id with `getFile` and returns its download
/// request. The download URL carries the bot token, so it stays inside the
/// provider client (whose errors are redacted) and is never returned.
pub async fn file_download(call: &MediaCall<'_>) -> Result<MediaDownload, ProviderError> {
    let file_id = call.attachment.provider_file_id.trim();
    if file_id.is_empty() {
        return omnibus_ingress::messenger::link_download(call);
    }
    let token = call.credential("bot_token");
    let file: File = self::call(
        call.provider,
        token,
        "getFile",
        &json!({ "file_id": file_id }),
    )
    .await?;
    let path = file.file_path.trim_start_matches('/');
    if path.is_empty() {
        return Err(ProviderError::refused(
            "Telegram gave no download path for the file (files above 20 MB cannot be downloaded by bots)",
        ));
    }
    let url = format!("{}/file/bot{token}/{path}", call.provider.base_url());
    Ok(MediaDownload::get(call.provider.http().get(url)))
}

/// POSTs one Bot API method and decodes its `result`.
pub async fn call<T: DeserializeOwned>(
    provider: &Provider,
    token: &str,
    method: &str,
    body: &Value,
) -> Result<T, ProviderError> {
    let url = format!("{}/bot{token}/{method}", provider.base_url());
    let request = provider.http().post(url).json(body);
    let result = provider.send(&Telegram, request).await?;
    serde_json::from_value(result).map_err(|_| {
        ProviderError::transient(
            "Telegram is unavailable right now (unreadable answer from telegram (http 200))",
        )
    })
}

#[cfg(test)]
mod tests;
