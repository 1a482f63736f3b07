//! VK end to end through `serve all`: Callback API notifications in,
//! `messages.send` out, against a VK stand-in per test.

use omnibus_proto::{
    Channel, ChannelKind, CreateChannelRequest, MessageStatus, SendMessageRequest,
};
use omnibus_tests::Sandbox;
use omnibus_vk_standin::{GROUP_ID, GROUP_NAME, StandIn, callbacks};
use serde_json::Value;

use omnibus_testkit::wait_until;

use crate::support::{PATIENCE, all_messages, wait_for_conversations, wait_for_message};

pub(crate) const SECRET: &str = "myCallbackSecret42";
pub(crate) const USER: i64 = 501_234_567;

async fn channel(sandbox: &Sandbox, vk: &StandIn) -> Channel {
    sandbox
        .channels()
        .await
        .create_channel(channel_request(vk.base_url()))
        .await
        .expect("create a vk channel")
        .into_inner()
}

/// A VK channel on the stand-in at `api_base_url` (also for the crash tests).
pub(crate) fn channel_request(api_base_url: String) -> CreateChannelRequest {
    let credentials = [
        ("access_token", "vk1.a.COMMUNITY_TOKEN"),
        ("secret", SECRET),
        ("confirmation_code", "1a2b3c4d"),
        ("group_id", "218765432"),
    ];
    CreateChannelRequest {
        kind: ChannelKind::Vk as i32,
        credentials: credentials
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        api_base_url,
        ..Default::default()
    }
}

async fn post(sandbox: &Sandbox, channel_id: &str, notification: &Value) -> (u16, String) {
    post_to(&sandbox.http_url(), channel_id, notification).await
}

/// POSTs `notification` to the VK webhook under `http`.
pub(crate) async fn post_to(http: &str, channel_id: &str, notification: &Value) -> (u16, String) {
    let answer = reqwest::Client::new()
        .post(format!("{http}/webhooks/vk/{channel_id}"))
        .header("content-type", "application/json")
        .body(notification.to_string())
        .send()
        .await
        .expect("webhook request");
    (
        answer.status().as_u16(),
        answer.text().await.unwrap_or_default(),
    )
}

pub(crate) fn n(kind: &str, object: Value, event_id: &str, secret: &str) -> Value {
    callbacks::notification(kind, object, GROUP_ID, event_id, secret)
}

#[tokio::test]
async fn vk_notifications_in_replies_out_echo_once() {
    let sandbox = Sandbox::start().await;
    let vk = StandIn::start().await;
    let channel = channel(&sandbox, &vk).await;
    assert_eq!(channel.name, GROUP_NAME);

    assert_eq!(
        post(&sandbox, &channel.id, &callbacks::confirmation(GROUP_ID)).await,
        (200, "1a2b3c4d".to_owned())
    );
    let hello = callbacks::message_new(callbacks::message(
        4812,
        USER,
        USER,
        "Hello, my order hasn't arrived",
    ));
    assert_eq!(
        post(
            &sandbox,
            &channel.id,
            &n("message_new", hello.clone(), "e1", "guess")
        )
        .await
        .0,
        403
    );
    assert_eq!(
        post(
            &sandbox,
            &channel.id,
            &n("message_new", hello.clone(), "e1", SECRET)
        )
        .await,
        (200, "ok".to_owned())
    );
    assert_eq!(
        post(
            &sandbox,
            &channel.id,
            &n("message_new", hello, "e2", SECRET)
        )
        .await
        .0,
        200,
        "delivered again"
    );
    let conversations = wait_for_conversations(&sandbox, 1).await;
    let conversation_id = conversations[0].id.clone();
    assert_eq!(all_messages(&sandbox, &conversation_id).await.len(), 1);

    let mut api = sandbox.conversations().await;
    let reply = SendMessageRequest {
        conversation_id: conversation_id.clone(),
        text: "We are checking".into(),
        operator_id: "op-1".into(),
        ..Default::default()
    };
    let sent = api
        .send_message(reply.clone())
        .await
        .expect("send")
        .into_inner();
    let sent = wait_for_message(&sandbox, &conversation_id, &sent.id, "SENT", |m| {
        m.status() == MessageStatus::Sent
    })
    .await;
    let call = &vk.sent()[0];
    assert_eq!(
        (call.param("peer_id"), call.param("message")),
        (USER.to_string().as_str(), "We are checking")
    );
    let random_id: i64 = call.param("random_id").parse().expect("a random_id");
    assert_eq!(
        random_id,
        i64::from(omnibus_core::ids::idempotency_number(&sent.id))
    );

    let echo = callbacks::reply(
        sent.provider_message_id.parse().expect("vk id"),
        USER,
        GROUP_ID,
        "We are checking",
        random_id,
    );
    assert_eq!(
        post(
            &sandbox,
            &channel.id,
            &n("message_reply", echo, "e3", SECRET)
        )
        .await
        .0,
        200
    );
    let admin = callbacks::reply(9000, USER, GROUP_ID, "an admin writes from VK", 0);
    assert_eq!(
        post(
            &sandbox,
            &channel.id,
            &n("message_reply", admin, "e4", SECRET)
        )
        .await
        .0,
        200
    );
    // The admin's message comes after the echo on the conversation's subject.
    wait_until("the admin's message", PATIENCE, || async {
        let all = all_messages(&sandbox, &conversation_id).await;
        all.iter()
            .any(|m| m.text == "an admin writes from VK")
            .then_some(())
    })
    .await;
    let texts: Vec<String> = all_messages(&sandbox, &conversation_id)
        .await
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.as_str() == "We are checking")
            .count(),
        1,
        "{texts:?}"
    );

    vk.deny(USER);
    let refused = api.send_message(reply).await.expect("send").into_inner();
    let failed = wait_for_message(&sandbox, &conversation_id, &refused.id, "FAILED", |m| {
        m.status() == MessageStatus::Failed
    })
    .await;
    assert!(
        failed.failure_reason.contains("forbade"),
        "{}",
        failed.failure_reason
    );
}

#[tokio::test]
async fn vk_omnictl_simulate_posts_a_message_new() {
    let sandbox = Sandbox::start().await;
    let vk = StandIn::start().await;
    let channel = channel(&sandbox, &vk).await;
    let (grpc, http) = (sandbox.grpc_url(), sandbox.http_url());
    let group = GROUP_ID.to_string();
    let argv = |secret: &'static str| {
        [
            "simulate",
            "vk",
            "--http",
            &http,
            "--channel",
            &channel.id,
            "--secret",
            secret,
            "--group-id",
            &group,
            "--text",
            "Is the red one in stock?",
        ]
        .map(str::to_owned)
    };
    let forged = argv("guess");
    let forged: Vec<&str> = forged.iter().map(String::as_str).collect();
    let refused = crate::ctl::omnictl(&grpc, &forged).await.unwrap_err();
    assert!(omnictl::describe(&refused).contains("403"), "{refused:#}");
    let real = argv(SECRET);
    let real: Vec<&str> = real.iter().map(String::as_str).collect();
    let answer = crate::ctl::omnictl(&grpc, &real)
        .await
        .expect("simulate vk");
    assert_eq!(answer["status"], 200, "{answer}");
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    let messages = all_messages(&sandbox, &conversation.id).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].text, "Is the red one in stock?");
    assert_eq!(conversation.subject_url, "", "a dialog is about no post");
}

#[tokio::test]
async fn vk_wall_comment_conversation_links_the_post() {
    let sandbox = Sandbox::start().await;
    let vk = StandIn::start().await;
    let channel = channel(&sandbox, &vk).await;
    let first = callbacks::wall_comment(90, -GROUP_ID, 12, USER, "price?");
    let second = callbacks::wall_comment(91, -GROUP_ID, 12, USER, "and delivery?");
    for (comment, event) in [(first, "c1"), (second, "c2")] {
        let notification = n("wall_reply_new", comment, event, SECRET);
        assert_eq!(post(&sandbox, &channel.id, &notification).await.0, 200);
    }
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    wait_until("both comments", PATIENCE, || async {
        (all_messages(&sandbox, &conversation.id).await.len() == 2).then_some(())
    })
    .await;
    let post_link = format!("https://vk.com/wall-{GROUP_ID}_12");
    let fetched = sandbox
        .conversations()
        .await
        .get_conversation(omnibus_proto::GetConversationRequest {
            id: conversation.id.clone(),
        })
        .await
        .expect("get the conversation")
        .into_inner();
    assert_eq!(fetched.subject_url, post_link, "{fetched:?}");
    let listed = wait_for_conversations(&sandbox, 1).await.remove(0);
    assert_eq!(listed.subject_url, post_link);
}
