//! Telegram updates for tests: the same builder `omnictl simulate` uses.

use omnictl::simulate::{TELEGRAM_SECRET_HEADER, TelegramMessageSpec, telegram_update_json};
use serde_json::Value;

/// A private-chat text message from chat `chat_id` with this update id.
pub fn text_update(update_id: i64, chat_id: i64, text: &str) -> Value {
    telegram_update_json(&TelegramMessageSpec {
        update_id,
        message_id: update_id,
        chat_id,
        text: text.to_owned(),
        date: omnibus_core::now_ms() / 1000,
        ..TelegramMessageSpec::default()
    })
}

/// Posts a raw body to a Telegram webhook with an optional secret header.
pub async fn post(
    client: &reqwest::Client,
    http_url: &str,
    channel_id: &str,
    secret: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::StatusCode {
    let mut request = client
        .post(format!("{http_url}/webhooks/telegram/{channel_id}"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(secret) = secret {
        request = request.header(TELEGRAM_SECRET_HEADER, secret);
    }
    request.send().await.expect("webhook request").status()
}

/// Posts an update as JSON with the secret.
pub async fn post_update(
    client: &reqwest::Client,
    http_url: &str,
    channel_id: &str,
    secret: &str,
    update: &Value,
) -> reqwest::StatusCode {
    post(
        client,
        http_url,
        channel_id,
        Some(secret),
        update.to_string(),
    )
    .await
}
