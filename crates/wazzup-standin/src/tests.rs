use serde_json::json;

use super::*;

async fn call(
    stand_in: &StandIn,
    method: reqwest::Method,
    path: &str,
    key: &str,
    body: Value,
) -> reqwest::Response {
    reqwest::Client::new()
        .request(method, format!("{}{path}", stand_in.base_url()))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn lists_channels_sends_once_per_crm_id_and_refuses_bad_keys() {
    let wazzup = StandIn::start().await;
    let list = call(
        &wazzup,
        reqwest::Method::GET,
        "/v3/channels",
        API_KEY,
        Value::Null,
    )
    .await;
    let list: Value = list.json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert_eq!(list[0]["transport"], "whatsapp");

    let message = json!({ "channelId": webhook::CHANNEL_ID, "chatType": "whatsapp",
        "chatId": webhook::CHAT_ID, "text": "Hi", "crmMessageId": "msg_1" });
    let sent = call(
        &wazzup,
        reqwest::Method::POST,
        "/v3/message",
        API_KEY,
        message.clone(),
    )
    .await;
    assert_eq!(sent.status(), 201);
    let sent: Value = sent.json().await.unwrap();
    assert!(sent["messageId"].as_str().is_some());
    let again = call(
        &wazzup,
        reqwest::Method::POST,
        "/v3/message",
        API_KEY,
        message.clone(),
    )
    .await;
    assert_eq!(again.status(), 400);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["error"], "repeatedCrmMessageId");

    let both = json!({ "channelId": webhook::CHANNEL_ID, "chatType": "whatsapp",
        "chatId": webhook::CHAT_ID, "text": "x", "contentUri": "https://x/y.jpg" });
    let both = call(&wazzup, reqwest::Method::POST, "/v3/message", API_KEY, both).await;
    assert_eq!(both.status(), 400);

    wazzup.script(Scripted::rate_limited());
    let mut next = message.clone();
    next["crmMessageId"] = json!("msg_2");
    let throttled = call(&wazzup, reqwest::Method::POST, "/v3/message", API_KEY, next).await;
    assert_eq!(throttled.status(), 429);
    let wrong = call(
        &wazzup,
        reqwest::Method::GET,
        "/v3/channels",
        "nope",
        Value::Null,
    )
    .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(wazzup.sent().len(), 1);
}

#[test]
fn every_sample_names_its_channel_and_message() {
    for kind in webhook::MESSAGE_KINDS {
        let message = webhook::sample(kind, "id-1");
        assert_eq!(message["channelId"], webhook::CHANNEL_ID, "{kind}");
        assert_eq!(message["messageId"], "id-1", "{kind}");
    }
}
