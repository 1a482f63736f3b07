//! The HTTP side: Graph paths in, Graph's JSON out.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as Extract;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::{Recorded, Scripted, State, USERNAME};

/// Instagram's limit on a Direct message's text.
const MAX_TEXT_CHARS: usize = 1000;

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
    if let Some(name) = uri.path().strip_prefix("/cdn/") {
        // The CDN needs no token: the link itself is signed (and expires).
        return state.files.download(name);
    }
    let token = token(&headers, uri.query().unwrap_or_default());
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = uri.path().to_owned();
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect();
    let answer = answer(&mut state, &method, &segments, token.as_deref(), &body);
    let accepted = answer.status().is_success();
    state.calls.push(Recorded {
        method: method.as_str().to_owned(),
        path,
        body,
        accepted,
    });
    answer
}

fn answer(
    state: &mut State,
    method: &Method,
    segments: &[String],
    token: Option<&str>,
    body: &Value,
) -> Response {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return error(&Scripted::new(
            400,
            2500,
            0,
            "An active access token must be used",
        ));
    };
    if state.token.as_deref().is_some_and(|t| t != token) {
        return error(&Scripted::expired_token());
    }
    match (method, segments) {
        (&Method::GET, [_version, id]) => {
            let id = id.as_str();
            let id = if id == "me" { "17841400000000001" } else { id };
            ok(json!({
                "id": id,
                "username": USERNAME,
                "permalink": format!("https://www.instagram.com/p/{id}/"),
            }))
        }
        (&Method::POST, [_version, _account, last]) if last == "messages" => {
            if let Some(scripted) = state.script.pop_front() {
                return error(&scripted);
            }
            send(state, body)
        }
        (&Method::POST, [_version, _comment, last]) if last == "replies" => {
            if let Some(scripted) = state.script.pop_front() {
                return error(&scripted);
            }
            if body["message"].as_str().is_none_or(str::is_empty) {
                return error(&Scripted::new(
                    400,
                    100,
                    0,
                    "(#100) Param message must be non-empty",
                ));
            }
            state.counter += 1;
            ok(json!({ "id": format!("1790000000000{:04}", state.counter) }))
        }
        _ => error(&Scripted::new(400, 100, 33, "Unsupported request")),
    }
}

fn send(state: &mut State, body: &Value) -> Response {
    let recipient = &body["recipient"];
    let to = recipient["id"]
        .as_str()
        .or_else(|| recipient["comment_id"].as_str())
        .unwrap_or_default();
    if to.is_empty() {
        return error(&Scripted::new(
            400,
            100,
            2_018_001,
            "(#100) No matching user found",
        ));
    }
    let message = &body["message"];
    let text = message["text"].as_str().unwrap_or_default();
    if text.is_empty() && message["attachment"].is_null() {
        return error(&Scripted::new(400, 100, 0, "(#100) Message is empty"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return error(&Scripted::new(
            400,
            100,
            2_018_047,
            "(#100) Message text is too long",
        ));
    }
    state.counter += 1;
    ok(json!({
        "recipient_id": to,
        "message_id": format!("aWdfZAG1faXRlbToxOklHTWVzc2FnZAU{:06}", state.counter),
    }))
}

fn ok(value: Value) -> Response {
    axum::Json(value).into_response()
}

fn error(scripted: &Scripted) -> Response {
    let status = StatusCode::from_u16(scripted.http_status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({ "error": {
        "message": scripted.message, "type": "OAuthException", "code": scripted.code,
        "error_subcode": scripted.subcode, "fbtrace_id": "AbCdEfGhIjK"
    }});
    (status, axum::Json(body)).into_response()
}

fn token(headers: &HeaderMap, query: &str) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    bearer.or_else(|| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("access_token="))
            .map(str::to_owned)
    })
}
