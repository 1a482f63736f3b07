//! Notifications: operators' live stream (order, resume, filters) and signed
//! outbound webhooks (retries, refusals, restarts), end to end.

mod disable;
mod lag;
mod operators;
mod rebuild;
mod receiver;
mod sealed;
mod webhooks;

use std::time::{Duration, Instant};

use omnibus_proto::{Notification, NotificationKind, SubscribeRequest};
use omnibus_telegram_standin::Scripted;
use omnibus_testkit::wait_until;
use omnibus_tests::{Sandbox, telegram};
use tonic::Streaming;

use crate::support::{PATIENCE, wait_for_conversations};

const SECRET: &str = "s3cr3t-Value_42";
const CHAT: i64 = 100_200_300;

/// Posts a customer's text message and checks the webhook took it.
pub(super) async fn customer_writes(
    sandbox: &Sandbox,
    channel_id: &str,
    update_id: i64,
    text: &str,
) {
    customer_in_chat_writes(sandbox, channel_id, CHAT, update_id, text).await;
}

pub(super) async fn customer_in_chat_writes(
    sandbox: &Sandbox,
    channel_id: &str,
    chat: i64,
    update_id: i64,
    text: &str,
) {
    let update = telegram::text_update(update_id, chat, text);
    let client = reqwest::Client::new();
    let status =
        telegram::post_update(&client, &sandbox.http_url(), channel_id, SECRET, &update).await;
    assert_eq!(status, 200);
}

pub(super) async fn subscribe(
    sandbox: &Sandbox,
    request: SubscribeRequest,
) -> Streaming<Notification> {
    sandbox
        .notifications()
        .await
        .subscribe(request)
        .await
        .expect("subscribe")
        .into_inner()
}

/// The next notification, failing the test after `within`.
pub(super) async fn next(stream: &mut Streaming<Notification>, within: Duration) -> Notification {
    tokio::time::timeout(within, stream.message())
        .await
        .expect("a notification in time")
        .expect("stream ok")
        .expect("stream open")
}

#[tokio::test]
async fn stream_sees_new_conversation_then_new_message_within_a_second() {
    let sandbox = Sandbox::start().await;
    let channel = sandbox.telegram_channel(SECRET).await;
    let mut stream = subscribe(&sandbox, SubscribeRequest::default()).await;

    let posted = Instant::now();
    customer_writes(&sandbox, &channel.id, 1, "Hello, is anyone there?").await;
    let first = next(&mut stream, Duration::from_secs(1)).await;
    let second = next(&mut stream, Duration::from_secs(1)).await;
    let elapsed = posted.elapsed();

    assert_eq!(first.kind(), NotificationKind::NewConversation);
    assert_eq!(second.kind(), NotificationKind::NewMessage);
    assert_eq!(second.text, "Hello, is anyone there?");
    assert_eq!(first.conversation_id, second.conversation_id);
    assert!(!second.message_id.is_empty());
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
}

#[tokio::test]
async fn reconnect_with_after_id_gets_exactly_what_was_missed() {
    let sandbox = Sandbox::start().await;
    let channel = sandbox.telegram_channel(SECRET).await;
    let mut stream = subscribe(&sandbox, SubscribeRequest::default()).await;
    customer_writes(&sandbox, &channel.id, 1, "one").await;
    next(&mut stream, PATIENCE).await;
    let seen = next(&mut stream, PATIENCE).await;
    assert_eq!(seen.text, "one");
    drop(stream);

    customer_writes(&sandbox, &channel.id, 2, "two").await;
    customer_writes(&sandbox, &channel.id, 3, "three").await;
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    wait_until("both missed messages stored", PATIENCE, || async {
        let messages = crate::support::all_messages(&sandbox, &conversation.id).await;
        (messages.len() == 3).then_some(())
    })
    .await;

    let mut resumed = subscribe(
        &sandbox,
        SubscribeRequest {
            after_id: seen.id.clone(),
            ..Default::default()
        },
    )
    .await;
    let two = next(&mut resumed, PATIENCE).await;
    let three = next(&mut resumed, PATIENCE).await;
    assert_eq!(
        (two.kind(), two.text.as_str()),
        (NotificationKind::NewMessage, "two")
    );
    assert_eq!(
        (three.kind(), three.text.as_str()),
        (NotificationKind::NewMessage, "three")
    );

    // Then live, without a gap or a repeat.
    customer_writes(&sandbox, &channel.id, 4, "four").await;
    let four = next(&mut resumed, PATIENCE).await;
    assert_eq!(four.text, "four");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), resumed.message())
            .await
            .is_err(),
        "nothing more"
    );
}

#[tokio::test]
async fn blocked_bot_produces_delivery_failed() {
    let sandbox = Sandbox::start().await;
    let channel = sandbox.telegram_channel(SECRET).await;
    customer_writes(&sandbox, &channel.id, 1, "Hi").await;
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    let mut stream = subscribe(
        &sandbox,
        SubscribeRequest {
            kinds: vec![NotificationKind::DeliveryFailed as i32],
            ..Default::default()
        },
    )
    .await;
    sandbox.telegram.script("sendMessage", Scripted::Blocked);
    let message = sandbox
        .conversations()
        .await
        .send_message(omnibus_proto::SendMessageRequest {
            conversation_id: conversation.id.clone(),
            text: "Hello?".into(),
            operator_id: "op-1".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();

    let failed = next(&mut stream, PATIENCE).await;
    assert_eq!(failed.kind(), NotificationKind::DeliveryFailed);
    assert_eq!(failed.message_id, message.id);
    assert_eq!(failed.conversation_id, conversation.id);
    assert!(failed.text.contains("blocked the bot"), "{}", failed.text);
}

#[tokio::test]
async fn a_customer_waiting_too_long_is_unanswered_unless_no_reply_is_needed() {
    let sandbox = Sandbox::start().await;
    let channel = sandbox
        .channels()
        .await
        .create_channel(omnibus_proto::CreateChannelRequest {
            kind: omnibus_proto::ChannelKind::Telegram as i32,
            credentials: [
                (
                    "bot_token".to_owned(),
                    "7000000001:AAE-test_token".to_owned(),
                ),
                ("secret_token".to_owned(), SECRET.to_owned()),
            ]
            .into(),
            settings: Some(omnibus_proto::ChannelSettings {
                unanswered_after_seconds: Some(2),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("create a channel with a threshold")
        .into_inner();
    let mut stream = subscribe(
        &sandbox,
        SubscribeRequest {
            kinds: vec![NotificationKind::Unanswered as i32],
            ..Default::default()
        },
    )
    .await;

    // B writes first and is marked as needing no reply; A writes after.
    customer_in_chat_writes(&sandbox, &channel.id, 2, 1, "thanks, bye").await;
    let b = wait_for_conversations(&sandbox, 1).await.remove(0);
    sandbox
        .conversations()
        .await
        .mark_no_reply_needed(omnibus_proto::MarkNoReplyNeededRequest { id: b.id.clone() })
        .await
        .expect("mark no reply needed");
    customer_in_chat_writes(&sandbox, &channel.id, 1, 2, "where is my order?").await;

    // B's deadline came first; the first UNANSWERED being A's means B's
    // never fired.
    let unanswered = next(&mut stream, PATIENCE).await;
    assert_eq!(unanswered.kind(), NotificationKind::Unanswered);
    assert_ne!(unanswered.conversation_id, b.id);
    assert!(!unanswered.message_id.is_empty());
    let a = crate::support::all_conversations(&sandbox)
        .await
        .into_iter()
        .find(|c| c.id != b.id)
        .expect("A's conversation");
    assert_eq!(unanswered.conversation_id, a.id);
}

#[tokio::test]
async fn omnictl_watch_prints_the_stream() {
    let sandbox = Sandbox::start().await;
    let channel = sandbox.telegram_channel(SECRET).await;
    let cli = omnictl::Cli {
        addr: sandbox.grpc_url(),
        token: None,
        json: false,
        command: omnictl::Command::Watch(omnictl::watch::WatchArgs {
            operator: None,
            kinds: vec![],
            after: Some("0-0".into()),
            count: Some(2),
        }),
    };
    let watch = tokio::spawn(async move {
        let mut out = Vec::new();
        omnictl::run_with(cli, &mut out).await.map(|()| out)
    });
    customer_writes(&sandbox, &channel.id, 1, "Hello from Telegram").await;
    let out = tokio::time::timeout(PATIENCE, watch)
        .await
        .expect("watch stops after --count")
        .unwrap()
        .expect("watch succeeds");
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains("NEW_CONVERSATION"), "{text}");
    assert!(lines[1].contains("NEW_MESSAGE"), "{text}");
    assert!(lines[1].contains("Hello from Telegram"), "{text}");
}

#[tokio::test]
async fn closing_and_writing_again_reopens() {
    let sandbox = Sandbox::start().await;
    let channel = sandbox.telegram_channel(SECRET).await;
    let mut stream = subscribe(&sandbox, SubscribeRequest::default()).await;
    customer_writes(&sandbox, &channel.id, 1, "hi").await;
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    sandbox
        .conversations()
        .await
        .close_conversation(omnibus_proto::CloseConversationRequest {
            id: conversation.id.clone(),
            operator_id: "op-1".into(),
        })
        .await
        .expect("close");
    customer_writes(&sandbox, &channel.id, 2, "one more thing").await;

    let kinds = [
        NotificationKind::NewConversation,
        NotificationKind::NewMessage,
        NotificationKind::ConversationClosed,
        NotificationKind::ConversationReopened,
        NotificationKind::NewMessage,
    ];
    for kind in kinds {
        let note = next(&mut stream, PATIENCE).await;
        assert_eq!(
            (note.kind(), note.conversation_id.as_str()),
            (kind, conversation.id.as_str())
        );
    }
}
