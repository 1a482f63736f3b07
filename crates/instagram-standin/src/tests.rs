use serde_json::json;

use super::*;

async fn post(
    stand_in: &StandIn,
    path: &str,
    token: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{path}", stand_in.base_url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn sends_replies_and_scripted_errors_speak_graph() {
    let graph = StandIn::start().await;
    let direct = json!({ "recipient": { "id": "6543210987654321" }, "message": { "text": "Hi" } });
    let answer = post(&graph, "/v21.0/me/messages", "IGAA-token", direct.clone()).await;
    assert_eq!(answer.status(), 200);
    let answer: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(answer["recipient_id"], "6543210987654321");
    assert!(answer["message_id"].as_str().is_some_and(|m| !m.is_empty()));

    let reply = post(
        &graph,
        "/v21.0/17865799348089039/replies",
        "IGAA-token",
        json!({ "message": "Thanks!" }),
    )
    .await;
    let reply: serde_json::Value = reply.json().await.unwrap();
    assert!(reply["id"].as_str().is_some());

    graph.script(Scripted::outside_window());
    let refused = post(&graph, "/v21.0/me/messages", "IGAA-token", direct.clone()).await;
    assert_eq!(refused.status(), 400);
    let refused: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(refused["error"]["error_subcode"], 2_018_278);

    graph.only_token("good");
    let wrong = post(&graph, "/v21.0/me/messages", "bad", direct).await;
    let wrong: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(wrong["error"]["code"], 190);
    assert_eq!(graph.sent().len(), 2, "only accepted sends count");
}

#[test]
fn every_sample_is_a_messaging_event() {
    for kind in webhook::DIRECT_KINDS {
        let event = webhook::sample(kind, "m_1");
        assert!(event["sender"]["id"].is_string(), "{kind}");
        let body = serde_json::to_vec(&webhook::messaging(vec![event])).unwrap();
        assert!(webhook::sign("s", &body).starts_with("sha256="));
    }
}
