//! The HTTP side: `/bot<token>/<method>` in, Telegram's envelope out.
//!
//! Bodies, status codes and descriptions follow the real Bot API (see
//! providers.md §2.4 and §2.5), so code tested here meets the same answers in
//! production.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::state::Shared;
use crate::{BOT_FIRST_NAME, BOT_ID, BOT_USERNAME, Recorded, Scripted, Webhook};

/// Telegram's limit on message text.
const MAX_TEXT_CHARS: usize = 4096;
/// Telegram's limit on captions.
const MAX_CAPTION_CHARS: usize = 1024;

/// Every path and HTTP method goes to one handler, as on Telegram, which
/// accepts GET and POST alike.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(download) = file_download(&shared, uri.path()) {
        return download;
    }
    let (token, method) = split_path(uri.path());
    let params = params(&headers, uri.query(), &body);
    let call = Recorded {
        method: method.to_owned(),
        token: token.to_owned(),
        body: params.clone().unwrap_or_else(|| lossy(&body)),
        at: Instant::now(),
    };
    shared.record(call.clone());
    let reply = answer(&shared, &call, params);
    if reply.status == StatusCode::OK && is_send(&call.method) {
        shared.record_sent(call);
    }
    reply.into_response()
}

/// The path `getFile` answers for a file id.
const FILE_DIR: &str = "files/";

/// `/file/bot<token>/<file_path>`: a file download (recorded as method
/// `file`), or `None` for any other path.
fn file_download(shared: &Shared, path: &str) -> Option<Response> {
    let rest = path.strip_prefix("/file/bot")?;
    let (token, file_path) = rest.split_once('/')?;
    shared.record(Recorded {
        method: "file".into(),
        token: token.to_owned(),
        body: Value::String(file_path.to_owned()),
        at: Instant::now(),
    });
    if !shared.token_allowed(token) {
        return Some(Reply::error(StatusCode::UNAUTHORIZED, "Unauthorized").into_response());
    }
    let file_id = file_path.strip_prefix(FILE_DIR).unwrap_or_default();
    Some(shared.files.download(file_id))
}

fn get_file(shared: &Shared, params: &Value) -> Reply {
    let file_id = text_param(params, "file_id");
    match shared.files.describe(file_id) {
        Some((size, _)) => Reply::ok(json!({
            "file_id": file_id,
            "file_unique_id": format!("u{file_id}"),
            "file_size": size,
            "file_path": format!("{FILE_DIR}{file_id}"),
        })),
        None => Reply::bad_request("Bad Request: invalid file_id"),
    }
}

/// Splits `/bot<token>/<method>`; anything else has an empty token.
fn split_path(path: &str) -> (&str, &str) {
    let rest = path.trim_start_matches('/');
    match rest.strip_prefix("bot").and_then(|r| r.split_once('/')) {
        Some((token, method)) => (token, method),
        None => ("", rest),
    }
}

fn answer(shared: &Shared, call: &Recorded, params: Option<Value>) -> Reply {
    if call.token.is_empty() {
        return Reply::error(StatusCode::NOT_FOUND, "Not Found");
    }
    if !shared.token_allowed(&call.token) {
        return Reply::error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let Some(method) = Method::parse(&call.method) else {
        return Reply::error(StatusCode::NOT_FOUND, "Not Found: method not found");
    };
    let Some(params) = params else {
        return Reply::bad_request("Bad Request: can't parse JSON object");
    };
    match shared.next_script(&call.method).and_then(Reply::scripted) {
        Some(reply) => reply,
        None => method.run(shared, &call.token, &params),
    }
}

fn is_send(method: &str) -> bool {
    matches!(
        Method::parse(method),
        Some(Method::SendMessage | Method::SendPhoto | Method::SendDocument)
    )
}

// === parameters ===

/// The call's parameters as one JSON object: query parameters, overridden
/// by the body (JSON or form). `None` when the body cannot be read.
fn params(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Option<Value> {
    let mut object = query.map(form).unwrap_or_default();
    let from_body = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else if is_form(headers) {
        form(std::str::from_utf8(body).ok()?)
    } else {
        match serde_json::from_slice(body).ok()? {
            Value::Object(object) => object,
            _ => return None,
        }
    };
    object.extend(from_body);
    Some(Value::Object(object))
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// Form fields are strings; Telegram's "JSON-serialized" ones (objects and
/// arrays such as `reply_parameters`) are decoded.
fn form(text: &str) -> Map<String, Value> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(text).unwrap_or_default();
    pairs
        .into_iter()
        .map(|(key, value)| {
            let decoded = match value.trim_start().as_bytes().first() {
                Some(b'{' | b'[') => serde_json::from_str(&value).ok(),
                _ => None,
            };
            (key, decoded.unwrap_or(Value::String(value)))
        })
        .collect()
}

fn lossy(body: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(body).into_owned())
}

fn text_param<'a>(params: &'a Value, key: &str) -> &'a str {
    params.get(key).and_then(Value::as_str).unwrap_or_default()
}

// === methods ===

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    GetMe,
    SetWebhook,
    DeleteWebhook,
    GetWebhookInfo,
    SendMessage,
    SendPhoto,
    SendDocument,
    AnswerCallbackQuery,
    GetFile,
}

impl Method {
    /// Telegram's method names are case-insensitive.
    fn parse(name: &str) -> Option<Self> {
        let method = match name.to_ascii_lowercase().as_str() {
            "getme" => Self::GetMe,
            "setwebhook" => Self::SetWebhook,
            "deletewebhook" => Self::DeleteWebhook,
            "getwebhookinfo" => Self::GetWebhookInfo,
            "sendmessage" => Self::SendMessage,
            "sendphoto" => Self::SendPhoto,
            "senddocument" => Self::SendDocument,
            "answercallbackquery" => Self::AnswerCallbackQuery,
            "getfile" => Self::GetFile,
            _ => return None,
        };
        Some(method)
    }

    fn run(self, shared: &Shared, token: &str, params: &Value) -> Reply {
        match self {
            Self::GetMe => Reply::ok(bot_user()),
            Self::SetWebhook => set_webhook(shared, token, params),
            Self::DeleteWebhook => {
                shared.set_webhook(token, None);
                Reply::ok_described(json!(true), "Webhook was deleted")
            }
            Self::GetWebhookInfo => webhook_info(shared, token),
            Self::AnswerCallbackQuery => answer_callback_query(params),
            Self::GetFile => get_file(shared, params),
            Self::SendMessage | Self::SendPhoto | Self::SendDocument => {
                send(self, shared, params).unwrap_or_else(Reply::bad_request)
            }
        }
    }
}

fn bot_user() -> Value {
    json!({
        "id": BOT_ID,
        "is_bot": true,
        "first_name": BOT_FIRST_NAME,
        "username": BOT_USERNAME,
    })
}

fn set_webhook(shared: &Shared, token: &str, params: &Value) -> Reply {
    let url = text_param(params, "url");
    if url.is_empty() {
        // Telegram treats an empty URL as "remove the webhook".
        shared.set_webhook(token, None);
        return Reply::ok_described(json!(true), "Webhook was deleted");
    }
    let allowed_updates = params
        .get("allowed_updates")
        .and_then(Value::as_array)
        .map(|kinds| {
            kinds
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let webhook = Webhook {
        url: url.to_owned(),
        secret_token: Some(text_param(params, "secret_token"))
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        allowed_updates,
        max_connections: params
            .get("max_connections")
            .and_then(|m| m.as_u64().or_else(|| m.as_str()?.parse().ok()))
            .and_then(|m| u32::try_from(m).ok()),
    };
    shared.set_webhook(token, Some(webhook));
    Reply::ok_described(json!(true), "Webhook was set")
}

/// As Telegram answers: `url` empty without a webhook; `max_connections`
/// and `allowed_updates` only for a set webhook, the list left out when
/// the defaults apply (no list was given).
fn webhook_info(shared: &Shared, token: &str) -> Reply {
    let mut info = json!({
        "url": "",
        "has_custom_certificate": false,
        "pending_update_count": 0,
    });
    if let Some(webhook) = shared.webhook(token) {
        info["url"] = json!(webhook.url);
        info["max_connections"] = json!(webhook.max_connections.unwrap_or(40));
        if !webhook.allowed_updates.is_empty() {
            info["allowed_updates"] = json!(webhook.allowed_updates);
        }
    }
    Reply::ok(info)
}

/// `answerCallbackQuery`: Telegram refuses an empty or unknown query id.
fn answer_callback_query(params: &Value) -> Reply {
    if text_param(params, "callback_query_id").trim().is_empty() {
        return Reply::bad_request(
            "Bad Request: query is too old and response timeout expired or query ID is invalid",
        );
    }
    Reply::ok(json!(true))
}

/// Validates a send like Telegram does and answers with the new message;
/// `Err` holds the 400 description.
fn send(method: Method, shared: &Shared, params: &Value) -> Result<Reply, &'static str> {
    let chat = chat(params.get("chat_id"))?;
    let mut message = Map::new();
    match method {
        Method::SendMessage => {
            let text = text_param(params, "text");
            if text.trim().is_empty() {
                return Err("Bad Request: message text is empty");
            }
            if text.chars().count() > MAX_TEXT_CHARS {
                return Err("Bad Request: message is too long");
            }
            message.insert("text".into(), json!(text));
        }
        Method::SendPhoto => {
            let photo = media_param(
                params,
                "photo",
                "Bad Request: there is no photo in the request",
            )?;
            message.insert("photo".into(), photo_sizes(photo));
        }
        _ => {
            let document = media_param(
                params,
                "document",
                "Bad Request: there is no document in the request",
            )?;
            message.insert("document".into(), document_of(document));
        }
    }
    let caption = text_param(params, "caption");
    if method != Method::SendMessage && !caption.is_empty() {
        if caption.chars().count() > MAX_CAPTION_CHARS {
            return Err("Bad Request: message caption is too long");
        }
        message.insert("caption".into(), json!(caption));
    }
    let message_id = shared.next_message_id();
    if let Some(reply_to) = params.pointer("/reply_parameters/message_id") {
        let original = json!({ "message_id": reply_to, "chat": chat, "date": 0 });
        message.insert("reply_to_message".into(), original);
    }
    message.insert("message_id".into(), json!(message_id));
    message.insert("from".into(), bot_user());
    message.insert("chat".into(), chat);
    message.insert("date".into(), json!(unix_now()));
    Ok(Reply::ok(Value::Object(message)))
}

/// The chat of `chat_id`: numeric ids only (a stand-in knows no usernames).
fn chat(chat_id: Option<&Value>) -> Result<Value, &'static str> {
    let id = match chat_id {
        None | Some(Value::Null) => return Err("Bad Request: chat_id is empty"),
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err("Bad Request: chat_id is empty");
        }
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        Some(_) => None,
    };
    let id = id.ok_or("Bad Request: chat not found")?;
    let kind = match id {
        ..=-1_000_000_000_000 => "supergroup",
        -999_999_999_999..=-1 => "group",
        _ => "private",
    };
    Ok(json!({ "id": id, "type": kind }))
}

fn media_param<'a>(
    params: &'a Value,
    key: &str,
    missing: &'static str,
) -> Result<&'a str, &'static str> {
    let file = text_param(params, key).trim();
    if file.is_empty() {
        Err(missing)
    } else {
        Ok(file)
    }
}

fn photo_sizes(source: &str) -> Value {
    json!([{
        "file_id": format!("standin-photo-{}", short_hash(source)),
        "file_unique_id": format!("standin-{}", short_hash(source)),
        "width": 800,
        "height": 600,
        "file_size": 48211,
    }])
}

fn document_of(source: &str) -> Value {
    let name = source
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("file");
    json!({
        "file_id": format!("standin-document-{}", short_hash(source)),
        "file_unique_id": format!("standin-{}", short_hash(source)),
        "file_name": name,
    })
}

/// A stable, short tag of a URL, so repeated sends reuse one file id.
fn short_hash(text: &str) -> String {
    // FNV-1a: tiny, deterministic across runs (unlike `DefaultHasher`'s keys).
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

// === replies ===

/// An answer in Telegram's envelope.
struct Reply {
    status: StatusCode,
    body: Value,
}

impl Reply {
    fn ok(result: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body: json!({ "ok": true, "result": result }),
        }
    }

    fn ok_described(result: Value, description: &str) -> Self {
        Self {
            status: StatusCode::OK,
            body: json!({ "ok": true, "result": result, "description": description }),
        }
    }

    fn error(status: StatusCode, description: &str) -> Self {
        Self {
            status,
            body: json!({
                "ok": false,
                "error_code": status.as_u16(),
                "description": description,
            }),
        }
    }

    fn bad_request(description: &str) -> Self {
        Self::error(StatusCode::BAD_REQUEST, description)
    }

    /// The scripted failure; `None` for [`Scripted::Ok`], which answers normally.
    fn scripted(scripted: Scripted) -> Option<Self> {
        let reply = match scripted {
            Scripted::Blocked => Self::error(
                StatusCode::FORBIDDEN,
                "Forbidden: bot was blocked by the user",
            ),
            Scripted::TooManyRequests { retry_after } => {
                let mut reply = Self::error(
                    StatusCode::TOO_MANY_REQUESTS,
                    &format!("Too Many Requests: retry after {retry_after}"),
                );
                reply.body["parameters"] = json!({ "retry_after": retry_after });
                reply
            }
            Scripted::ServerError => {
                Self::error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
            Scripted::BadRequest(description) => Self::bad_request(&description),
            Scripted::Ok => return None,
        };
        Some(reply)
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}
