//! `kill -9` between a customer's message and the operator's reply going
//! out, for Viber, VK, Instagram and Wazzup: `serve all` is killed while the
//! provider stand-in holds (Viber) or has just failed (VK, Instagram,
//! Wazzup) the send call, and started again; nothing is lost and nothing
//! shows twice.

use std::time::Duration;

use omnibus_proto::{
    CreateChannelRequest, ListConversationsRequest, ListMessagesRequest, Message, MessageStatus,
    SendMessageRequest, channel_service_client::ChannelServiceClient,
    conversation_service_client::ConversationServiceClient,
};
use omnibus_testkit::wait_until;
use omnibus_tests::child::ChildServer;
use omnibus_tests::{Sandbox, SandboxOptions};
use serde_json::Value;

use super::BINARY;

/// Long enough for a send fetched before the kill to be redelivered after
/// the worker's 30 s ack wait.
const REDELIVERY: Duration = Duration::from_secs(90);
const HELLO: &str = "Hello, my order hasn't arrived";
const REPLY: &str = "We are checking";

/// A sandbox without a server and `serve all` running as a child on it.
async fn child() -> (Sandbox, ChildServer) {
    let sandbox = Sandbox::start_with(SandboxOptions {
        no_server: true,
        ..Default::default()
    })
    .await;
    let server = ChildServer::start(BINARY, &sandbox.env()).await;
    (sandbox, server)
}

async fn create_channel(server: &ChildServer, request: CreateChannelRequest) -> String {
    let mut channels = ChannelServiceClient::connect(server.grpc_url())
        .await
        .unwrap();
    channels
        .create_channel(request)
        .await
        .unwrap()
        .into_inner()
        .id
}

async fn api(server: &ChildServer) -> ConversationServiceClient<tonic::transport::Channel> {
    ConversationServiceClient::connect(server.grpc_url())
        .await
        .unwrap()
}

/// The only conversation's id, once the customer's message made it.
async fn the_conversation(server: &ChildServer) -> String {
    let api = api(server).await;
    wait_until("the conversation", crate::support::PATIENCE, || {
        let mut api = api.clone();
        async move {
            let listed = api
                .list_conversations(ListConversationsRequest::default())
                .await
                .ok()?
                .into_inner()
                .conversations;
            listed.first().map(|c| c.id.clone())
        }
    })
    .await
}

async fn history(server: &ChildServer, conversation_id: &str) -> Vec<Message> {
    api(server)
        .await
        .list_messages(ListMessagesRequest {
            conversation_id: conversation_id.to_owned(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .messages
}

/// The operator replies; the server is SIGKILLed once the send call reached
/// the provider (`send_attempts` counts them), which the test made hold or
/// fail it, and then started again on the same sandbox.
async fn reply_then_kill(
    sandbox: &Sandbox,
    mut server: ChildServer,
    conversation_id: &str,
    send_attempts: impl Fn() -> usize,
) -> ChildServer {
    let reply = SendMessageRequest {
        conversation_id: conversation_id.to_owned(),
        text: REPLY.into(),
        operator_id: "op-1".into(),
        ..Default::default()
    };
    api(&server).await.send_message(reply).await.expect("send");
    wait_until("the send call", crate::support::PATIENCE, || async {
        (send_attempts() > 0).then_some(())
    })
    .await;
    server.kill9();
    ChildServer::start(BINARY, &sandbox.env()).await
}

/// After the restart: the customer's message once, the reply once and SENT.
async fn assert_history_after_restart(server: &ChildServer, conversation_id: &str) {
    let messages = wait_until("the reply SENT after the restart", REDELIVERY, || async {
        let messages = history(server, conversation_id).await;
        messages
            .iter()
            .any(|m| m.text == REPLY && m.status() == MessageStatus::Sent)
            .then_some(messages)
    })
    .await;
    let count = |text: &str| messages.iter().filter(|m| m.text == text).count();
    assert_eq!((count(HELLO), count(REPLY)), (1, 1), "{messages:?}");
}

#[tokio::test]
async fn viber_kill_9_between_webhook_and_send_loses_nothing() {
    use omnibus_viber_standin::{Scripted, StandIn, callbacks};
    let (sandbox, server) = child().await;
    let viber = StandIn::start().await;
    let request = crate::viber::channel_request(viber.base_url());
    let channel_id = create_channel(&server, request).await;
    let hello = callbacks::message(7001, crate::viber::USER, "John", callbacks::text(HELLO));
    let token = crate::viber::TOKEN;
    let answer = crate::viber::post_to(&server.http_url(), &channel_id, &hello, token).await;
    assert_eq!(answer.0, 200, "{answer:?}");
    let conversation_id = the_conversation(&server).await;

    // The stand-in holds the send call until long after the kill.
    viber.script(Scripted::Delay(Duration::from_secs(120)));
    let attempts = || viber.send_attempts().len();
    let server = reply_then_kill(&sandbox, server, &conversation_id, attempts).await;
    // Viber has no idempotency key: a send cut short may go out twice.
    let sent = wait_until("the reply at Viber", REDELIVERY, || async {
        let sent = viber.sent();
        sent.iter()
            .any(|call| call.body["text"] == REPLY)
            .then_some(sent)
    })
    .await;
    assert_eq!(sent[0].body["receiver"], crate::viber::USER);
    // Viber redelivers the callback after the restart: still one message.
    let again = crate::viber::post_to(&server.http_url(), &channel_id, &hello, token).await;
    assert_eq!(again.0, 200, "{again:?}");
    assert_history_after_restart(&server, &conversation_id).await;
}

#[tokio::test]
async fn vk_kill_9_between_webhook_and_send_sends_exactly_once() {
    use omnibus_vk_standin::{StandIn, callbacks};
    let (sandbox, server) = child().await;
    let vk = StandIn::start().await;
    let request = crate::vk::channel_request(vk.base_url());
    let channel_id = create_channel(&server, request).await;
    let user = crate::vk::USER;
    let hello = callbacks::message_new(callbacks::message(4812, user, user, HELLO));
    let hello = crate::vk::n("message_new", hello, "e1", crate::vk::SECRET);
    let answer = crate::vk::post_to(&server.http_url(), &channel_id, &hello).await;
    assert_eq!(answer, (200, "ok".to_owned()));
    let conversation_id = the_conversation(&server).await;

    // VK fails the first send call (internal error, retried later).
    vk.script_error(10, "Internal server error");
    let attempts = || vk.send_attempts().len();
    let server = reply_then_kill(&sandbox, server, &conversation_id, attempts).await;
    wait_until("the reply at VK", REDELIVERY, || async {
        vk.sent()
            .iter()
            .any(|call| call.param("message") == REPLY)
            .then_some(())
    })
    .await;
    let again = crate::vk::post_to(&server.http_url(), &channel_id, &hello).await;
    assert_eq!(again.0, 200, "{again:?}");
    assert_history_after_restart(&server, &conversation_id).await;
    // VK dedupes by random_id: retries of a send cut short reach the customer once.
    let replies: Vec<_> = vk
        .sent()
        .into_iter()
        .filter(|call| call.param("message") == REPLY)
        .collect();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].param("peer_id"), user.to_string());
    // The failed call before the kill and the retry after it carry the same
    // random_id, which is what makes a retry of a send VK did take a no-op.
    let random_ids: Vec<String> = vk
        .send_attempts()
        .iter()
        .filter(|call| call.param("message") == REPLY)
        .map(|call| call.param("random_id").to_owned())
        .collect();
    assert!(random_ids.len() >= 2, "{random_ids:?}");
    assert!(
        random_ids.iter().all(|id| *id == random_ids[0]),
        "{random_ids:?}"
    );
}

#[tokio::test]
async fn instagram_kill_9_between_webhook_and_send_loses_nothing() {
    use omnibus_instagram_standin::webhook as ig;
    use omnibus_instagram_standin::{Scripted, StandIn};
    let (sandbox, server) = child().await;
    let graph = StandIn::start().await;
    let request = crate::instagram::channel_request(graph.base_url(), None);
    let channel_id = create_channel(&server, request).await;
    let secret = Some(crate::instagram::APP_SECRET);
    let event = ig::from_customer("m_k9", serde_json::json!({ "text": HELLO }));
    let hello = crate::instagram::now(ig::messaging(vec![event]));
    let post = |http: String| {
        let hello = hello.clone();
        let channel_id = channel_id.clone();
        async move { crate::instagram::post_to(&http, &channel_id, &hello, secret).await }
    };
    assert_eq!(post(server.http_url()).await, 200);
    let conversation_id = the_conversation(&server).await;

    // Graph throttles the first calls (retried; no idempotency key, so the
    // kill lands while nothing has gone out yet).
    graph.script(Scripted::rate_limited());
    graph.script(Scripted::rate_limited());
    let attempts = || {
        let calls = graph.requests();
        calls
            .iter()
            .filter(|c| c.path.ends_with("/messages"))
            .count()
    };
    let server = reply_then_kill(&sandbox, server, &conversation_id, attempts).await;
    wait_until("the reply at Instagram", REDELIVERY, || async {
        let sent = graph.sent();
        sent.iter()
            .any(|call| call.body["message"]["text"] == REPLY)
            .then_some(())
    })
    .await;
    assert_eq!(post(server.http_url()).await, 200, "Meta's retry");
    assert_history_after_restart(&server, &conversation_id).await;
    let replies = graph
        .sent()
        .into_iter()
        .filter(|call| call.body["message"]["text"] == REPLY)
        .count();
    assert_eq!(replies, 1, "the customer got the reply once");
}

#[tokio::test]
async fn wazzup_kill_9_between_webhook_and_send_sends_exactly_once() {
    use omnibus_wazzup_standin::webhook::{self as wz, CHANNEL_ID};
    use omnibus_wazzup_standin::{Scripted, StandIn};
    let (sandbox, server) = child().await;
    let wazzup = StandIn::start().await;
    let request = crate::wazzup::channel_request(wazzup.base_url(), CHANNEL_ID, "");
    let channel_id = create_channel(&server, request).await;
    let hello = wz::messages(vec![wz::text(CHANNEL_ID, "in-k9", HELLO)]);
    let http = server.http_url();
    assert_eq!(
        crate::wazzup::post_to(&http, &channel_id, &hello, None).await,
        200
    );
    let conversation_id = the_conversation(&server).await;

    wazzup.script(Scripted::server_error());
    wazzup.script(Scripted::server_error());
    let attempts = || {
        wazzup
            .requests()
            .iter()
            .filter(|c| c.path == "/v3/message")
            .count()
    };
    let server = reply_then_kill(&sandbox, server, &conversation_id, attempts).await;
    let http = server.http_url();
    wait_until("the reply at Wazzup", REDELIVERY, || async {
        let sent = wazzup.sent();
        sent.iter()
            .any(|call| call.body["text"] == REPLY)
            .then_some(())
    })
    .await;
    assert_eq!(
        crate::wazzup::post_to(&http, &channel_id, &hello, None).await,
        200,
        "Wazzup's retry"
    );
    assert_history_after_restart(&server, &conversation_id).await;
    let replies: Vec<_> = wazzup
        .sent()
        .into_iter()
        .filter(|call| call.body["text"] == REPLY)
        .collect();
    assert_eq!(replies.len(), 1, "{replies:?}");
    // Every try carried the same crmMessageId (our message id).
    let keys: Vec<Value> = wazzup
        .requests()
        .iter()
        .filter(|c| c.path == "/v3/message" && c.body["text"] == REPLY)
        .map(|c| c.body["crmMessageId"].clone())
        .collect();
    assert!(
        keys.len() >= 2 && keys.iter().all(|k| *k == keys[0]),
        "{keys:?}"
    );
    // Its status, after the restart, finds the message.
    let reply = history(&server, &conversation_id)
        .await
        .into_iter()
        .find(|m| m.text == REPLY)
        .expect("the reply");
    let delivered = wz::statuses(vec![wz::status(
        &reply.provider_message_id,
        "delivered",
        None,
    )]);
    assert_eq!(
        crate::wazzup::post_to(&http, &channel_id, &delivered, None).await,
        200
    );
    wait_until("the reply DELIVERED", crate::support::PATIENCE, || async {
        history(&server, &conversation_id)
            .await
            .iter()
            .any(|m| m.text == REPLY && m.status() == MessageStatus::Delivered)
            .then_some(())
    })
    .await;
}
