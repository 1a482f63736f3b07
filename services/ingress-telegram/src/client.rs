//! A client of the Telegram Bot API: `getMe`, `setWebhook` and sending
//! messages, with Telegram's errors sorted into what the caller can act on.
//!
//! The bot token is part of every URL (`/bot<token>/<method>`), so it is a
//! secret that travels in paths: it never reaches a log line or an error
//! string. reqwest errors are stripped of their URL, and any text that still
//! contains the token is redacted.

use std::time::Duration;

use rand::Rng;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use omnibus_proto::{Attachment, AttachmentKind};

/// Telegram's limit on captions; longer text goes in a message of its own.
pub const MAX_CAPTION_CHARS: usize = 1024;

/// The updates Omnibus asks Telegram to deliver to its webhook.
pub const ALLOWED_UPDATES: [&str; 3] = ["message", "edited_message", "callback_query"];

/// What to answer when a request takes longer than this, unless changed with
/// [`BotApi::with_request_timeout`]; a send must not hang a worker forever.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A failed Bot API call, classified by what the caller should do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// HTTP 429: wait this long, then try again.
    #[error("rate limited, retry after {0:?}")]
    RetryAfter(Duration),
    /// Telegram or the network failed (5xx, timeout, refused connection,
    /// unreadable answer); trying again later may work.
    #[error("transient failure: {0}")]
    Transient(String),
    /// HTTP 403: the customer blocked the bot, deleted their account, or
    /// never started a chat with it. Retrying will not help.
    #[error("recipient unreachable: {0}")]
    Blocked(String),
    /// HTTP 401 or 404: the bot token is invalid or revoked.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Telegram refused the request as it was (HTTP 400 and anything else).
    /// `code` 0 means it was refused here, before calling Telegram.
    #[error("rejected ({code}): {description}")]
    Rejected { code: i64, description: String },
}

impl ApiError {
    /// Explains the failure to an operator, in words they can act on.
    pub fn readable(&self) -> String {
        match self {
            Self::RetryAfter(wait) => format!(
                "Telegram is rate limiting the bot; retry in {} s",
                wait.as_secs().max(1)
            ),
            Self::Transient(reason) => format!("Telegram is unavailable right now ({reason})"),
            Self::Blocked(description) => blocked_reason(description),
            Self::Unauthorized(description) => format!(
                "Telegram refused the bot token; check the channel credentials ({description})"
            ),
            Self::Rejected { description, .. } => {
                format!("Telegram refused the message: {description}")
            }
        }
    }

    /// Telegram's `error_code` (the HTTP status), when Telegram answered.
    pub fn provider_code(&self) -> Option<i64> {
        match self {
            Self::RetryAfter(_) => Some(429),
            Self::Transient(_) => None,
            Self::Blocked(_) => Some(403),
            Self::Unauthorized(_) => Some(401),
            Self::Rejected { code: 0, .. } => None,
            Self::Rejected { code, .. } => Some(*code),
        }
    }
}

/// Tells the common 403 causes apart; descriptions vary in case.
fn blocked_reason(description: &str) -> String {
    let lower = description.to_lowercase();
    let why = if lower.contains("deactivated") {
        "the customer's Telegram account is deleted"
    } else if lower.contains("can't initiate") || lower.contains("can not initiate") {
        "the customer has not started a chat with the bot"
    } else if lower.contains("kicked") || lower.contains("not a member") {
        "the bot was removed from the chat"
    } else {
        "the customer blocked the bot"
    };
    format!("{why} ({description})")
}

// === BotApi ===

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

/// A message to deliver to one chat.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutboundMessage {
    /// Telegram's chat id (digits, possibly negative) or `@channelname`.
    pub chat_id: String,
    /// The text, or the caption of the first attachment. Telegram allows
    /// 4096 characters; callers refuse longer text before it gets here.
    pub text: String,
    /// Telegram's id of the message this one answers.
    pub reply_to_provider_message_id: Option<i64>,
    /// Files sent by `url` (or by Telegram `provider_file_id`), in order.
    pub attachments: Vec<Attachment>,
}

/// A client of one bot. Cheap to clone; the token never appears in `Debug`.
#[derive(Clone)]
pub struct BotApi {
    http: reqwest::Client,
    base_url: String,
    token: String,
    timeout: Duration,
}

impl std::fmt::Debug for BotApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotApi")
            .field("base_url", &self.base_url)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl BotApi {
    /// Creates a client of the bot `token` at `base_url` (for example
    /// `https://api.telegram.org`, or a stand-in in tests).
    pub fn new(http: reqwest::Client, base_url: &str, token: &str) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }

    /// Sets how long one request may take before it counts as transient.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Returns the bot behind the token; the cheapest way to check a token.
    pub async fn get_me(&self) -> Result<BotUser, ApiError> {
        self.call("getMe", &json!({})).await
    }

    /// Points Telegram's webhook at `url`; Telegram will send `secret_token`
    /// in `X-Telegram-Bot-Api-Secret-Token` with every update.
    pub async fn set_webhook(&self, url: &str, secret_token: &str) -> Result<(), ApiError> {
        let body = json!({
            "url": url,
            "secret_token": secret_token,
            "allowed_updates": ALLOWED_UPDATES,
        });
        self.call::<Value>("setWebhook", &body).await.map(drop)
    }

    /// Sends a message once, without retrying: text alone goes through
    /// `sendMessage`, attachments through `sendPhoto` / `sendDocument`, one
    /// after another with the text as the caption of the first. Returns the
    /// first message Telegram created (the one a reply would point at).
    pub async fn send(&self, msg: &OutboundMessage) -> Result<SentMessage, ApiError> {
        let mut first = None;
        for call in plan(msg)? {
            let sent: SentMessage = self.call(call.method, &call.body).await?;
            first.get_or_insert(sent);
        }
        first.ok_or_else(|| local_rejection("nothing to send"))
    }

    /// POSTs one Bot API method and classifies the answer.
    async fn call<T: DeserializeOwned>(&self, method: &str, body: &Value) -> Result<T, ApiError> {
        let url = format!("{}/bot{}/{method}", self.base_url, self.token);
        let response = self
            .http
            .post(url)
            .timeout(self.timeout)
            .json(body)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(e))?;
        decode(status, &bytes).map_err(|e| self.redacted(e))
    }

    /// A network-level failure, without the URL (and so without the token).
    fn transport_error(&self, error: reqwest::Error) -> ApiError {
        let kind = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "connection failed"
        } else {
            "request failed"
        };
        let detail = error_chain(&error.without_url());
        ApiError::Transient(self.redact(&format!("{kind}: {detail}")))
    }

    /// Makes sure Telegram's own text cannot echo the token back to us.
    fn redacted(&self, error: ApiError) -> ApiError {
        match error {
            ApiError::Transient(s) => ApiError::Transient(self.redact(&s)),
            ApiError::Blocked(s) => ApiError::Blocked(self.redact(&s)),
            ApiError::Unauthorized(s) => ApiError::Unauthorized(self.redact(&s)),
            ApiError::Rejected { code, description } => ApiError::Rejected {
                code,
                description: self.redact(&description),
            },
            other @ ApiError::RetryAfter(_) => other,
        }
    }

    fn redact(&self, text: &str) -> String {
        if self.token.is_empty() {
            return text.to_owned();
        }
        text.replace(&self.token, "<token>")
    }
}

/// An error and its sources, joined: reqwest's top-level text alone
/// ("error sending request") hides the useful part.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

// === answers ===

/// Telegram's answer envelope: `{ok, result}` or `{ok:false, error_code, ...}`.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    ok: bool,
    result: Option<Value>,
    error_code: Option<i64>,
    description: Option<String>,
    parameters: Option<ResponseParameters>,
}

#[derive(Debug, Default, Deserialize)]
struct ResponseParameters {
    retry_after: Option<u64>,
}

/// Decodes an answer into its `result`, or classifies the failure.
fn decode<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, ApiError> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|_| unreadable(status))?;
    if !envelope.ok || !(200..300).contains(&status) {
        return Err(classify(status, &envelope));
    }
    let result = envelope.result.ok_or_else(|| unreadable(status))?;
    serde_json::from_value(result).map_err(|_| unreadable(status))
}

fn unreadable(status: u16) -> ApiError {
    ApiError::Transient(format!("unreadable answer from telegram (http {status})"))
}

/// Sorts a failed answer by HTTP status, falling back to `error_code` when
/// the status itself says success.
fn classify(status: u16, envelope: &Envelope) -> ApiError {
    let code = match status {
        200..=299 => envelope.error_code.unwrap_or(i64::from(status)),
        _ => i64::from(status),
    };
    let description = envelope
        .description
        .clone()
        .unwrap_or_else(|| format!("http {code}"));
    match code {
        429 => {
            let seconds = envelope.parameters.as_ref().and_then(|p| p.retry_after);
            ApiError::RetryAfter(Duration::from_secs(seconds.unwrap_or(1).max(1)))
        }
        500..=599 => ApiError::Transient(description),
        403 => ApiError::Blocked(description),
        401 | 404 => ApiError::Unauthorized(description),
        _ => ApiError::Rejected { code, description },
    }
}

// === sends ===

/// One Bot API request of a send.
#[derive(Debug, Clone, PartialEq)]
struct Call {
    method: &'static str,
    body: Value,
}

/// Turns a message into the requests that deliver it, or refuses it before
/// anything is sent (so a bad second attachment never leaves half a message).
///
/// Text that does not fit a caption is sent first as a message of its own.
fn plan(msg: &OutboundMessage) -> Result<Vec<Call>, ApiError> {
    let chat_id = chat_id(&msg.chat_id);
    let mut calls = Vec::with_capacity(msg.attachments.len() + 1);
    let caption_fits = msg.text.chars().count() <= MAX_CAPTION_CHARS;
    let mut caption = if caption_fits { msg.text.as_str() } else { "" };
    if msg.attachments.is_empty() || !caption_fits {
        let body = json!({ "chat_id": chat_id, "text": msg.text });
        calls.push(Call {
            method: "sendMessage",
            body,
        });
    }
    for attachment in &msg.attachments {
        let (method, field) = media_method(attachment);
        let file = file_ref(attachment)?;
        let mut body = json!({ "chat_id": chat_id, field: file });
        if !caption.is_empty() {
            body["caption"] = json!(caption);
            caption = "";
        }
        calls.push(Call { method, body });
    }
    if let (Some(first), Some(reply_to)) = (calls.first_mut(), msg.reply_to_provider_message_id) {
        // Still deliver the answer if the customer deleted the original.
        first.body["reply_parameters"] =
            json!({ "message_id": reply_to, "allow_sending_without_reply": true });
    }
    Ok(calls)
}

/// Chat ids go out as JSON numbers when they are numbers, as Telegram
/// documents them; `@channelname` stays a string.
fn chat_id(chat_id: &str) -> Value {
    match chat_id.trim().parse::<i64>() {
        Ok(id) => json!(id),
        Err(_) => json!(chat_id),
    }
}

/// Images go as photos (Telegram shows them inline); every other file as a
/// document, which Telegram accepts for any type.
fn media_method(attachment: &Attachment) -> (&'static str, &'static str) {
    if attachment.kind() == AttachmentKind::Image {
        ("sendPhoto", "photo")
    } else {
        ("sendDocument", "document")
    }
}

/// The URL to fetch the file from, or a Telegram file id to re-send.
fn file_ref(attachment: &Attachment) -> Result<&str, ApiError> {
    [&attachment.url, &attachment.provider_file_id]
        .into_iter()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .ok_or_else(|| {
            local_rejection(&format!(
                "attachment {} has no url to send",
                attachment.kind().as_str_name()
            ))
        })
}

fn local_rejection(description: &str) -> ApiError {
    ApiError::Rejected {
        code: 0,
        description: description.to_owned(),
    }
}

// === retries ===

/// How persistently to deliver a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries per request, the first one included.
    pub max_attempts: u32,
    /// The wait after the first transient failure; it doubles each time.
    pub base_backoff: Duration,
    /// The longest wait after a transient failure.
    pub max_backoff: Duration,
    /// The longest wait Telegram's `retry_after` may impose on us.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// How long to wait before try `attempt + 1` after `error`, or `None`
    /// when the error is final or the tries are used up.
    pub fn delay_after(&self, error: &ApiError, attempt: u32) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        match error {
            ApiError::RetryAfter(wait) => Some((*wait).min(self.max_retry_after)),
            ApiError::Transient(_) => Some(jitter(self.backoff(attempt))),
            _ => None,
        }
    }

    /// The exponential backoff after `attempt` transient failures, capped.
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.base_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Somewhere between half and all of `delay`, so that many workers failing
/// together do not retry together.
fn jitter(delay: Duration) -> Duration {
    let half = delay / 2;
    let spread = u64::try_from((delay - half).as_millis()).unwrap_or(u64::MAX);
    half + Duration::from_millis(rand::rng().random_range(0..=spread))
}

/// Sends `msg`, retrying rate limits and transient failures per `policy`.
///
/// Each request of a multi-part message is retried on its own, so a part
/// that went through is never sent twice. On success returns the first
/// message and the tries the most-retried request needed; on failure the
/// final error and the tries spent on the failing request (0 when the
/// message was refused before any request, e.g. a file without a URL).
pub async fn send_with_retries(
    api: &BotApi,
    msg: &OutboundMessage,
    policy: &RetryPolicy,
) -> Result<(SentMessage, u32), (ApiError, u32)> {
    let calls = plan(msg).map_err(|e| (e, 0))?;
    let mut first = None;
    let mut most_attempts = 0;
    for call in &calls {
        let (sent, attempts) = call_with_retries(api, call, policy).await?;
        first.get_or_insert(sent);
        most_attempts = most_attempts.max(attempts);
    }
    match first {
        Some(sent) => Ok((sent, most_attempts)),
        None => Err((local_rejection("nothing to send"), 0)),
    }
}

async fn call_with_retries(
    api: &BotApi,
    call: &Call,
    policy: &RetryPolicy,
) -> Result<(SentMessage, u32), (ApiError, u32)> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let error = match api.call::<SentMessage>(call.method, &call.body).await {
            Ok(sent) => return Ok((sent, attempt)),
            Err(error) => error,
        };
        let Some(delay) = policy.delay_after(&error, attempt) else {
            return Err((error, attempt));
        };
        tracing::warn!(
            method = call.method,
            attempt,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            error = %error,
            "telegram call failed, will retry"
        );
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omnibus_telegram_standin::{Scripted, StandIn};

    const TOKEN: &str = "7000000001:AAE-Secret_token";

    fn text(text: &str) -> OutboundMessage {
        OutboundMessage {
            chat_id: "100200300".into(),
            text: text.into(),
            ..OutboundMessage::default()
        }
    }

    fn attachment(kind: AttachmentKind, url: &str) -> Attachment {
        Attachment {
            kind: kind.into(),
            url: url.into(),
            ..Attachment::default()
        }
    }

    fn fast_retries() -> RetryPolicy {
        RetryPolicy {
            base_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            ..RetryPolicy::default()
        }
    }

    fn api(telegram: &StandIn) -> BotApi {
        BotApi::new(reqwest::Client::new(), &telegram.base_url(), TOKEN)
    }

    // --- plan ---

    #[test]
    fn text_goes_through_send_message_with_a_numeric_chat_id_and_reply() {
        let msg = OutboundMessage {
            reply_to_provider_message_id: Some(2),
            ..text("Hello!")
        };
        let calls = plan(&msg).expect("plan");
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].method, "sendMessage");
        assert_eq!(
            calls[0].body,
            json!({"chat_id": 100200300, "text": "Hello!",
                   "reply_parameters": {"message_id": 2, "allow_sending_without_reply": true}})
        );
    }

    #[test]
    fn non_numeric_chat_ids_stay_strings() {
        let msg = OutboundMessage {
            chat_id: "@acme_news".into(),
            ..text("hi")
        };
        assert_eq!(plan(&msg).expect("plan")[0].body["chat_id"], "@acme_news");
        let group = OutboundMessage {
            chat_id: "-1001234567890".into(),
            ..text("hi")
        };
        assert_eq!(
            plan(&group).expect("plan")[0].body["chat_id"],
            -1001234567890_i64
        );
    }

    #[test]
    fn an_image_goes_as_a_photo_with_the_text_as_caption() {
        let msg = OutboundMessage {
            attachments: vec![attachment(AttachmentKind::Image, "https://cdn.test/a.png")],
            ..text("see attached")
        };
        let calls = plan(&msg).expect("plan");
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].method, "sendPhoto");
        assert_eq!(
            calls[0].body,
            json!({"chat_id": 100200300, "photo": "https://cdn.test/a.png", "caption": "see attached"})
        );
    }

    #[test]
    fn other_files_go_as_documents_in_order_captioning_only_the_first() {
        let msg = OutboundMessage {
            reply_to_provider_message_id: Some(7),
            attachments: vec![
                attachment(AttachmentKind::Document, "https://cdn.test/invoice.pdf"),
                attachment(AttachmentKind::Video, "https://cdn.test/howto.mp4"),
                attachment(AttachmentKind::Image, "https://cdn.test/b.png"),
            ],
            ..text("your documents")
        };
        let calls = plan(&msg).expect("plan");
        let methods: Vec<&str> = calls.iter().map(|c| c.method).collect();
        assert_eq!(methods, ["sendDocument", "sendDocument", "sendPhoto"]);
        assert_eq!(calls[0].body["document"], "https://cdn.test/invoice.pdf");
        assert_eq!(calls[0].body["caption"], "your documents");
        assert_eq!(calls[0].body["reply_parameters"]["message_id"], 7);
        for call in &calls[1..] {
            assert_eq!(call.body.get("caption"), None);
            assert_eq!(call.body.get("reply_parameters"), None);
        }
    }

    #[test]
    fn text_too_long_for_a_caption_goes_first_on_its_own() {
        let long = "x".repeat(MAX_CAPTION_CHARS + 1);
        let msg = OutboundMessage {
            attachments: vec![attachment(AttachmentKind::Image, "https://cdn.test/a.png")],
            ..text(&long)
        };
        let calls = plan(&msg).expect("plan");
        assert_eq!(calls[0].method, "sendMessage");
        assert_eq!(calls[1].method, "sendPhoto");
        assert_eq!(calls[1].body.get("caption"), None);
    }

    #[test]
    fn files_without_url_use_the_telegram_file_id_or_are_refused() {
        let resend = Attachment {
            provider_file_id: "BQAD-file".into(),
            ..attachment(AttachmentKind::Document, "")
        };
        let msg = OutboundMessage {
            attachments: vec![resend],
            ..text("")
        };
        assert_eq!(plan(&msg).expect("plan")[0].body["document"], "BQAD-file");

        let location = OutboundMessage {
            attachments: vec![
                attachment(AttachmentKind::Image, "https://cdn.test/a.png"),
                attachment(AttachmentKind::Location, ""),
            ],
            ..text("")
        };
        let error = plan(&location).expect_err("refused");
        assert!(matches!(&error, ApiError::Rejected { code: 0, description }
            if description.contains("ATTACHMENT_KIND_LOCATION")));
        assert_eq!(error.provider_code(), None);
    }

    // --- answers ---

    fn failure(status: u16, body: &str) -> ApiError {
        decode::<SentMessage>(status, body.as_bytes()).expect_err("a failure")
    }

    #[test]
    fn answers_are_classified_by_status() {
        let rate = r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#;
        assert_eq!(
            failure(429, rate),
            ApiError::RetryAfter(Duration::from_secs(7))
        );
        let no_params = r#"{"ok":false,"error_code":429,"description":"Too Many Requests"}"#;
        assert_eq!(
            failure(429, no_params),
            ApiError::RetryAfter(Duration::from_secs(1))
        );
        let down = r#"{"ok":false,"error_code":500,"description":"Internal Server Error"}"#;
        assert_eq!(
            failure(500, down),
            ApiError::Transient("Internal Server Error".into())
        );
        let blocked = r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#;
        assert_eq!(
            failure(403, blocked),
            ApiError::Blocked("Forbidden: bot was blocked by the user".into())
        );
        let token = r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#;
        assert_eq!(
            failure(401, token),
            ApiError::Unauthorized("Unauthorized".into())
        );
        let not_found = r#"{"ok":false,"error_code":404,"description":"Not Found"}"#;
        assert_eq!(
            failure(404, not_found),
            ApiError::Unauthorized("Not Found".into())
        );
        let bad = r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#;
        assert_eq!(
            failure(400, bad),
            ApiError::Rejected {
                code: 400,
                description: "Bad Request: chat not found".into()
            }
        );
        let conflict = r#"{"ok":false,"error_code":409,"description":"Conflict: terminated by other getUpdates request"}"#;
        assert!(matches!(
            failure(409, conflict),
            ApiError::Rejected { code: 409, .. }
        ));
    }

    #[test]
    fn unreadable_answers_are_transient() {
        for (status, body) in [
            (502, "<html>Bad Gateway</html>"),
            (200, ""),
            (200, r#"{"ok":true}"#),
            (200, r#"{"ok":true,"result":{"message_id":"three"}}"#),
        ] {
            assert!(
                matches!(failure(status, body), ApiError::Transient(_)),
                "{status} {body}"
            );
        }
        let sent = decode::<SentMessage>(200, br#"{"ok":true,"result":{"message_id":3,"date":1}}"#);
        assert_eq!(sent, Ok(SentMessage { message_id: 3 }));
    }

    #[test]
    fn readable_reasons_speak_to_operators() {
        let cases = [
            (
                ApiError::Blocked("Forbidden: bot was blocked by the user".into()),
                "the customer blocked the bot (Forbidden: bot was blocked by the user)",
            ),
            (
                ApiError::Blocked("Forbidden: user is deactivated".into()),
                "the customer's Telegram account is deleted (Forbidden: user is deactivated)",
            ),
            (
                ApiError::Blocked("Forbidden: bot can't initiate conversation with a user".into()),
                "the customer has not started a chat with the bot \
                 (Forbidden: bot can't initiate conversation with a user)",
            ),
            (
                ApiError::Rejected {
                    code: 400,
                    description: "Bad Request: chat not found".into(),
                },
                "Telegram refused the message: Bad Request: chat not found",
            ),
            (
                ApiError::Unauthorized("Unauthorized".into()),
                "Telegram refused the bot token; check the channel credentials (Unauthorized)",
            ),
            (
                ApiError::RetryAfter(Duration::from_secs(30)),
                "Telegram is rate limiting the bot; retry in 30 s",
            ),
        ];
        for (error, reason) in cases {
            assert_eq!(error.readable(), reason);
        }
    }

    // --- retry policy ---

    #[test]
    fn retry_after_is_obeyed_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let wait = ApiError::RetryAfter(Duration::from_secs(3));
        assert_eq!(policy.delay_after(&wait, 1), Some(Duration::from_secs(3)));
        let long = ApiError::RetryAfter(Duration::from_secs(3600));
        assert_eq!(policy.delay_after(&long, 1), Some(Duration::from_secs(60)));
    }

    #[test]
    fn transient_backoff_grows_with_jitter_and_caps() {
        let policy = RetryPolicy {
            max_attempts: 100,
            ..RetryPolicy::default()
        };
        let error = ApiError::Transient("down".into());
        for (attempt, full) in [(1, 500), (2, 1000), (3, 2000), (7, 30_000), (40, 30_000)] {
            let delay = policy.delay_after(&error, attempt).expect("retry");
            let full = Duration::from_millis(full);
            assert!(
                delay >= full / 2 && delay <= full,
                "attempt {attempt}: {delay:?}"
            );
        }
    }

    #[test]
    fn final_errors_and_spent_attempts_stop_retrying() {
        let policy = RetryPolicy::default();
        let finals = [
            ApiError::Blocked("x".into()),
            ApiError::Unauthorized("x".into()),
            ApiError::Rejected {
                code: 400,
                description: "x".into(),
            },
        ];
        for error in finals {
            assert_eq!(policy.delay_after(&error, 1), None);
        }
        assert_eq!(
            policy.delay_after(&ApiError::Transient("x".into()), 5),
            None
        );
    }

    // --- against the stand-in ---

    #[tokio::test]
    async fn get_me_and_set_webhook_speak_the_bot_api() {
        let telegram = StandIn::start().await;
        let api = api(&telegram);
        let bot = api.get_me().await.expect("getMe");
        assert_eq!(
            bot,
            BotUser {
                id: 7000000001,
                first_name: "SupportBot".into(),
                username: "acme_support_bot".into()
            }
        );
        api.set_webhook("https://omnibus.test/webhooks/telegram/ch_1", "s3cr3t")
            .await
            .expect("setWebhook");
        let webhook = telegram.webhook(TOKEN).expect("webhook set");
        assert_eq!(webhook.url, "https://omnibus.test/webhooks/telegram/ch_1");
        assert_eq!(webhook.secret_token.as_deref(), Some("s3cr3t"));
        assert_eq!(webhook.allowed_updates, ALLOWED_UPDATES);
    }

    #[tokio::test]
    async fn send_returns_telegrams_message_id() {
        let telegram = StandIn::start().await;
        let sent = api(&telegram).send(&text("Hello!")).await.expect("sent");
        let recorded = telegram.sent();
        assert_eq!(recorded.len(), 1);
        assert_eq!(
            recorded[0].body,
            json!({"chat_id": 100200300, "text": "Hello!"})
        );
        assert!(sent.message_id > 0);
    }

    #[tokio::test]
    async fn a_rate_limit_is_waited_out_then_sent() {
        let telegram = StandIn::start().await;
        telegram.script("sendMessage", Scripted::TooManyRequests { retry_after: 1 });
        let (sent, attempts) = send_with_retries(&api(&telegram), &text("hi"), &fast_retries())
            .await
            .expect("sent after the wait");
        assert_eq!(attempts, 2);
        assert!(sent.message_id > 0);
        let requests = telegram.requests();
        assert_eq!(requests.len(), 2);
        assert!(requests[1].at.duration_since(requests[0].at) >= Duration::from_secs(1));
    }

    #[tokio::test]
    async fn server_errors_are_retried() {
        let telegram = StandIn::start().await;
        telegram.script("sendMessage", Scripted::ServerError);
        telegram.script("sendMessage", Scripted::ServerError);
        let (_, attempts) = send_with_retries(&api(&telegram), &text("hi"), &fast_retries())
            .await
            .expect("sent on the third try");
        assert_eq!(attempts, 3);
        assert_eq!(telegram.sent().len(), 1);
    }

    #[tokio::test]
    async fn retries_give_up_after_max_attempts() {
        let telegram = StandIn::start().await;
        for _ in 0..5 {
            telegram.script("sendMessage", Scripted::ServerError);
        }
        let (error, attempts) = send_with_retries(&api(&telegram), &text("hi"), &fast_retries())
            .await
            .expect_err("gave up");
        assert_eq!(
            (error, attempts),
            (ApiError::Transient("Internal Server Error".into()), 5)
        );
        assert!(telegram.sent().is_empty());
    }

    #[tokio::test]
    async fn a_blocked_bot_fails_at_once() {
        let telegram = StandIn::start().await;
        telegram.script("sendMessage", Scripted::Blocked);
        let (error, attempts) = send_with_retries(&api(&telegram), &text("hi"), &fast_retries())
            .await
            .expect_err("blocked");
        assert_eq!(attempts, 1);
        assert_eq!(
            error,
            ApiError::Blocked("Forbidden: bot was blocked by the user".into())
        );
        assert_eq!(telegram.requests().len(), 1);
    }

    #[tokio::test]
    async fn a_bad_request_fails_at_once_with_the_description() {
        let telegram = StandIn::start().await;
        telegram.script(
            "sendMessage",
            Scripted::BadRequest("Bad Request: chat not found".into()),
        );
        let (error, attempts) = send_with_retries(&api(&telegram), &text("hi"), &fast_retries())
            .await
            .expect_err("rejected");
        assert_eq!(attempts, 1);
        assert_eq!(
            error,
            ApiError::Rejected {
                code: 400,
                description: "Bad Request: chat not found".into()
            }
        );
    }

    #[tokio::test]
    async fn a_revoked_token_is_unauthorized() {
        let telegram = StandIn::start().await;
        telegram.only_token("1:other");
        let error = api(&telegram).get_me().await.expect_err("refused");
        assert_eq!(error, ApiError::Unauthorized("Unauthorized".into()));
    }

    #[tokio::test]
    async fn parts_already_sent_are_not_repeated_on_retry() {
        let telegram = StandIn::start().await;
        telegram.script("sendPhoto", Scripted::ServerError);
        let msg = OutboundMessage {
            attachments: vec![
                attachment(AttachmentKind::Document, "https://cdn.test/a.pdf"),
                attachment(AttachmentKind::Image, "https://cdn.test/b.png"),
            ],
            ..text("files")
        };
        let (sent, attempts) = send_with_retries(&api(&telegram), &msg, &fast_retries())
            .await
            .expect("sent");
        assert_eq!(attempts, 2);
        let methods: Vec<String> = telegram.sent().into_iter().map(|r| r.method).collect();
        assert_eq!(methods, ["sendDocument", "sendPhoto"]);
        assert_eq!(telegram.requests().len(), 3);
        assert_eq!(sent.message_id, 1, "the first part's id");
    }

    #[tokio::test]
    async fn connection_failures_are_transient_and_never_show_the_token() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let api = BotApi::new(reqwest::Client::new(), &format!("http://{addr}"), TOKEN);
        let error = api.send(&text("hi")).await.expect_err("nobody listens");
        assert!(matches!(error, ApiError::Transient(_)), "{error:?}");
        for text in [
            error.to_string(),
            format!("{error:?}"),
            error.readable(),
            format!("{api:?}"),
        ] {
            assert!(!text.contains(TOKEN) && !text.contains("Secret"), "{text}");
        }
    }

    #[tokio::test]
    async fn timeouts_are_transient_and_never_show_the_token() {
        // Accepted by the kernel backlog, never answered.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base_url = format!("http://{}", silent.local_addr().expect("addr"));
        let api = BotApi::new(reqwest::Client::new(), &base_url, TOKEN)
            .with_request_timeout(Duration::from_millis(100));
        let error = api.get_me().await.expect_err("timed out");
        let ApiError::Transient(reason) = &error else {
            panic!("not transient: {error:?}");
        };
        assert!(reason.starts_with("timed out"), "{reason}");
        assert!(!error.readable().contains(TOKEN));
    }
}
