//! Wazzup end to end through `serve all`: one account (API key) with
//! several channels, its one webhook URL feeding them all, sends through
//! `POST /v3/message`, against a Wazzup stand-in per test.

use omnibus_proto::{
    Channel, ChannelKind, CreateChannelRequest, ListProviderChannelsRequest, MessageStatus,
    SendMessageRequest,
};
use omnibus_tests::Sandbox;
use omnibus_wazzup_standin::webhook::{self as wz, CHANNEL_ID, SECOND_CHANNEL_ID};
use omnibus_wazzup_standin::{API_KEY, StandIn};
use serde_json::Value;

use crate::support::{all_messages, wait_for_conversations, wait_for_message};

/// A Wazzup channel of the stand-in's account (also for the crash tests).
pub(crate) fn channel_request(
    api_base_url: String,
    channel_id: &str,
    token: &str,
) -> CreateChannelRequest {
    let mut credentials = vec![("api_key", API_KEY), ("channel_id", channel_id)];
    if !token.is_empty() {
        credentials.push(("webhook_token", token));
    }
    CreateChannelRequest {
        kind: ChannelKind::Wazzup as i32,
        credentials: credentials
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        api_base_url,
        ..CreateChannelRequest::default()
    }
}

async fn channel(sandbox: &Sandbox, wazzup: &StandIn, channel_id: &str, token: &str) -> Channel {
    let request = channel_request(wazzup.base_url(), channel_id, token);
    let mut api = sandbox.channels().await;
    api.create_channel(request)
        .await
        .expect("create a wazzup channel")
        .into_inner()
}

async fn post(sandbox: &Sandbox, channel_id: &str, payload: &Value, token: Option<&str>) -> u16 {
    post_to(&sandbox.http_url(), channel_id, payload, token).await
}

/// POSTs a delivery to the Wazzup webhook of `channel_id` under `http`.
pub(crate) async fn post_to(
    http: &str,
    channel_id: &str,
    payload: &Value,
    token: Option<&str>,
) -> u16 {
    let mut request = reqwest::Client::new()
        .post(format!("{http}/webhooks/wazzup/{channel_id}"))
        .header("content-type", "application/json; charset=utf-8");
    if let Some(token) = token {
        request = request.header("authorization", wz::authorization(token));
    }
    let response = request
        .body(payload.to_string())
        .send()
        .await
        .expect("webhook");
    response.status().as_u16()
}

#[tokio::test]
async fn wazzup_one_key_several_channels_routed_by_channel_id_and_answered() {
    let sandbox = Sandbox::start().await;
    let wazzup = StandIn::start().await;
    let mut api = sandbox.channels().await;
    let listed = api
        .list_provider_channels(ListProviderChannelsRequest {
            kind: ChannelKind::Wazzup as i32,
            credentials: [("api_key".to_owned(), API_KEY.to_owned())].into(),
            api_base_url: wazzup.base_url(),
        })
        .await
        .expect("list the account's channels")
        .into_inner()
        .channels;
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0].name, "whatsapp 79990001122");

    let first = channel(&sandbox, &wazzup, CHANNEL_ID, "").await;
    let second = channel(&sandbox, &wazzup, SECOND_CHANNEL_ID, "").await;
    assert_ne!(first.id, second.id);

    assert_eq!(
        post(&sandbox, &first.id, &wz::test(), None).await,
        200,
        "the connection check"
    );
    let stranger = wz::messages(vec![wz::text("someone-elses-channel", "x-1", "hi")]);
    assert_eq!(post(&sandbox, &first.id, &stranger, None).await, 403);
    // The account's one URL is the first channel's path; the message is the second's.
    let body = wz::messages(vec![wz::text(
        SECOND_CHANNEL_ID,
        "in-1",
        "Is delivery available?",
    )]);
    assert_eq!(post(&sandbox, &first.id, &body, None).await, 200);
    assert_eq!(post(&sandbox, &first.id, &body, None).await, 200, "a retry");
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    assert_eq!(conversation.channel_id, second.id, "routed by channelId");
    assert_eq!(all_messages(&sandbox, &conversation.id).await.len(), 1);

    let mut conversations = sandbox.conversations().await;
    let reply = SendMessageRequest {
        conversation_id: conversation.id.clone(),
        text: "Yes, until 21:00.".into(),
        operator_id: "op-1".into(),
        ..SendMessageRequest::default()
    };
    let message_id = conversations
        .send_message(reply)
        .await
        .expect("send")
        .into_inner()
        .id;
    wait_for_message(&sandbox, &conversation.id, &message_id, "SENT", |m| {
        m.status() == MessageStatus::Sent
    })
    .await;
    let sent = wazzup.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["channelId"], SECOND_CHANNEL_ID);
    assert_eq!(sent[0].body["chatId"], wz::CHAT_ID);
    assert_eq!(sent[0].body["crmMessageId"], message_id.as_str());
    let wazzup_id =
        omnibus_testkit::wait_until("the provider id", crate::support::PATIENCE, || async {
            all_messages(&sandbox, &conversation.id)
                .await
                .into_iter()
                .find(|m| m.id == message_id && !m.provider_message_id.is_empty())
                .map(|m| m.provider_message_id)
        })
        .await;

    // Wazzup's echo of our message and its status arrive on the account's URL.
    let echo_and_status = wz::messages_and_statuses(
        vec![wz::our_echo(&wazzup_id, &message_id, "Yes, until 21:00.")],
        vec![wz::status(&wazzup_id, "delivered", None)],
    );
    let mut echo_and_status = echo_and_status;
    echo_and_status["messages"][0]["channelId"] = SECOND_CHANNEL_ID.into();
    assert_eq!(post(&sandbox, &first.id, &echo_and_status, None).await, 200);
    wait_for_message(&sandbox, &conversation.id, &message_id, "DELIVERED", |m| {
        m.status() == MessageStatus::Delivered
    })
    .await;
    assert_eq!(
        all_messages(&sandbox, &conversation.id).await.len(),
        2,
        "the echo is not shown"
    );
}

#[tokio::test]
async fn wazzup_a_webhook_token_is_required_when_set() {
    let sandbox = Sandbox::start().await;
    let wazzup = StandIn::start().await;
    let channel = channel(&sandbox, &wazzup, CHANNEL_ID, "crm-key-7f3a").await;
    let body = wz::messages(vec![wz::text(CHANNEL_ID, "in-1", "Hello")]);
    let before = sandbox.stream_messages().await;
    assert_eq!(post(&sandbox, &channel.id, &body, None).await, 401);
    assert_eq!(post(&sandbox, &channel.id, &body, Some("wrong")).await, 401);
    assert_eq!(sandbox.stream_messages().await, before, "nothing stored");
    assert_eq!(
        post(&sandbox, &channel.id, &body, Some("crm-key-7f3a")).await,
        200
    );
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    assert_eq!(conversation.channel_id, channel.id);
}

#[tokio::test]
async fn wazzup_a_status_after_a_restart_finds_its_message() {
    let mut sandbox = Sandbox::start().await;
    let wazzup = StandIn::start().await;
    // No webhook_token: a status is accepted only when it names one of the
    // account's sends, which the restarted server must still know.
    let channel = channel(&sandbox, &wazzup, CHANNEL_ID, "").await;
    let hello = wz::messages(vec![wz::text(CHANNEL_ID, "in-1", "Hello")]);
    assert_eq!(post(&sandbox, &channel.id, &hello, None).await, 200);
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    let reply = SendMessageRequest {
        conversation_id: conversation.id.clone(),
        text: "Hi! How can we help?".into(),
        operator_id: "op-1".into(),
        ..SendMessageRequest::default()
    };
    let message_id = sandbox
        .conversations()
        .await
        .send_message(reply)
        .await
        .expect("send")
        .into_inner()
        .id;
    let sent = wait_for_message(&sandbox, &conversation.id, &message_id, "SENT", |m| {
        m.status() == MessageStatus::Sent && !m.provider_message_id.is_empty()
    })
    .await;

    sandbox.restart_server().await;
    let read = wz::statuses(vec![wz::status(&sent.provider_message_id, "read", None)]);
    assert_eq!(post(&sandbox, &channel.id, &read, None).await, 200);
    wait_for_message(&sandbox, &conversation.id, &message_id, "READ", |m| {
        m.status() == MessageStatus::Read
    })
    .await;
    let stranger = wz::statuses(vec![wz::status("not-a-send-of-ours", "read", None)]);
    assert_eq!(
        post(&sandbox, &channel.id, &stranger, None).await,
        403,
        "a status of nothing we sent still names no channel of this account"
    );
}

#[tokio::test]
async fn wazzup_omnictl_channels_create_lists_the_account_and_takes_the_pick() {
    let sandbox = Sandbox::start().await;
    let wazzup = StandIn::start().await;
    let grpc = sandbox.grpc_url();
    let (key, base) = (format!("api_key={API_KEY}"), wazzup.base_url());
    let create = [
        "channels",
        "create",
        "--kind",
        "wazzup",
        "--credential",
        key.as_str(),
        "--api-base-url",
        base.as_str(),
    ];
    // No terminal here: the account's channels are listed, --pick asked for.
    let listed = crate::ctl::omnictl(&grpc, &create).await.unwrap_err();
    let listed = omnictl::describe(&listed);
    assert!(listed.contains("--pick"), "{listed}");
    for shown in [
        SECOND_CHANNEL_ID,
        "79990003344",
        "instagram",
        "acme.support",
    ] {
        assert!(listed.contains(shown), "{shown} in {listed}");
    }
    let wrong = [&create[..], &["--pick", "not-a-channel"]].concat();
    let wrong = crate::ctl::omnictl(&grpc, &wrong).await.unwrap_err();
    let wrong = omnictl::describe(&wrong);
    assert!(
        wrong.contains("not a channel of this Wazzup account"),
        "{wrong}"
    );
    assert!(crate::support::all_conversations(&sandbox).await.is_empty());

    let picked = [&create[..], &["--pick", SECOND_CHANNEL_ID]].concat();
    let created = crate::ctl::omnictl(&grpc, &picked)
        .await
        .unwrap_or_else(|e| panic!("{}", omnictl::describe(&e)));
    let channel_id = created["id"].as_str().expect("an id").to_owned();
    // The picked Wazzup channel is the one its messages are routed to.
    let hello = wz::messages(vec![wz::text(SECOND_CHANNEL_ID, "in-pick", "Hi")]);
    assert_eq!(post(&sandbox, &channel_id, &hello, None).await, 200);
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    assert_eq!(conversation.channel_id, channel_id);
    let by_number = [&create[..], &["--pick", "1"]].concat();
    let first = crate::ctl::omnictl(&grpc, &by_number)
        .await
        .unwrap_or_else(|e| panic!("{}", omnictl::describe(&e)));
    assert_ne!(
        first["id"], created["id"],
        "a second channel of the same key"
    );
}
