//! The stand-in answers like Graph: sends, errors, the number, template pages.

use serde_json::{Value, json};

use crate::webhook::{self, Customer, MESSAGE_KINDS};
use crate::{Scripted, StandIn, VERIFIED_NAME};

const TOKEN: &str = "EAAGm0PX4ZCpsBAKjZBc";

async fn post(graph: &StandIn, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!(
            "{}/v21.0/106540352242922/messages",
            graph.base_url()
        ))
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json answer"))
}

async fn get(graph: &StandIn, path_and_query: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}{path_and_query}", graph.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json answer"))
}

fn text_body() -> Value {
    json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234",
           "type": "text", "text": {"preview_url": false, "body": "Hi"}})
}

#[tokio::test]
async fn a_text_is_accepted_with_a_wamid_and_recorded() {
    let graph = StandIn::start().await;
    let (status, answer) = post(&graph, Some(TOKEN), text_body()).await;
    assert_eq!(status, 200);
    assert_eq!(answer["messaging_product"], "whatsapp");
    assert_eq!(answer["contacts"][0]["wa_id"], "16505551234");
    assert!(
        answer["messages"][0]["id"]
            .as_str()
            .unwrap()
            .starts_with("wamid.")
    );
    let sent = graph.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].phone_number_id(), Some("106540352242922"));
    assert_eq!(
        sent[0].authorization.as_deref(),
        Some("Bearer EAAGm0PX4ZCpsBAKjZBc")
    );
    assert_eq!(sent[0].body["text"]["body"], "Hi");
}

#[tokio::test]
async fn scripted_errors_come_in_graphs_envelope_then_sends_work_again() {
    let graph = StandIn::start().await;
    graph.script(Scripted::re_engagement());
    graph.script(Scripted::expired_token());
    let (status, answer) = post(&graph, Some(TOKEN), text_body()).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["code"], 131047);
    assert!(
        answer["error"]["error_data"]["details"]
            .as_str()
            .unwrap()
            .contains("24 hours")
    );
    assert!(answer["error"]["fbtrace_id"].is_string());
    let (status, answer) = post(&graph, Some(TOKEN), text_body()).await;
    assert_eq!(status, 401);
    assert_eq!(answer["error"]["code"], 190);
    let (status, _) = post(&graph, Some(TOKEN), text_body()).await;
    assert_eq!(status, 200);
    assert_eq!(graph.sent().len(), 1);
    assert_eq!(graph.send_attempts().len(), 3);
}

#[tokio::test]
async fn tokens_are_checked() {
    let graph = StandIn::start().await;
    let (status, _) = post(&graph, None, text_body()).await;
    assert_eq!(status, 400, "no token at all");
    graph.only_token(TOKEN);
    let (status, answer) = post(&graph, Some("EAA-other"), text_body()).await;
    assert_eq!((status, answer["error"]["code"].as_i64()), (401, Some(190)));
    let (status, _) = post(&graph, Some(TOKEN), text_body()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn bad_messages_are_refused_like_graph() {
    let graph = StandIn::start().await;
    let mut body = text_body();
    body["to"] = json!("not a number");
    let (status, answer) = post(&graph, Some(TOKEN), body).await;
    assert_eq!((status, answer["error"]["code"].as_i64()), (400, Some(100)));
    assert!(graph.sent().is_empty());
}

#[tokio::test]
async fn the_phone_number_answers_its_verified_name() {
    let graph = StandIn::start().await;
    let (status, answer) = get(&graph, "/v21.0/106540352242922").await;
    assert_eq!(status, 200);
    assert_eq!(answer["verified_name"], VERIFIED_NAME);
    assert_eq!(answer["id"], "106540352242922");
}

#[tokio::test]
async fn templates_come_in_pages_with_cursors() {
    let graph = StandIn::start().await;
    graph.set_templates(
        (1..=3)
            .map(|i| {
                json!({"name": format!("t{i}"), "language": "en_US", "status": "APPROVED",
                            "category": "UTILITY", "id": i.to_string(),
                            "components": [{"type": "BODY", "text": "Hi {{1}}"}]})
            })
            .collect(),
    );
    graph.set_page_size(2);
    let (_, first) = get(&graph, "/v21.0/102290129340398/message_templates?limit=100").await;
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    let next = first["paging"]["next"].as_str().expect("a next page");
    assert!(next.starts_with(&graph.base_url()), "{next}");
    let after = first["paging"]["cursors"]["after"].as_str().unwrap();
    let (_, second) = get(
        &graph,
        &format!("/v21.0/102290129340398/message_templates?limit=100&after={after}"),
    )
    .await;
    assert_eq!(second["data"][0]["name"], "t3");
    assert!(second["paging"].get("next").is_none(), "last page");
}

#[test]
fn signatures_are_hmac_sha256_of_the_body() {
    // RFC 4231 test case 2.
    let signature = webhook::sign("Jefe", b"what do ya want for nothing?");
    assert_eq!(
        signature,
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn every_sample_kind_builds_a_message() {
    let customer = Customer::default();
    for kind in MESSAGE_KINDS {
        let message = webhook::sample(kind, &customer.wa_id, "wamid.X", 1_749_416_383)
            .unwrap_or_else(|| panic!("{kind}"));
        let payload = webhook::messages(webhook::PHONE_NUMBER_ID, &customer, vec![message]);
        let value = &payload["entry"][0]["changes"][0]["value"];
        assert_eq!(value["messages"][0]["id"], "wamid.X", "{kind}");
        assert_eq!(value["contacts"][0]["wa_id"], "16505551234");
    }
    assert!(webhook::sample("hologram", "1", "w", 0).is_none());
}

#[tokio::test]
async fn user_ids_go_in_recipient_and_groups_by_recipient_type() {
    let graph = StandIn::start().await;
    let to_user = json!({"messaging_product": "whatsapp", "recipient_type": "individual",
        "recipient": "US.13491208655302741918", "type": "text", "text": {"body": "Hi"}});
    let (status, answer) = post(&graph, Some(TOKEN), to_user).await;
    assert_eq!(status, 200);
    assert_eq!(answer["contacts"][0]["user_id"], "US.13491208655302741918");
    let to_group = json!({"messaging_product": "whatsapp", "recipient_type": "group",
        "to": "Y2FwaV9ncm91cDox", "type": "text", "text": {"body": "Hi all"}});
    assert_eq!(post(&graph, Some(TOKEN), to_group).await.0, 200);
    let bad_user = json!({"messaging_product": "whatsapp", "recipient": "not a bsuid",
        "type": "text", "text": {"body": "Hi"}});
    assert_eq!(post(&graph, Some(TOKEN), bad_user).await.0, 400);
    let group_as_phone = json!({"messaging_product": "whatsapp", "recipient_type": "individual",
        "to": "Y2FwaV9ncm91cDox", "type": "text", "text": {"body": "Hi"}});
    assert_eq!(post(&graph, Some(TOKEN), group_as_phone).await.0, 400);
    assert_eq!(graph.sent().len(), 2);
}
