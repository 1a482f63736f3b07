use serde_json::Value;

use super::*;

async fn call(vk: &StandIn, method: &str, params: &[(&str, &str)]) -> Value {
    reqwest::Client::new()
        .post(format!("{}/method/{method}", vk.base_url()))
        .form(params)
        .send()
        .await
        .expect("the stand-in answers")
        .json()
        .await
        .expect("vk answers json")
}

#[tokio::test]
async fn a_repeated_random_id_is_sent_once() {
    let vk = StandIn::start().await;
    let params = [
        ("access_token", "t"),
        ("v", "5.199"),
        ("peer_id", "501"),
        ("random_id", "77"),
        ("message", "hi"),
    ];
    let first = call(&vk, "messages.send", &params).await;
    let again = call(&vk, "messages.send", &params).await;
    assert!(first["response"].as_i64().is_some());
    assert_eq!(first, again, "the same message id");
    assert_eq!(vk.sent().len(), 1);
    assert_eq!(vk.send_attempts().len(), 2);
}

#[tokio::test]
async fn errors_come_in_vk_envelopes() {
    let vk = StandIn::start().await;
    vk.only_token("good");
    let bad = call(
        &vk,
        "messages.send",
        &[("access_token", "bad"), ("v", "5.199")],
    )
    .await;
    assert_eq!(bad["error"]["error_code"], 5);
    vk.deny(501);
    let denied = [
        ("access_token", "good"),
        ("v", "5.199"),
        ("peer_id", "501"),
        ("random_id", "1"),
        ("message", "x"),
    ];
    assert_eq!(
        call(&vk, "messages.send", &denied).await["error"]["error_code"],
        901
    );
    vk.script_error(9, "Flood control");
    let flood = [
        ("access_token", "good"),
        ("v", "5.199"),
        ("peer_id", "7"),
        ("random_id", "2"),
        ("message", "x"),
    ];
    let answer = call(&vk, "messages.send", &flood).await;
    assert_eq!(answer["error"]["error_code"], 9);
    assert!(
        !answer.to_string().contains("good"),
        "the token is not echoed"
    );
    assert!(vk.sent().is_empty());
}

#[tokio::test]
async fn groups_get_by_id_names_the_community() {
    let vk = StandIn::start().await;
    let answer = call(
        &vk,
        "groups.getById",
        &[("access_token", "t"), ("v", "5.199")],
    )
    .await;
    assert_eq!(answer["response"]["groups"][0]["id"], GROUP_ID);
}

#[test]
fn every_callback_kind_is_built() {
    assert_eq!(callbacks::all_kinds(GROUP_ID, "s").len(), 18);
}
