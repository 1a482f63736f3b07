//! Instagram end to end through `serve all`: Meta's webhooks in (Direct and
//! comments), Graph calls out, against a Graph stand-in per test.

use omnibus_core::ids;
use omnibus_instagram_standin::StandIn;
use omnibus_instagram_standin::webhook::{
    self as ig, ACCOUNT_ID, CUSTOMER_ID, CUSTOMER_USERNAME, SIGNATURE_HEADER, sign,
};
use omnibus_proto::{
    Channel, ChannelKind, CommentReply, CreateChannelRequest, MessageStatus, SendMessageRequest,
};
use omnibus_tests::Sandbox;
use serde_json::Value;

use crate::support::{all_messages, wait_for_conversations, wait_for_message};

pub(crate) const APP_SECRET: &str = "ig-app-secret-5b1d";
const VERIFY_TOKEN: &str = "ig-verify-token";

mod threads;
mod window;

async fn channel(sandbox: &Sandbox, graph: &StandIn) -> Channel {
    channel_with(sandbox, graph, None).await
}

/// An Instagram channel on the Graph stand-in at `api_base_url` (also for
/// the crash tests).
pub(crate) fn channel_request(
    api_base_url: String,
    settings: Option<omnibus_proto::ChannelSettings>,
) -> CreateChannelRequest {
    let credentials = [
        ("access_token", "IGAAT-test-token"),
        ("app_secret", APP_SECRET),
        ("verify_token", VERIFY_TOKEN),
    ];
    CreateChannelRequest {
        kind: ChannelKind::Instagram as i32,
        credentials: credentials
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        api_base_url,
        settings,
        ..CreateChannelRequest::default()
    }
}

async fn channel_with(
    sandbox: &Sandbox,
    graph: &StandIn,
    settings: Option<omnibus_proto::ChannelSettings>,
) -> Channel {
    let request = channel_request(graph.base_url(), settings);
    let mut api = sandbox.channels().await;
    api.create_channel(request)
        .await
        .expect("create an instagram channel")
        .into_inner()
}

async fn post(sandbox: &Sandbox, channel_id: &str, payload: &Value, secret: Option<&str>) -> u16 {
    post_to(&sandbox.http_url(), channel_id, payload, secret).await
}

/// POSTs `payload` (signed with `secret`) to the Instagram webhook under `http`.
pub(crate) async fn post_to(
    http: &str,
    channel_id: &str,
    payload: &Value,
    secret: Option<&str>,
) -> u16 {
    let body = payload.to_string();
    let mut request = reqwest::Client::new()
        .post(format!("{http}/webhooks/instagram/{channel_id}"))
        .header("content-type", "application/json");
    if let Some(secret) = secret {
        request = request.header(SIGNATURE_HEADER, sign(secret, body.as_bytes()));
    }
    request
        .body(body)
        .send()
        .await
        .expect("webhook")
        .status()
        .as_u16()
}

/// `payload` as if it happened just now (the fixtures carry a fixed time).
pub(crate) fn now(mut payload: Value) -> Value {
    let ms = omnibus_core::now_ms();
    for entry in payload["entry"].as_array_mut().into_iter().flatten() {
        entry["time"] = (ms / 1000).into();
        let events = entry.get_mut("messaging").and_then(Value::as_array_mut);
        for event in events.into_iter().flatten() {
            event["timestamp"] = ms.into();
        }
    }
    payload
}

async fn send(sandbox: &Sandbox, request: SendMessageRequest) -> String {
    let mut api = sandbox.conversations().await;
    api.send_message(request)
        .await
        .expect("send")
        .into_inner()
        .id
}

#[tokio::test]
async fn instagram_direct_in_and_out_with_meta_verification() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let channel = channel(&sandbox, &graph).await;
    assert_eq!(channel.name, "@acme.support", "named after the account");
    let client = reqwest::Client::new();
    let handshake = client
        .get(format!(
            "{}/webhooks/instagram/{}?hub.mode=subscribe&hub.challenge=42&hub.verify_token={VERIFY_TOKEN}",
            sandbox.http_url(),
            channel.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(handshake.status(), 200);
    assert_eq!(handshake.text().await.unwrap(), "42");

    let dm = now(ig::messaging(vec![ig::sample("text", "m_1")]));
    assert_eq!(
        post(&sandbox, &channel.id, &dm, None).await,
        401,
        "unsigned"
    );
    assert_eq!(
        post(&sandbox, &channel.id, &dm, Some("wrong")).await,
        401,
        "wrong secret"
    );
    assert_eq!(
        post(&sandbox, &channel.id, &dm, Some(APP_SECRET)).await,
        200
    );
    assert_eq!(
        post(&sandbox, &channel.id, &dm, Some(APP_SECRET)).await,
        200,
        "a retry"
    );
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    assert_eq!(
        conversation.id,
        ids::conversation_id(&channel.id, CUSTOMER_ID)
    );
    assert_eq!(
        all_messages(&sandbox, &conversation.id).await.len(),
        1,
        "the retry dropped"
    );

    let reply = SendMessageRequest {
        conversation_id: conversation.id.clone(),
        text: "Yes, it is!".into(),
        operator_id: "op-1".into(),
        ..SendMessageRequest::default()
    };
    let message_id = send(&sandbox, reply).await;
    wait_for_message(&sandbox, &conversation.id, &message_id, "SENT", |m| {
        m.status() == MessageStatus::Sent
    })
    .await;
    let sent = graph.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, format!("/v21.0/{ACCOUNT_ID}/messages"));
    assert_eq!(sent[0].body["recipient"]["id"], CUSTOMER_ID);
    assert_eq!(sent[0].body["message"]["text"], "Yes, it is!");

    // The customer unsends their message: marked deleted, text kept.
    let unsend = now(ig::messaging(vec![ig::sample("unsend", "m_1")]));
    assert_eq!(
        post(&sandbox, &channel.id, &unsend, Some(APP_SECRET)).await,
        200
    );
    let first = ids::inbound_message_id(&channel.id, CUSTOMER_ID, "m_1");
    let unsent =
        wait_for_message(&sandbox, &conversation.id, &first, "deleted", |m| m.deleted).await;
    assert_eq!(unsent.text, "Hi! Is this jacket still available?");
}

#[tokio::test]
async fn instagram_a_comment_is_its_own_conversation_answered_publicly_or_privately() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let channel = channel(&sandbox, &graph).await;
    let comment = now(ig::comment("17865799348089039", "What's the price?"));
    assert_eq!(
        post(&sandbox, &channel.id, &comment, Some(APP_SECRET)).await,
        200
    );
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    assert_eq!(conversation.title, CUSTOMER_USERNAME);
    let messages = all_messages(&sandbox, &conversation.id).await;
    assert_eq!(messages[0].text, "What's the price?");
    for (how, path) in [
        (
            CommentReply::Unspecified,
            "/v21.0/17865799348089039/replies".to_owned(),
        ),
        (
            CommentReply::Private,
            format!("/v21.0/{ACCOUNT_ID}/messages"),
        ),
    ] {
        let reply = SendMessageRequest {
            conversation_id: conversation.id.clone(),
            text: "It's $40".into(),
            reply_to_message_id: messages[0].id.clone(),
            comment_reply: how.into(),
            operator_id: "op-1".into(),
            ..SendMessageRequest::default()
        };
        let id = send(&sandbox, reply).await;
        wait_for_message(&sandbox, &conversation.id, &id, "SENT", |m| {
            m.status() == MessageStatus::Sent
        })
        .await;
        let last = graph.sent().pop().expect("a call");
        assert_eq!(last.path, path, "{how:?}");
    }
    let private = graph.sent().pop().unwrap();
    assert_eq!(private.body["recipient"]["comment_id"], "17865799348089039");
}

#[tokio::test]
async fn instagram_the_24_hour_window_applies() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let channel = channel(&sandbox, &graph).await;
    // The fixture's customer wrote in 2024: the window is long closed.
    let old = ig::messaging(vec![ig::sample("text", "m_old")]);
    assert_eq!(
        post(&sandbox, &channel.id, &old, Some(APP_SECRET)).await,
        200
    );
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    let reply = SendMessageRequest {
        conversation_id: conversation.id.clone(),
        text: "Sorry for the wait".into(),
        operator_id: "op-1".into(),
        ..SendMessageRequest::default()
    };
    let mut api = sandbox.conversations().await;
    let refused = api
        .send_message(reply)
        .await
        .expect_err("outside the window");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert!(
        refused.message().contains("24-hour window"),
        "{}",
        refused.message()
    );
    assert!(graph.sent().is_empty(), "nothing reached Instagram");
}

#[tokio::test]
async fn instagram_files_are_copied_at_receipt_and_outlive_their_links() {
    let mut sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let channel = channel(&sandbox, &graph).await;
    let photo: Vec<u8> = (0..70_000u32).map(|i| (i % 253) as u8).collect();
    let link = graph.put_file("ig-photo-1.jpg", photo.clone(), "image/jpeg");
    let message = serde_json::json!({
        "attachments": [{ "type": "image", "payload": { "url": link } }]
    });
    let dm = now(ig::messaging(vec![ig::from_customer("m_photo", message)]));
    assert_eq!(
        post(&sandbox, &channel.id, &dm, Some(APP_SECRET)).await,
        200
    );
    let conversation = &wait_for_conversations(&sandbox, 1).await[0];
    let stored = omnibus_testkit::wait_until("the photo", crate::support::PATIENCE, || async {
        all_messages(&sandbox, &conversation.id).await.pop()
    })
    .await;
    // The copy is taken after the webhook's answer, by a durable consumer.
    omnibus_testkit::wait_until("the copy at receipt", crate::support::PATIENCE, || async {
        (graph.downloads("ig-photo-1.jpg") == 1).then_some(())
    })
    .await;
    graph.expire_file("ig-photo-1.jpg");
    // Kept across a restart: the copy lives in JetStream, not in memory.
    sandbox.restart_server().await;
    let url = format!("{}{}", sandbox.http_url(), stored.attachments[0].url);
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(response.bytes().await.unwrap().as_ref(), photo.as_slice());
    assert_eq!(graph.downloads("ig-photo-1.jpg"), 1, "served from the copy");
}
