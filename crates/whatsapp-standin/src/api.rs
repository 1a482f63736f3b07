//! The HTTP side: Graph paths in, Graph's JSON out (providers.md §1.6).

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::state::Shared;
use crate::{DISPLAY_PHONE_NUMBER, Recorded, Scripted, VERIFIED_NAME};

/// The Cloud API's limit on `text.body`.
const MAX_TEXT_CHARS: usize = 4096;

/// Every path goes to one handler that dispatches on the path's shape, as
/// Graph paths are ids rather than fixed routes.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = Recorded {
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        at: Instant::now(),
    };
    shared.record(call.clone());
    let Some(token) = bearer(call.authorization.as_deref()) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            2500,
            "An active access token must be used to query information about the current user.",
            "OAuthException",
            "",
        );
    };
    if !shared.token_allowed(token) {
        let scripted = Scripted::expired_token();
        return scripted_error(&scripted)
            .unwrap_or_else(|| StatusCode::UNAUTHORIZED.into_response());
    }
    let path = call.path.clone();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (Method::POST, [_version, phone_number_id, "messages"]) => {
            send(&shared, phone_number_id, call).await
        }
        (Method::GET, [_version, _waba, "message_templates"]) => {
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("graph.facebook.com");
            templates(&shared, &call, &format!("http://{host}"))
        }
        (Method::GET, ["media-cdn", media_id]) => shared.media.download(media_id),
        (Method::GET, [_version, id]) if shared.media.describe(id).is_some() => {
            media(&shared, id, &headers)
        }
        (Method::GET, [_version, phone_number_id]) => phone_number(phone_number_id),
        _ => graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "Unsupported request - method type: get",
            "GraphMethodException",
            "",
        ),
    }
}

fn bearer(authorization: Option<&str>) -> Option<&str> {
    authorization?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

// === POST /{version}/{phone_number_id}/messages ===

async fn send(shared: &Shared, phone_number_id: &str, call: Recorded) -> Response {
    match shared.next_script() {
        Some(Scripted::Delay(wait)) => tokio::time::sleep(wait).await,
        Some(scripted @ Scripted::Error { .. }) => {
            return scripted_error(&scripted).unwrap_or_else(|| StatusCode::OK.into_response());
        }
        Some(Scripted::Ok) | None => {}
    }
    if let Err(problem) = validate(&call.body) {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) Invalid parameter",
            "OAuthException",
            &problem,
        );
    }
    let to = call.body["to"].as_str().unwrap_or_default().to_owned();
    let wamid = shared.next_wamid();
    tracing::debug!(phone_number_id, to, "whatsapp stand-in accepted a message");
    // Graph names the recipient the way the request did: `wa_id` for a
    // phone number, `user_id` for a business-scoped user id, the group's id.
    let contact = match (to.as_str(), call.body["recipient"].as_str()) {
        ("", Some(user_id)) => json!({ "input": user_id, "user_id": user_id }),
        _ if call.body["recipient_type"] == "group" => json!({ "input": to }),
        _ => json!({ "input": to, "wa_id": to.trim_start_matches('+') }),
    };
    let mut answer = json!({
        "messaging_product": "whatsapp",
        "contacts": [contact],
        "messages": [{ "id": wamid }],
    });
    if call.body["type"] == "template" {
        answer["messages"][0]["message_status"] = json!("accepted");
    }
    shared.record_sent(call);
    (StatusCode::OK, axum::Json(answer)).into_response()
}

/// What Graph checks before accepting a message, in its words.
fn validate(body: &Value) -> Result<(), String> {
    if body["messaging_product"] != "whatsapp" {
        return Err("The parameter messaging_product is required.".into());
    }
    validate_recipient(body)?;
    let kind = body["type"].as_str().unwrap_or("text");
    let Some(content) = body.get(kind).filter(|c| c.is_object() || c.is_array()) else {
        return Err(format!("The parameter {kind} is required."));
    };
    let missing = |field: &Value| field.as_str().is_none_or(str::is_empty);
    let refusal = match kind {
        "text" => {
            let text = content["body"].as_str().unwrap_or_default();
            (text.is_empty() || text.chars().count() > MAX_TEXT_CHARS)
                .then(|| "Param text['body'] must be 1 to 4096 characters.".to_owned())
        }
        "image" | "video" | "audio" | "document" | "sticker" => (missing(&content["link"])
            && missing(&content["id"]))
        .then(|| format!("Param {kind}['link'] or {kind}['id'] is required.")),
        "template" => {
            (missing(&content["name"]) || missing(&content["language"]["code"])).then(|| {
                "Param template['name'] and template['language']['code'] are required.".to_owned()
            })
        }
        _ => None,
    };
    if let Some(refusal) = refusal {
        return Err(refusal);
    }
    Ok(())
}

/// `to` a phone number; or, without `to`, `recipient` a business-scoped
/// user id (`US.1349…`); or `recipient_type: group` and `to` a group id.
fn validate_recipient(body: &Value) -> Result<(), String> {
    let to = body["to"].as_str().unwrap_or_default();
    if body["recipient_type"] == "group" {
        return if to.is_empty() {
            Err("The parameter to is required and must be a group id.".into())
        } else {
            Ok(())
        };
    }
    if to.is_empty()
        && let Some(user_id) = body["recipient"].as_str()
    {
        return if is_user_id(user_id) {
            Ok(())
        } else {
            Err("The parameter recipient must be a business-scoped user id.".into())
        };
    }
    let digits = to.trim_start_matches('+');
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("The parameter to is required and must be a phone number.".into());
    }
    Ok(())
}

/// A business-scoped user id: a two-letter country code, a dot, and
/// letters, digits and dots (`US.13491208655302741918`, `US.ENT.1181…`).
fn is_user_id(id: &str) -> bool {
    let Some((country, rest)) = id.split_once('.') else {
        return false;
    };
    country.len() == 2
        && country.bytes().all(|b| b.is_ascii_uppercase())
        && !rest.is_empty()
        && rest.len() <= 140
        && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
}

fn scripted_error(scripted: &Scripted) -> Option<Response> {
    let Scripted::Error {
        http_status,
        code,
        message,
        details,
    } = scripted
    else {
        return None;
    };
    let status = StatusCode::from_u16(*http_status).unwrap_or(StatusCode::BAD_REQUEST);
    Some(graph_error(
        status,
        *code,
        message,
        "OAuthException",
        details,
    ))
}

/// Graph's error envelope (providers.md §1.6).
fn graph_error(
    status: StatusCode,
    code: i64,
    message: &str,
    kind: &str,
    details: &str,
) -> Response {
    let mut error = json!({
        "message": message,
        "type": kind,
        "code": code,
        "fbtrace_id": "AE9jPfwk6-lgxrhmyNUuovy",
    });
    if !details.is_empty() {
        error["error_data"] = json!({ "messaging_product": "whatsapp", "details": details });
    }
    (status, axum::Json(json!({ "error": error }))).into_response()
}

// === GET /{version}/{phone_number_id} ===

/// A media object, as Graph describes one: its URL (valid for minutes on
/// Meta's side), type, size and hash.
fn media(shared: &Shared, media_id: &str, headers: &HeaderMap) -> Response {
    let (size, mime_type) = shared.media.describe(media_id).unwrap_or_default();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("lookaside.fbsbx.com");
    let body = json!({
        "messaging_product": "whatsapp",
        "url": format!("http://{host}/media-cdn/{media_id}"),
        "mime_type": mime_type,
        "sha256": "0".repeat(64),
        "file_size": size,
        "id": media_id,
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn phone_number(phone_number_id: &str) -> Response {
    if phone_number_id.is_empty() || !phone_number_id.bytes().all(|b| b.is_ascii_digit()) {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            &format!(
                "Unsupported get request. Object with ID '{phone_number_id}' does not exist, \
                 cannot be loaded due to missing permissions, or does not support this operation."
            ),
            "GraphMethodException",
            "",
        );
    }
    let body = json!({
        "verified_name": VERIFIED_NAME,
        "code_verification_status": "VERIFIED",
        "display_phone_number": DISPLAY_PHONE_NUMBER,
        "quality_rating": "GREEN",
        "id": phone_number_id,
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

// === GET /{version}/{business_account_id}/message_templates ===

fn templates(shared: &Shared, call: &Recorded, base: &str) -> Response {
    let query = parse_query(&call.query);
    let limit = query
        .iter()
        .find(|(k, _)| k == "limit")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(usize::MAX);
    let offset = query
        .iter()
        .find(|(k, _)| k == "after")
        .and_then(|(_, v)| decode_cursor(v))
        .unwrap_or(0);
    let (data, more) = shared.templates_page(offset, limit);
    let end = offset + data.len();
    let mut paging = json!({
        "cursors": { "before": encode_cursor(offset), "after": encode_cursor(end) }
    });
    if more {
        paging["next"] = json!(format!(
            "{base}{}?limit={}&after={}",
            call.path,
            if limit == usize::MAX { 25 } else { limit },
            encode_cursor(end)
        ));
    }
    let body = json!({ "data": data, "paging": paging });
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// Opaque-looking cursors, as Graph's are (`QVFI…`).
fn encode_cursor(offset: usize) -> String {
    format!("QVFIU{offset:08x}")
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    usize::from_str_radix(cursor.strip_prefix("QVFIU")?, 16).ok()
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}
