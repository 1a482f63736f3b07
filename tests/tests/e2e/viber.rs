//! Viber end to end through `serve all`: signed callbacks in, `send_message`
//! out, against a Viber stand-in per test.

use omnibus_proto::{
    Channel, ChannelKind, ChannelSettings, CreateChannelRequest, MessageStatus, SendMessageRequest,
};
use omnibus_testkit::wait_until;
use omnibus_tests::Sandbox;
use omnibus_viber_standin::{BOT_NAME, StandIn, callbacks};
use serde_json::Value;

use crate::support::{PATIENCE, all_messages, wait_for_conversations, wait_for_message};

pub(crate) const TOKEN: &str = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9";
pub(crate) const USER: &str = "01234567890A=";

/// A Viber channel on the stand-in at `api_base_url` (also for the crash tests).
pub(crate) fn channel_request(api_base_url: String) -> CreateChannelRequest {
    CreateChannelRequest {
        kind: ChannelKind::Viber as i32,
        credentials: [("auth_token".to_owned(), TOKEN.to_owned())].into(),
        settings: Some(ChannelSettings {
            welcome_message: "Welcome to Acme!".into(),
            ..Default::default()
        }),
        api_base_url,
        ..Default::default()
    }
}

async fn channel(sandbox: &Sandbox, viber: &StandIn) -> Channel {
    let request = channel_request(viber.base_url());
    sandbox
        .channels()
        .await
        .create_channel(request)
        .await
        .expect("create a viber channel")
        .into_inner()
}

async fn post(sandbox: &Sandbox, channel_id: &str, callback: &Value, token: &str) -> (u16, String) {
    post_to(&sandbox.http_url(), channel_id, callback, token).await
}

/// POSTs `callback` signed with `token` to the Viber webhook under `http`.
pub(crate) async fn post_to(
    http: &str,
    channel_id: &str,
    callback: &Value,
    token: &str,
) -> (u16, String) {
    let (body, signature) = callbacks::signed(token, callback);
    let answer = reqwest::Client::new()
        .post(format!("{http}/webhooks/viber/{channel_id}"))
        .header(callbacks::SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await
        .expect("webhook request");
    (
        answer.status().as_u16(),
        answer.text().await.unwrap_or_default(),
    )
}

#[tokio::test]
async fn viber_callbacks_in_replies_out() {
    let sandbox = Sandbox::start().await;
    let viber = StandIn::start().await;
    let channel = channel(&sandbox, &viber).await;
    assert_eq!(
        channel.name, BOT_NAME,
        "the bot's name from get_account_info"
    );

    let started = callbacks::conversation_started(1, USER, "John McClane");
    let (status, welcome) = post(&sandbox, &channel.id, &started, TOKEN).await;
    assert_eq!(status, 200);
    let welcome: Value = serde_json::from_str(&welcome).expect("a json welcome");
    assert_eq!(
        (welcome["text"].as_str(), welcome["sender"]["name"].as_str()),
        (Some("Welcome to Acme!"), Some(BOT_NAME))
    );

    let message = callbacks::message(
        4912661846655238145,
        USER,
        "John McClane",
        callbacks::text("where is my order?"),
    );
    assert_eq!(
        post(&sandbox, &channel.id, &message, "wrong-token").await.0,
        401,
        "a bad signature"
    );
    assert_eq!(post(&sandbox, &channel.id, &message, TOKEN).await.0, 200);
    assert_eq!(
        post(&sandbox, &channel.id, &message, TOKEN).await.0,
        200,
        "a retry"
    );
    let conversations = wait_for_conversations(&sandbox, 1).await;
    let conversation_id = conversations[0].id.clone();
    assert_eq!(conversations[0].title, "John McClane");
    let messages = all_messages(&sandbox, &conversation_id).await;
    assert_eq!(
        messages.len(),
        1,
        "the duplicate and the forged one stored nothing"
    );

    let mut api = sandbox.conversations().await;
    let reply = SendMessageRequest {
        conversation_id: conversation_id.clone(),
        text: "On its way!".into(),
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
    let call = &viber.sent()[0];
    assert_eq!(call.auth_token.as_deref(), Some(TOKEN));
    assert_eq!(
        (call.body["receiver"].as_str(), call.body["text"].as_str()),
        (Some(USER), Some("On its way!"))
    );
    assert_eq!(call.body["sender"]["name"], BOT_NAME);

    let seen = callbacks::status(
        "seen",
        sent.provider_message_id.parse().expect("a token"),
        USER,
        "",
    );
    assert_eq!(post(&sandbox, &channel.id, &seen, TOKEN).await.0, 200);
    wait_for_message(&sandbox, &conversation_id, &sent.id, "READ", |m| {
        m.status() == MessageStatus::Read
    })
    .await;

    assert_eq!(
        post(
            &sandbox,
            &channel.id,
            &callbacks::unsubscribed(9, USER),
            TOKEN
        )
        .await
        .0,
        200
    );
    viber.unsubscribe(USER);
    let refused = api.send_message(reply).await.expect("send").into_inner();
    let failed = wait_for_message(&sandbox, &conversation_id, &refused.id, "FAILED", |m| {
        m.status() == MessageStatus::Failed
    })
    .await;
    assert!(
        failed.failure_reason.contains("the customer unsubscribed"),
        "{}",
        failed.failure_reason
    );
    wait_until("the unsubscription notice", PATIENCE, || async {
        let all = all_messages(&sandbox, &conversation_id).await;
        all.iter()
            .any(|m| m.text.contains("unsubscribed from the bot"))
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn viber_omnictl_simulate_posts_a_signed_message() {
    let sandbox = Sandbox::start().await;
    let viber = StandIn::start().await;
    let channel = channel(&sandbox, &viber).await;
    let (grpc, http) = (sandbox.grpc_url(), sandbox.http_url());
    let argv = |token: &'static str| {
        [
            "simulate",
            "viber",
            "--http",
            &http,
            "--channel",
            &channel.id,
            "--auth-token",
            token,
            "--text",
            "Where is order 7?",
        ]
        .map(str::to_owned)
    };
    let forged = argv("not-the-token");
    let forged: Vec<&str> = forged.iter().map(String::as_str).collect();
    let refused = crate::ctl::omnictl(&grpc, &forged).await.unwrap_err();
    assert!(omnictl::describe(&refused).contains("401"), "{refused:#}");
    let real = argv(TOKEN);
    let real: Vec<&str> = real.iter().map(String::as_str).collect();
    let answer = crate::ctl::omnictl(&grpc, &real)
        .await
        .expect("simulate viber");
    assert_eq!(answer["status"], 200, "{answer}");
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    let messages = all_messages(&sandbox, &conversation.id).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].text, "Where is order 7?");
}
