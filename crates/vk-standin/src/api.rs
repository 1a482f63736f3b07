//! The HTTP side: `/method/<name>` in, VK's JSON out. VK answers errors
//! with HTTP 200 and an `error` object, and so does this.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::any;
use axum::{Router, body::Bytes};
use serde_json::{Value, json};

use crate::{GROUP_ID, GROUP_NAME, Recorded, Shared};

/// VK's limit on `message`.
const MAX_TEXT_CHARS: usize = 9000;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/method/{name}", any(handle))
        .with_state(shared)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let mut params: BTreeMap<String, String> =
        serde_urlencoded_pairs(query.as_deref().unwrap_or_default().as_bytes());
    params.extend(serde_urlencoded_pairs(&body));
    let call = Recorded {
        method: method.clone(),
        params,
    };
    shared.lock().requests.push(call.clone());
    let token = call.param("access_token").to_owned();
    let token_ok = !token.is_empty()
        && shared
            .lock()
            .only_token
            .as_deref()
            .is_none_or(|t| t == token);
    if !token_ok {
        return error(
            &call,
            5,
            "User authorization failed: invalid access_token (4).",
        );
    }
    if call.param("v").is_empty() {
        return error(&call, 8, "Invalid request: v (version) is required");
    }
    match method.as_str() {
        "groups.getById" => Json(json!({ "response": { "groups": [{
            "id": GROUP_ID, "name": GROUP_NAME, "screen_name": "acmestore",
            "is_closed": 0, "type": "group",
        }], "profiles": [] } }))
        .into_response(),
        "messages.send" | "wall.createComment" | "market.createComment" => send(&shared, call),
        _ => error(&call, 3, "Unknown method passed"),
    }
}

fn send(shared: &Shared, call: Recorded) -> Response {
    if let Some((code, message)) = shared.lock().scripts.pop_front() {
        return error(&call, code, &message);
    }
    let text = call.param("message");
    if text.chars().count() > MAX_TEXT_CHARS {
        return error(&call, 914, "Message is too long");
    }
    if text.is_empty()
        && call.param("attachment").is_empty()
        && call.param("attachments").is_empty()
        && call.param("sticker_id").is_empty()
        && call.param("lat").is_empty()
    {
        return error(
            &call,
            100,
            "One of the parameters specified was missing or invalid: message is empty",
        );
    }
    let mut inner = shared.lock();
    if call.method == "messages.send" && inner.denied.contains(call.param("peer_id")) {
        drop(inner);
        return error(
            &call,
            901,
            "Can't send messages for users without permission",
        );
    }
    let key = match call.method.as_str() {
        "messages.send" => call.param("random_id"),
        _ => call.param("guid"),
    };
    let dedupe = (!key.is_empty() && key != "0").then(|| {
        (
            format!("{}:{}", call.param("peer_id"), call.param("post_id")),
            key.to_owned(),
        )
    });
    if let Some(id) = dedupe.as_ref().and_then(|k| inner.random_ids.get(k)) {
        let id = *id;
        drop(inner);
        return created(&call.method, id);
    }
    inner.last_id += 1;
    let id = 4800 + inner.last_id;
    if let Some(key) = dedupe {
        inner.random_ids.insert(key, id);
    }
    inner.sent.push(call.clone());
    drop(inner);
    created(&call.method, id)
}

fn created(method: &str, id: i64) -> Response {
    let response = match method {
        "wall.createComment" => json!({ "comment_id": id, "parents_stack": [] }),
        _ => json!(id),
    };
    Json(json!({ "response": response })).into_response()
}

fn error(call: &Recorded, code: i64, message: &str) -> Response {
    let request_params: Vec<Value> = call
        .params
        .iter()
        .filter(|(k, _)| k.as_str() != "access_token")
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .chain([json!({ "key": "method", "value": call.method })])
        .collect();
    Json(json!({ "error": {
        "error_code": code,
        "error_msg": message,
        "request_params": request_params,
    }}))
    .into_response()
}

fn serde_urlencoded_pairs(bytes: &[u8]) -> BTreeMap<String, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes)
        .unwrap_or_default()
        .into_iter()
        .collect()
}
