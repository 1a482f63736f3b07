//! Tests of the stand-in: most go through the router without a socket; one
//! checks the real server's lifecycle.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;
use crate::state::Shared;

const TOKEN: &str = "123456:TEST-token";

/// Calls the router in-process and returns the status and JSON answer.
async fn call_raw(
    shared: &Arc<Shared>,
    path: &str,
    content_type: &str,
    body: &str,
) -> (StatusCode, Value) {
    let request = Request::post(path)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_owned()))
        .expect("valid request");
    let response = api::router(shared.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let json = serde_json::from_slice(&bytes).expect("json answer");
    (status, json)
}

async fn call(shared: &Arc<Shared>, method: &str, body: Value) -> (StatusCode, Value) {
    let path = format!("/bot{TOKEN}/{method}");
    call_raw(shared, &path, "application/json", &body.to_string()).await
}

fn new_state() -> Arc<Shared> {
    Arc::new(Shared::default())
}

#[tokio::test]
async fn get_me_returns_the_support_bot() {
    let shared = new_state();
    let (status, answer) = call(&shared, "getMe", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answer,
        json!({"ok": true, "result": {"id": 7000000001_i64, "is_bot": true,
               "first_name": "SupportBot", "username": "acme_support_bot"}})
    );
}

#[tokio::test]
async fn send_message_answers_with_increasing_ids_and_is_recorded() {
    let shared = new_state();
    let body =
        json!({"chat_id": 100200300, "text": "Hello!", "reply_parameters": {"message_id": 2}});
    let (status, first) = call(&shared, "sendMessage", body.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["ok"], true);
    let result = &first["result"];
    assert_eq!(result["chat"], json!({"id": 100200300, "type": "private"}));
    assert_eq!(result["text"], "Hello!");
    assert_eq!(result["from"]["username"], "acme_support_bot");
    assert_eq!(result["reply_to_message"]["message_id"], 2);
    assert!(result["date"].as_u64().is_some_and(|d| d > 1_600_000_000));

    let (_, second) = call(&shared, "sendMessage", body.clone()).await;
    let ids = (
        first["result"]["message_id"].as_i64(),
        second["result"]["message_id"].as_i64(),
    );
    assert!(matches!(ids, (Some(a), Some(b)) if b > a), "{ids:?}");

    let sent = shared.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        (sent[0].method.as_str(), sent[0].token.as_str()),
        ("sendMessage", TOKEN)
    );
    assert_eq!(sent[0].body, body);
    assert!(sent[0].at <= sent[1].at);
}

#[tokio::test]
async fn photo_and_document_answer_with_media_and_caption() {
    let shared = new_state();
    let photo =
        json!({"chat_id": "-1001234567890", "photo": "https://x.test/a.png", "caption": "see"});
    let (status, answer) = call(&shared, "sendPhoto", photo).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["result"]["caption"], "see");
    assert_eq!(answer["result"]["chat"]["type"], "supergroup");
    assert!(answer["result"]["photo"][0]["file_id"].is_string());

    let document = json!({"chat_id": -42, "document": "https://x.test/files/invoice.pdf"});
    let (status, answer) = call(&shared, "sendDocument", document).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["result"]["document"]["file_name"], "invoice.pdf");
    assert_eq!(answer["result"]["chat"]["type"], "group");
    let methods: Vec<String> = shared.sent().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["sendPhoto", "sendDocument"]);
}

#[tokio::test]
async fn form_bodies_are_accepted() {
    let shared = new_state();
    let form = "chat_id=100200300&text=Hi+there&reply_parameters=%7B%22message_id%22%3A5%7D";
    let path = format!("/bot{TOKEN}/sendMessage");
    let (status, answer) =
        call_raw(&shared, &path, "application/x-www-form-urlencoded", form).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["result"]["text"], "Hi there");
    let recorded = &shared.sent()[0].body;
    assert_eq!(recorded["chat_id"], "100200300");
    assert_eq!(recorded["reply_parameters"], json!({"message_id": 5}));
}

#[tokio::test]
async fn invalid_sends_get_telegrams_400s_and_are_not_sent() {
    let shared = new_state();
    let cases = [
        (
            "sendMessage",
            json!({"chat_id": 1, "text": ""}),
            "Bad Request: message text is empty",
        ),
        (
            "sendMessage",
            json!({"text": "hi"}),
            "Bad Request: chat_id is empty",
        ),
        (
            "sendMessage",
            json!({"chat_id": "@nobody", "text": "hi"}),
            "Bad Request: chat not found",
        ),
        (
            "sendMessage",
            json!({"chat_id": 1, "text": "x".repeat(4097)}),
            "Bad Request: message is too long",
        ),
        (
            "sendPhoto",
            json!({"chat_id": 1}),
            "Bad Request: there is no photo in the request",
        ),
        (
            "sendDocument",
            json!({"chat_id": 1}),
            "Bad Request: there is no document in the request",
        ),
    ];
    for (method, body, description) in cases {
        let (status, answer) = call(&shared, method, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            answer,
            json!({"ok": false, "error_code": 400, "description": description})
        );
    }
    assert!(shared.sent().is_empty());
    assert_eq!(shared.requests().len(), 6);
}

#[tokio::test]
async fn scripted_replies_are_served_in_order_then_success_returns() {
    let shared = new_state();
    shared.script("sendMessage", Scripted::Blocked);
    shared.script("sendMessage", Scripted::TooManyRequests { retry_after: 3 });
    shared.script("sendMessage", Scripted::ServerError);
    shared.script(
        "sendMessage",
        Scripted::BadRequest("Bad Request: chat not found".into()),
    );
    shared.script("sendMessage", Scripted::Ok);
    let body = json!({"chat_id": 1, "text": "hi"});
    let expected = [
        (
            403,
            json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
        ),
        (
            429,
            json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 3",
                     "parameters": {"retry_after": 3}}),
        ),
        (
            500,
            json!({"ok": false, "error_code": 500, "description": "Internal Server Error"}),
        ),
        (
            400,
            json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"}),
        ),
    ];
    for (status, answer) in expected {
        let (got_status, got) = call(&shared, "sendMessage", body.clone()).await;
        assert_eq!((got_status.as_u16(), got), (status, answer));
    }
    for _ in 0..2 {
        let (status, _) = call(&shared, "sendMessage", body.clone()).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(shared.sent().len(), 2);
    assert_eq!(shared.requests().len(), 6);
}

#[tokio::test]
async fn scripts_are_per_method() {
    let shared = new_state();
    shared.script("sendPhoto", Scripted::ServerError);
    let (status, _) = call(&shared, "sendMessage", json!({"chat_id": 1, "text": "hi"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&shared, "getMe", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let photo = json!({"chat_id": 1, "photo": "https://x.test/a.png"});
    let (status, _) = call(&shared, "sendPhoto", photo).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn only_token_refuses_every_other_token() {
    let shared = new_state();
    shared.only_token("999:right");
    let (status, answer) = call(&shared, "getMe", json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer,
        json!({"ok": false, "error_code": 401, "description": "Unauthorized"})
    );
    let (status, _) = call_raw(&shared, "/bot999:right/getMe", "application/json", "").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_methods_and_paths_are_not_found() {
    let shared = new_state();
    let (status, answer) = call(&shared, "sendTelepathy", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        answer,
        json!({"ok": false, "error_code": 404, "description": "Not Found: method not found"})
    );
    let (status, _) = call_raw(&shared, "/favicon.ico", "text/plain", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn set_webhook_records_the_url_and_secret() {
    let shared = new_state();
    let body = json!({"url": "https://omnibus.test/webhooks/telegram/ch_1",
                      "secret_token": "s3cr3t-Value_42",
                      "allowed_updates": ["message", "edited_message", "callback_query"]});
    let (status, answer) = call(&shared, "setWebhook", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answer,
        json!({"ok": true, "result": true, "description": "Webhook was set"})
    );
    let webhook = shared.webhook(TOKEN).expect("webhook");
    assert_eq!(webhook.url, "https://omnibus.test/webhooks/telegram/ch_1");
    assert_eq!(webhook.secret_token.as_deref(), Some("s3cr3t-Value_42"));
    assert_eq!(
        webhook.allowed_updates,
        ["message", "edited_message", "callback_query"]
    );

    let (_, info) = call(&shared, "getWebhookInfo", json!({})).await;
    assert_eq!(
        info["result"]["url"],
        "https://omnibus.test/webhooks/telegram/ch_1"
    );
    assert_eq!(info["result"]["max_connections"], 40);
    assert_eq!(
        info["result"]["allowed_updates"],
        json!(["message", "edited_message", "callback_query"])
    );
    call(&shared, "deleteWebhook", json!({})).await;
    assert_eq!(shared.webhook(TOKEN), None);
    let (_, info) = call(&shared, "getWebhookInfo", json!({})).await;
    assert_eq!(
        info["result"],
        json!({"url": "", "has_custom_certificate": false, "pending_update_count": 0})
    );
}

#[tokio::test]
async fn answer_callback_query_needs_a_query_id() {
    let shared = new_state();
    let (status, answer) = call(
        &shared,
        "answerCallbackQuery",
        json!({"callback_query_id": "4382bfdwdsb323b2d9"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer, json!({"ok": true, "result": true}));
    let (status, answer) = call(&shared, "answerCallbackQuery", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error_code"], 400);
}

#[tokio::test]
async fn unreadable_bodies_are_bad_requests_but_still_recorded() {
    let shared = new_state();
    let path = format!("/bot{TOKEN}/sendMessage");
    let (status, answer) = call_raw(&shared, &path, "application/json", "{oops").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error_code"], 400);
    assert_eq!(shared.requests()[0].body, json!("{oops"));
}

#[tokio::test]
async fn server_answers_on_its_base_url_and_stops_on_drop() {
    let telegram = StandIn::start().await;
    let base_url = telegram.base_url();
    let http = reqwest::Client::new();
    let answer: Value = http
        .post(format!("{base_url}/bot{TOKEN}/getMe"))
        .json(&json!({}))
        .send()
        .await
        .expect("stand-in answers")
        .json()
        .await
        .expect("json");
    assert_eq!(answer["result"]["id"], BOT_ID);
    assert_eq!(telegram.requests().len(), 1);
    drop(telegram);

    // The listener closes once the server task sees the shutdown; poll.
    let fresh = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let refused = fresh
            .get(format!("{base_url}/bot{TOKEN}/getMe"))
            .send()
            .await
            .is_err();
        if refused {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "stand-in still answers after drop"
        );
        tokio::task::yield_now().await;
    }
}
