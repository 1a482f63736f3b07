//! `omnictl simulate …`: posts realistic provider webhooks to a running
//! server, for trying Omnibus without a real messenger account.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::cli::{SimulateCmd, SimulateTelegramApiArgs, SimulateTelegramArgs};

mod instagram_wazzup;
mod viber_vk;
mod whatsapp;

use crate::client::normalize_addr;
use crate::error::{ConnectError, HttpStatusError};
use crate::output::Output;
pub use instagram_wazzup::{instagram_webhook, wazzup_webhook};
pub use viber_vk::{viber_webhook, vk_webhook};
pub use whatsapp::{post_whatsapp_webhook, whatsapp_text_webhook};

/// Header Telegram sets to the `secret_token` given to `setWebhook`.
pub const TELEGRAM_SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";
/// How long to wait for the webhook's answer.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// What a simulated Telegram private-chat message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramMessageSpec {
    /// `update_id`, which Omnibus uses to drop repeats.
    pub update_id: i64,
    /// `message.message_id`.
    pub message_id: i64,
    /// `message.date`, Unix seconds.
    pub date: i64,
    /// Chat id, also the sender's user id (a private chat).
    pub chat_id: i64,
    /// Sender's first name.
    pub first_name: String,
    /// Sender's last name; empty leaves the field out.
    pub last_name: String,
    /// Sender's username; empty leaves the field out.
    pub username: String,
    /// `text`, or `caption` of a photo.
    pub text: String,
    /// Sends a photo (two sizes) instead of a text message.
    pub photo: bool,
}

impl Default for TelegramMessageSpec {
    fn default() -> Self {
        Self {
            update_id: 734_512_001,
            message_id: 1,
            date: 1_631_132_077,
            chat_id: 100_200_300,
            first_name: "Sojan".to_owned(),
            last_name: "Jose".to_owned(),
            username: "sojan".to_owned(),
            text: "Hello".to_owned(),
            photo: false,
        }
    }
}

impl TelegramMessageSpec {
    /// Builds the spec from the command's flags; an update id not given
    /// is the current time in ms, so repeated runs are not dropped as repeats.
    pub fn from_args(args: &SimulateTelegramArgs, now: SystemTime) -> Self {
        let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let now_ms = i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX);
        let update_id = args.update_id.unwrap_or(now_ms);
        Self {
            update_id,
            message_id: args
                .message_id
                .unwrap_or(update_id.rem_euclid(i64::from(i32::MAX)) + 1),
            date: i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX),
            chat_id: args.chat_id,
            first_name: args.first_name.clone(),
            last_name: args.last_name.clone(),
            username: args.username.clone(),
            text: args.text.clone(),
            photo: args.photo,
        }
    }
}

/// Returns a Telegram `Update` in the exact shape the Bot API delivers a
/// private-chat text message or photo (providers.md §2.2, §2.3).
pub fn telegram_update_json(spec: &TelegramMessageSpec) -> Value {
    let mut person = Map::new();
    person.insert("first_name".to_owned(), json!(spec.first_name));
    if !spec.last_name.is_empty() {
        person.insert("last_name".to_owned(), json!(spec.last_name));
    }
    if !spec.username.is_empty() {
        person.insert("username".to_owned(), json!(spec.username));
    }

    let mut from = Map::new();
    from.insert("id".to_owned(), json!(spec.chat_id));
    from.insert("is_bot".to_owned(), json!(false));
    from.extend(person.clone());
    from.insert("language_code".to_owned(), json!("en"));

    let mut chat = Map::new();
    chat.insert("id".to_owned(), json!(spec.chat_id));
    chat.extend(person);
    chat.insert("type".to_owned(), json!("private"));

    let mut message = Map::new();
    message.insert("message_id".to_owned(), json!(spec.message_id));
    message.insert("from".to_owned(), Value::Object(from));
    message.insert("chat".to_owned(), Value::Object(chat));
    message.insert("date".to_owned(), json!(spec.date));
    if spec.photo {
        message.insert("photo".to_owned(), photo_sizes(spec.update_id));
        if !spec.text.is_empty() {
            message.insert("caption".to_owned(), json!(spec.text));
        }
    } else {
        message.insert("text".to_owned(), json!(spec.text));
    }
    json!({ "update_id": spec.update_id, "message": message })
}

/// Two `PhotoSize`s, smallest first as Telegram sends them, with file ids
/// that differ per update.
fn photo_sizes(update_id: i64) -> Value {
    let tag = format!("{update_id:x}");
    json!([
        {
            "file_id": format!("AgACAgUAAxkBAAODYV3aGZlD6vhzKsE2WNmbl{tag}AAMCAANzAAMhBA"),
            "file_unique_id": format!("AQAD{tag}s"),
            "file_size": 1883, "width": 90, "height": 67
        },
        {
            "file_id": format!("AgACAgUAAxkBAAODYV3aGZlD6vhzKsE2WNmbl{tag}AAMCAAN4AAMhBA"),
            "file_unique_id": format!("AQAD{tag}x"),
            "file_size": 48211, "width": 800, "height": 600
        }
    ])
}

/// The webhook's answer to a simulated delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    /// HTTP status code.
    pub status: u16,
    /// Canonical reason phrase, e.g. "OK".
    pub reason: String,
    /// Response body as text.
    pub body: String,
}

impl WebhookResponse {
    /// Tells whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Returns `{http}/webhooks/telegram/{channel_id}`.
pub fn telegram_webhook_url(http: &str, channel_id: &str) -> String {
    let base = normalize_addr(http);
    format!(
        "{}/webhooks/telegram/{channel_id}",
        base.trim_end_matches('/')
    )
}

/// POSTs `update` to a Telegram channel's webhook with the secret header.
pub async fn post_telegram_update(
    http: &str,
    channel_id: &str,
    secret: &str,
    update: &Value,
) -> anyhow::Result<WebhookResponse> {
    let url = telegram_webhook_url(http, channel_id);
    let client = reqwest::Client::builder().timeout(HTTP_TIMEOUT).build()?;
    let response = client
        .post(&url)
        .header(TELEGRAM_SECRET_HEADER, secret)
        .json(update)
        .send()
        .await
        .map_err(|e| {
            if e.is_connect() {
                anyhow::Error::new(ConnectError::new(&normalize_addr(http), &e))
            } else {
                anyhow::Error::new(e).context(format!("POST {url} failed"))
            }
        })?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    Ok(WebhookResponse {
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or("").to_owned(),
        body,
    })
}

/// What a non-2xx answer of a webhook means, in words.
pub fn status_hint(status: u16) -> &'static str {
    match status {
        400 => "the server did not accept the body as a Telegram update",
        401 | 403 => "the secret token does not match the channel's",
        404 => "no such channel: unknown or deleted (check --channel and --http)",
        413 => "the update is larger than the 1 MiB limit",
        503 => "the event stream cannot be written right now (Telegram would retry)",
        500..=599 => "the server failed to handle the update",
        _ => "unexpected answer from the webhook",
    }
}

/// Runs one `simulate` subcommand.
pub async fn run(cmd: SimulateCmd, out: &mut Output<'_>) -> anyhow::Result<()> {
    match cmd {
        SimulateCmd::Telegram(args) => telegram(&args, out).await,
        SimulateCmd::TelegramApi(args) => telegram_api(&args, out).await,
        SimulateCmd::Whatsapp(args) => whatsapp::run(&args, out).await,
        SimulateCmd::WhatsappApi(args) => whatsapp::api(&args, out).await,
        SimulateCmd::Instagram(args) => instagram_wazzup::instagram(&args, out).await,
        SimulateCmd::Wazzup(args) => instagram_wazzup::wazzup(&args, out).await,
        SimulateCmd::Viber(args) => viber_vk::viber(&args, out).await,
        SimulateCmd::Vk(args) => viber_vk::vk(&args, out).await,
    }
}

/// Serves the Bot API stand-in until Ctrl-C, printing each call Omnibus makes.
async fn telegram_api(args: &SimulateTelegramApiArgs, out: &mut Output<'_>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    let stand_in = omnibus_telegram_standin::StandIn::serve(listener).await;
    let base = stand_in.base_url();
    out.emit(
        || json!({"listening": base}),
        || {
            format!(
                "Telegram Bot API stand-in on {base}\n\
                 create a channel with --api-base-url {base} (any bot_token of the form 123:abc)\n\
                 waiting for calls; Ctrl-C stops\n"
            )
        },
    )?;
    let mut printed = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = tick.tick() => {}
        }
        let calls = stand_in.requests();
        for call in &calls[printed.min(calls.len())..] {
            let chat = call.body.get("chat_id").cloned().unwrap_or(Value::Null);
            let text = call
                .body
                .get("text")
                .or_else(|| call.body.get("caption"))
                .and_then(Value::as_str)
                .unwrap_or("");
            out.emit_line(
                || json!({"method": call.method, "body": call.body}),
                || format!("{} chat_id={chat} {text}\n", call.method),
            )?;
        }
        printed = calls.len();
    }
}

async fn telegram(args: &SimulateTelegramArgs, out: &mut Output<'_>) -> anyhow::Result<()> {
    let spec = TelegramMessageSpec::from_args(args, SystemTime::now());
    let update = telegram_update_json(&spec);
    let response =
        post_telegram_update(&args.http, &args.channel_id, &args.secret, &update).await?;
    out.emit(
        || {
            let body = serde_json::from_str(&response.body)
                .unwrap_or_else(|_| Value::String(response.body.clone()));
            json!({"status": response.status, "body": body, "update": update})
        },
        || {
            let mut text = format!("HTTP {} {}\n", response.status, response.reason);
            if !response.body.is_empty() {
                text.push_str(&response.body);
            }
            text
        },
    )?;
    if response.is_success() {
        return Ok(());
    }
    Err(HttpStatusError {
        status: response.status,
        reason: response.reason,
        hint: status_hint(response.status).to_owned(),
    }
    .into())
}

#[cfg(test)]
mod tests;
