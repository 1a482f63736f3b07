//! Operators' replies reach Telegram, and every outcome is recorded.

use omnibus_proto::{MessageStatus, SendMessageRequest};
use omnibus_telegram_standin::Scripted;
use omnibus_tests::{Sandbox, telegram};

use crate::support::{PATIENCE, all_messages, wait_for_conversations, wait_for_message};

const SECRET: &str = "s3cr3t-Value_42";

async fn conversation_with_customer(sandbox: &Sandbox) -> String {
    let channel = sandbox.telegram_channel(SECRET).await;
    let client = reqwest::Client::new();
    let update = telegram::text_update(1, 100_200_300, "Does it come in blue?");
    let status =
        telegram::post_update(&client, &sandbox.http_url(), &channel.id, SECRET, &update).await;
    assert_eq!(status, 200);
    wait_for_conversations(sandbox, 1).await.remove(0).id
}

fn reply(conversation_id: &str, text: &str, key: &str) -> SendMessageRequest {
    SendMessageRequest {
        conversation_id: conversation_id.to_owned(),
        text: text.to_owned(),
        idempotency_key: key.to_owned(),
        operator_id: "op-1".to_owned(),
        ..Default::default()
    }
}

#[tokio::test]
async fn reply_reaches_telegram_and_becomes_sent() {
    let sandbox = Sandbox::start().await;
    let conversation_id = conversation_with_customer(&sandbox).await;
    let mut api = sandbox.conversations().await;

    let message = api
        .send_message(reply(&conversation_id, "Yes, in blue too.", ""))
        .await
        .unwrap()
        .into_inner();
    // The send may already be through by the time the answer is read.
    assert!(
        matches!(
            message.status(),
            MessageStatus::Pending | MessageStatus::Sent
        ),
        "{:?}",
        message.status()
    );

    let sent = wait_for_message(&sandbox, &conversation_id, &message.id, "SENT", |m| {
        m.status() == MessageStatus::Sent
    })
    .await;
    let calls = sandbox.telegram.sent();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].method, "sendMessage");
    assert_eq!(calls[0].body["chat_id"], 100_200_300);
    assert_eq!(calls[0].body["text"], "Yes, in blue too.");
    assert!(!sent.provider_message_id.is_empty());
    assert!(
        sent.provider_message_id.parse::<i64>().is_ok(),
        "Telegram's message_id"
    );

    let conversation = api
        .get_conversation(omnibus_proto::GetConversationRequest {
            id: conversation_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!conversation.unanswered, "an operator answered");
}

#[tokio::test]
async fn same_idempotency_key_sends_once() {
    let sandbox = Sandbox::start().await;
    let conversation_id = conversation_with_customer(&sandbox).await;
    let mut api = sandbox.conversations().await;

    let first = api
        .send_message(reply(&conversation_id, "Once only", "key-1"))
        .await
        .unwrap()
        .into_inner();
    let second = api
        .send_message(reply(&conversation_id, "Once only", "key-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.id, second.id);

    wait_for_message(&sandbox, &conversation_id, &first.id, "SENT", |m| {
        m.status() == MessageStatus::Sent
    })
    .await;
    // A third, after it was sent, also returns the original.
    let third = api
        .send_message(reply(&conversation_id, "Once only", "key-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(third.id, first.id);
    assert_eq!(third.status(), MessageStatus::Sent);
    let outbound: Vec<_> = all_messages(&sandbox, &conversation_id)
        .await
        .into_iter()
        .filter(|m| m.text == "Once only")
        .collect();
    assert_eq!(outbound.len(), 1);
    assert_eq!(sandbox.telegram.sent().len(), 1, "Telegram got it once");
}

#[tokio::test]
async fn blocked_bot_fails_the_message_with_a_reason() {
    let sandbox = Sandbox::start().await;
    let conversation_id = conversation_with_customer(&sandbox).await;
    sandbox.telegram.script("sendMessage", Scripted::Blocked);
    let mut api = sandbox.conversations().await;

    let message = api
        .send_message(reply(&conversation_id, "Hello?", ""))
        .await
        .unwrap()
        .into_inner();
    let failed = wait_for_message(&sandbox, &conversation_id, &message.id, "FAILED", |m| {
        m.status() == MessageStatus::Failed
    })
    .await;
    assert!(
        failed.failure_reason.contains("blocked the bot"),
        "{}",
        failed.failure_reason
    );
    let history = all_messages(&sandbox, &conversation_id).await;
    let notice = history.last().unwrap();
    assert_eq!(notice.author_kind(), omnibus_proto::AuthorKind::System);
    assert!(notice.text.contains("blocked the bot"));
    assert_eq!(sandbox.telegram.sent().len(), 0);
}

#[tokio::test]
async fn rate_limit_is_retried_after_retry_after() {
    let sandbox = Sandbox::start().await;
    let conversation_id = conversation_with_customer(&sandbox).await;
    sandbox
        .telegram
        .script("sendMessage", Scripted::TooManyRequests { retry_after: 1 });
    let mut api = sandbox.conversations().await;

    let message = api
        .send_message(reply(&conversation_id, "Patience", ""))
        .await
        .unwrap()
        .into_inner();
    wait_for_message(&sandbox, &conversation_id, &message.id, "SENT", |m| {
        m.status() == MessageStatus::Sent
    })
    .await;
    let calls: Vec<_> = sandbox
        .telegram
        .requests()
        .into_iter()
        .filter(|r| r.method == "sendMessage")
        .collect();
    assert_eq!(calls.len(), 2, "one refused, one retried");
    let waited = calls[1].at.duration_since(calls[0].at);
    assert!(
        waited >= std::time::Duration::from_secs(1),
        "waited {waited:?}"
    );
}

#[tokio::test]
async fn bad_request_fails_with_telegrams_description() {
    let sandbox = Sandbox::start().await;
    let conversation_id = conversation_with_customer(&sandbox).await;
    sandbox.telegram.script(
        "sendMessage",
        Scripted::BadRequest("Bad Request: chat not found".into()),
    );
    let mut api = sandbox.conversations().await;
    let message = api
        .send_message(reply(&conversation_id, "Anyone?", ""))
        .await
        .unwrap()
        .into_inner();
    let failed = wait_for_message(&sandbox, &conversation_id, &message.id, "FAILED", |m| {
        m.status() == MessageStatus::Failed
    })
    .await;
    assert!(
        failed.failure_reason.contains("chat not found"),
        "{}",
        failed.failure_reason
    );
}

#[tokio::test]
async fn a_refused_bot_token_fails_the_message_and_flags_the_channel() {
    let sandbox = Sandbox::start().await;
    let conversation_id = conversation_with_customer(&sandbox).await;
    let channel_id = {
        let mut api = sandbox.conversations().await;
        let request = omnibus_proto::GetConversationRequest {
            id: conversation_id.clone(),
        };
        api.get_conversation(request)
            .await
            .unwrap()
            .into_inner()
            .channel_id
    };
    // The token was revoked at @BotFather: every call answers 401.
    sandbox.telegram.only_token("1:another");
    let message = sandbox
        .conversations()
        .await
        .send_message(reply(&conversation_id, "Hello?", ""))
        .await
        .unwrap()
        .into_inner();
    let failed = wait_for_message(&sandbox, &conversation_id, &message.id, "FAILED", |m| {
        m.status() == MessageStatus::Failed
    })
    .await;
    assert!(
        failed.failure_reason.contains("refused the bot token"),
        "{}",
        failed.failure_reason
    );
    let channels = sandbox.channels().await;
    let channel = omnibus_testkit::wait_until("the channel in ERROR", PATIENCE, || {
        let mut channels = channels.clone();
        let request = omnibus_proto::GetChannelRequest {
            id: channel_id.clone(),
        };
        async move {
            let channel = channels.get_channel(request).await.ok()?.into_inner();
            (channel.status() == omnibus_proto::ChannelStatus::Error).then_some(channel)
        }
    })
    .await;
    assert!(
        channel.status_reason.contains("refused the bot token"),
        "{}",
        channel.status_reason
    );
    assert!(!channel.status_reason.contains("AAE-test_token"));
}
