//! The HTTP side: v3 paths in, Wazzup's JSON out.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as Extract;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::{Recorded, Scripted, State};

/// Wazzup's text limit on WhatsApp; other transports have lower ones.
const MAX_TEXT_CHARS: usize = 10_000;

pub(crate) fn router(state: Arc<Mutex<State>>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

async fn handle(
    Extract(state): Extract<Arc<Mutex<State>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let answer = if key != state.api_key {
        reply(&Scripted::error(401, "unauthorized", "Invalid api key"))
    } else {
        match (&method, uri.path()) {
            (&Method::GET, "/v3/channels") => channels(&state),
            (&Method::POST, "/v3/message") => send(&mut state, &body),
            _ => reply(&Scripted::error(404, "notFound", "Route not found")),
        }
    };
    let accepted = answer.status().is_success();
    state.calls.push(Recorded {
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        body,
        accepted,
    });
    answer
}

fn channels(state: &State) -> Response {
    let list: Vec<Value> = state
        .channels
        .iter()
        .map(|c| {
            json!({ "channelId": c.channel_id, "transport": c.transport, "plainId": c.plain_id,
                    "state": c.state, "isSidecar": false })
        })
        .collect();
    (StatusCode::OK, axum::Json(Value::Array(list))).into_response()
}

fn send(state: &mut State, body: &Value) -> Response {
    if let Some(scripted) = state.script.pop_front() {
        return reply(&scripted);
    }
    let channel = body["channelId"].as_str().unwrap_or_default();
    if !state.channels.iter().any(|c| c.channel_id == channel) {
        return reply(&Scripted::error(
            400,
            "channelNotFound",
            "Channel not found",
        ));
    }
    if body["chatType"].as_str().is_none_or(str::is_empty)
        || body["chatId"].as_str().is_none_or(str::is_empty)
    {
        return reply(&Scripted::error(
            400,
            "validationError",
            "chatType and chatId are required",
        ));
    }
    let text = body["text"].as_str().unwrap_or_default();
    let content = body["contentUri"].as_str().unwrap_or_default();
    let template = body["templateId"].as_str().unwrap_or_default();
    if (text.is_empty() && content.is_empty() && template.is_empty())
        || (!text.is_empty() && !content.is_empty())
    {
        return reply(&Scripted::error(
            400,
            "validationError",
            "Either text or contentUri must be set, not both",
        ));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return reply(&Scripted::error(
            400,
            "messageTextTooLong",
            "Text is too long",
        ));
    }
    if let Some(crm) = body["crmMessageId"].as_str().filter(|c| !c.is_empty())
        && !state.crm_ids.insert(crm.to_owned())
    {
        return reply(&Scripted::error(
            400,
            "repeatedCrmMessageId",
            "You have already sent message with the same crmMessageId",
        ));
    }
    state.counter += 1;
    let id = format!("0b7e0000-0000-4000-8000-{:012}", state.counter);
    (
        StatusCode::CREATED,
        axum::Json(json!({ "messageId": id, "chatId": body["chatId"] })),
    )
        .into_response()
}

fn reply(scripted: &Scripted) -> Response {
    let status = StatusCode::from_u16(scripted.http_status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, axum::Json(scripted.body.clone())).into_response()
}
