use serde_json::{Value, json};

use super::*;

async fn call(standin: &StandIn, path: &str, token: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{}{path}", standin.base_url()))
        .header("X-Viber-Auth-Token", token)
        .json(&body)
        .send()
        .await
        .expect("the stand-in answers")
        .json()
        .await
        .expect("viber answers json")
}

fn text(receiver: &str) -> Value {
    json!({
        "receiver": receiver,
        "min_api_version": 1,
        "sender": { "name": "Acme Support" },
        "type": "text",
        "text": "Hello! How can we help?",
    })
}

#[tokio::test]
async fn send_message_answers_a_token_and_records_it() {
    let viber = StandIn::start().await;
    let first = call(&viber, "/pa/send_message", "tok", text("01234567890A=")).await;
    let second = call(&viber, "/pa/send_message", "tok", text("01234567890A=")).await;
    assert_eq!(first["status"], 0);
    assert!(first["message_token"].as_u64().is_some());
    assert_ne!(first["message_token"], second["message_token"]);
    let sent = viber.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].auth_token.as_deref(), Some("tok"));
    assert_eq!(sent[0].body["text"], "Hello! How can we help?");
}

#[tokio::test]
async fn refusals_are_status_codes_with_http_200() {
    let viber = StandIn::start().await;
    viber.only_token("good");
    let bad_token = call(&viber, "/pa/send_message", "bad", text("u")).await;
    assert_eq!(bad_token["status"], 2);
    viber.unsubscribe("gone=");
    assert_eq!(
        call(&viber, "/pa/send_message", "good", text("gone=")).await["status"],
        6
    );
    let mut nameless = text("u");
    nameless["sender"]["name"] = json!("");
    assert_eq!(
        call(&viber, "/pa/send_message", "good", nameless).await["status"],
        3
    );
    viber.script(Scripted::too_many_requests());
    assert_eq!(
        call(&viber, "/pa/send_message", "good", text("u")).await["status"],
        12
    );
    assert!(
        viber.sent().is_empty(),
        "nothing refused reached a customer"
    );
    assert_eq!(viber.send_attempts().len(), 4);
}

#[tokio::test]
async fn account_info_names_the_bot() {
    let viber = StandIn::start().await;
    let info = call(&viber, "/pa/get_account_info", "tok", json!({})).await;
    assert_eq!(
        (info["status"].clone(), info["name"].clone()),
        (json!(0), json!(BOT_NAME))
    );
}

#[tokio::test]
async fn set_webhook_refuses_a_url_that_does_not_answer() {
    let viber = StandIn::start().await;
    let unreachable = json!({ "url": "http://127.0.0.1:9/webhooks/viber/ch_1" });
    let answer = call(&viber, "/pa/set_webhook", "tok", unreachable).await;
    assert_eq!(answer["status"], 1);
    assert_eq!(viber.webhook(), None);
}

#[test]
fn callbacks_are_signed_over_the_exact_body() {
    let (body, signature) = callbacks::signed("tok", &callbacks::webhook(1));
    assert_eq!(signature, callbacks::sign("tok", &body));
    assert_ne!(signature, callbacks::sign("other", &body));
    assert_eq!(callbacks::all_kinds().len(), 15);
}
