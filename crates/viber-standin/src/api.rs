//! The HTTP side: Viber's `/pa/*` paths in, Viber's JSON out
//! (providers.md §3.1, §3.4). Viber answers refusals with HTTP 200 and a
//! non-zero `status`, and so does this.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::state::Shared;
use crate::{BOT_NAME, BOT_URI, Recorded, Scripted, callbacks};

/// Viber's limit on `sender.name`.
const MAX_SENDER_NAME_CHARS: usize = 28;
/// What `set_webhook` subscribes to when the request names nothing.
const EVENT_TYPES: [&str; 6] = [
    "delivered",
    "seen",
    "failed",
    "subscribed",
    "unsubscribed",
    "conversation_started",
];

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/pa/send_message", post(send_message))
        .route("/pa/get_account_info", post(account_info))
        .route("/pa/set_webhook", post(set_webhook))
        .with_state(shared)
}

/// Records the call; `Err` is Viber's `status` when the token is refused.
fn accept(
    shared: &Shared,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Recorded, (i64, &'static str)> {
    let call = Recorded {
        path: uri.path().to_owned(),
        auth_token: headers
            .get("x-viber-auth-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: serde_json::from_slice(body).unwrap_or(Value::Null),
        at: Instant::now(),
    };
    shared.record(call.clone());
    match call.auth_token.as_deref() {
        None => Err((2, "missing_auth_token")),
        Some(token) if !shared.token_allowed(token) => Err((2, "invalidAuthToken")),
        Some(_) => Ok(call),
    }
}

fn status(code: i64, message: &str) -> Response {
    Json(json!({
        "status": code,
        "status_message": message,
        "chat_hostname": "SN-CHAT-05_",
    }))
    .into_response()
}

async fn send_message(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = match accept(&shared, &uri, &headers, &body) {
        Ok(call) => call,
        Err((code, message)) => return status(code, message),
    };
    match shared.next_script() {
        Some(Scripted::Status(code, message)) => return status(code, &message),
        Some(Scripted::Http(code)) => {
            let code = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
            return (code, "<html><body>bad gateway</body></html>").into_response();
        }
        Some(Scripted::Delay(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    if let Err(why) = validate(&call.body) {
        return status(3, why);
    }
    let receiver = call.body["receiver"].as_str().unwrap_or_default();
    if !shared.is_subscribed(receiver) {
        return status(6, "receiverNotSubscribed");
    }
    shared.record_sent(call);
    Json(json!({
        "status": 0,
        "status_message": "ok",
        "message_token": shared.next_token(),
        "chat_hostname": "SN-CHAT-05_",
        "billing_status": 1,
    }))
    .into_response()
}

/// What Viber refuses as `badData`.
fn validate(body: &Value) -> Result<(), &'static str> {
    if body["receiver"].as_str().is_none_or(str::is_empty) {
        return Err("receiver is missing");
    }
    let name = body["sender"]["name"].as_str().unwrap_or_default();
    if name.is_empty() || name.chars().count() > MAX_SENDER_NAME_CHARS {
        return Err("sender.name must be 1 to 28 characters");
    }
    let fine = match body["type"].as_str().unwrap_or_default() {
        "text" => body["text"].as_str().is_some_and(|t| !t.is_empty()),
        "picture" | "url" => body["media"].is_string(),
        "video" => body["media"].is_string() && body["size"].is_u64(),
        "file" => {
            body["media"].is_string() && body["size"].is_u64() && body["file_name"].is_string()
        }
        "location" => body["location"]["lat"].is_number() && body["location"]["lon"].is_number(),
        "contact" => body["contact"]["name"].is_string(),
        "sticker" => body["sticker_id"].is_u64(),
        _ => false,
    };
    if fine {
        Ok(())
    } else {
        Err("the message's fields do not fit its type")
    }
}

async fn account_info(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err((code, message)) = accept(&shared, &uri, &headers, &body) {
        return status(code, message);
    }
    Json(json!({
        "status": 0,
        "status_message": "ok",
        "id": "pa:75346594275468546724",
        "name": BOT_NAME,
        "uri": BOT_URI,
        "icon": "http://example.com/bot.png",
        "background": "http://example.com/bg.png",
        "category": "Support",
        "subcategory": "Customer service",
        "location": { "lon": 0.1, "lat": 0.2 },
        "country": "UK",
        "webhook": shared.webhook().unwrap_or_default(),
        "event_types": EVENT_TYPES,
        "subscribers_count": 35,
        "members": [],
    }))
    .into_response()
}

/// Like Viber: the URL must answer a signed `webhook` callback with 200
/// before it is registered; an empty URL removes the webhook.
async fn set_webhook(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = match accept(&shared, &uri, &headers, &body) {
        Ok(call) => call,
        Err((code, message)) => return status(code, message),
    };
    let url = call.body["url"].as_str().unwrap_or_default().to_owned();
    if url.is_empty() {
        shared.set_webhook(None);
        return status(0, "ok");
    }
    let token = call.auth_token.unwrap_or_default();
    if let Err(why) = check_webhook(&url, &token).await {
        tracing::debug!(%why, "viber stand-in: webhook check failed");
        return status(1, "Result[HttpRequest[POST / HTTP/1.1]] Failed with error");
    }
    shared.set_webhook(Some(url));
    let event_types = match &call.body["event_types"] {
        Value::Array(types) => Value::Array(types.clone()),
        _ => json!(EVENT_TYPES),
    };
    Json(json!({
        "status": 0,
        "status_message": "ok",
        "chat_hostname": "SN-CHAT-05_",
        "event_types": event_types,
    }))
    .into_response()
}

async fn check_webhook(url: &str, token: &str) -> Result<(), String> {
    let (body, signature) =
        callbacks::signed(token, &callbacks::webhook(4_453_581_457_645_254_151));
    let answer = reqwest::Client::new()
        .post(url)
        .header(callbacks::SIGNATURE_HEADER, signature)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if answer.status().is_success() {
        Ok(())
    } else {
        Err(format!("the webhook answered {}", answer.status()))
    }
}
