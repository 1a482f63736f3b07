//! The event of any accepted webhook (≤ 1 MiB) fits NATS's `max_payload` as
//! deployed; an event the stream still cannot take answers 413 (a retry
//! cannot help), never 503 (which the provider retries forever).

use omnibus_tests::{Sandbox, SandboxOptions, telegram};
use serde_json::json;

const SECRET: &str = "payload-secret";

/// A private-chat update whose sender's name is `name_len` bytes long and
/// whose text is `text_len` bytes long. The name is in the body once but in
/// the event twice (the contact's name and the message's author), so the
/// event is larger than the body.
fn update(update_id: i64, name_len: usize, text_len: usize) -> String {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": omnibus_core::now_ms() / 1000,
            "chat": {"id": 4242, "type": "private"},
            "from": {"id": 4242, "is_bot": false, "first_name": "n".repeat(name_len)},
            "text": "t".repeat(text_len),
        }
    })
    .to_string()
}

#[tokio::test]
async fn a_webhook_under_1_mib_whose_event_is_larger_is_stored() {
    let sandbox = Sandbox::start().await;
    let channel = sandbox.telegram_channel(SECRET).await;
    let client = reqwest::Client::new();
    let body = update(1, 450 * 1024, 300 * 1024);
    assert!(body.len() < 1024 * 1024, "{}", body.len());
    let before = sandbox.stream_messages().await;
    let status = telegram::post(
        &client,
        &sandbox.http_url(),
        &channel.id,
        Some(SECRET),
        body,
    )
    .await;
    assert_eq!(
        status, 200,
        "a body within the limit is stored, whatever its event's size"
    );
    assert!(sandbox.stream_messages().await > before);
}

#[tokio::test]
async fn an_event_larger_than_the_stream_takes_answers_413() {
    let sandbox = Sandbox::start_with(SandboxOptions {
        nats_max_payload: Some(64 * 1024),
        ..Default::default()
    })
    .await;
    let channel = sandbox.telegram_channel(SECRET).await;
    let client = reqwest::Client::new();
    let before = sandbox.stream_messages().await;
    let body = update(1, 10, 100 * 1024);
    let status = telegram::post(
        &client,
        &sandbox.http_url(),
        &channel.id,
        Some(SECRET),
        body,
    )
    .await;
    assert_eq!(status, 413, "not 503: retrying cannot make it fit");
    assert_eq!(sandbox.stream_messages().await, before, "nothing stored");
    // A small one still goes through.
    let small = update(2, 10, 1024);
    let status = telegram::post(
        &client,
        &sandbox.http_url(),
        &channel.id,
        Some(SECRET),
        small,
    )
    .await;
    assert_eq!(status, 200);
}
