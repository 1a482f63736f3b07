//! What a Telegram customer does besides writing reaches the operator:
//! blocking the bot, pressing a button (answered once with
//! `answerCallbackQuery`), reacting, group service messages; and the
//! webhook registration asks Telegram for all of it, for new channels and
//! existing ones.

use omnibus_proto::{AuthorKind, Message, MessageStatus, SendMessageRequest};
use omnibus_server::config::ENV_PUBLIC_URL;
use omnibus_telegram_standin::{Scripted, Webhook};
use omnibus_testkit::wait_until;
use omnibus_tests::{Sandbox, SandboxOptions, telegram};
use serde_json::{Value, json};

use crate::support::{PATIENCE, all_messages, wait_for_conversations, wait_for_message};

const SECRET: &str = "s3cr3t-Value_42";
const TOKEN: &str = "7000000001:AAE-test_token";
const CUSTOMER: i64 = 100_200_300;
/// The kinds every registration must name.
const KINDS: [&str; 5] = [
    "message",
    "edited_message",
    "callback_query",
    "my_chat_member",
    "message_reaction",
];

fn customer() -> Value {
    json!({"id": CUSTOMER, "is_bot": false, "first_name": "Sojan", "last_name": "Jose",
           "username": "sojan", "language_code": "en"})
}

fn private_chat() -> Value {
    json!({"id": CUSTOMER, "first_name": "Sojan", "last_name": "Jose", "username": "sojan",
           "type": "private"})
}

fn bot() -> Value {
    json!({"id": 7000000001_i64, "is_bot": true, "first_name": "SupportBot",
           "username": "acme_support_bot"})
}

/// The channel and the customer's conversation, opened by a first message.
async fn customer_wrote(sandbox: &Sandbox) -> (String, String) {
    let channel = sandbox.telegram_channel(SECRET).await;
    post(
        sandbox,
        &channel.id,
        &telegram::text_update(1, CUSTOMER, "Hello"),
    )
    .await;
    let conversation = wait_for_conversations(sandbox, 1).await.remove(0);
    (channel.id, conversation.id)
}

async fn post(sandbox: &Sandbox, channel_id: &str, update: &Value) {
    let client = reqwest::Client::new();
    let status =
        telegram::post_update(&client, &sandbox.http_url(), channel_id, SECRET, update).await;
    assert_eq!(status, 200, "{update}");
}

/// Waits for a message of the conversation with `text` and returns it.
async fn wait_for_text(sandbox: &Sandbox, conversation_id: &str, text: &str) -> Message {
    wait_until(&format!("a message {text:?}"), PATIENCE, || async {
        all_messages(sandbox, conversation_id)
            .await
            .into_iter()
            .find(|m| m.text == text)
    })
    .await
}

fn my_chat_member(update_id: i64, old: &str, new: &str) -> Value {
    json!({"update_id": update_id, "my_chat_member": {
        "chat": private_chat(), "from": customer(), "date": omnibus_core::now_ms() / 1000,
        "old_chat_member": {"user": bot(), "status": old},
        "new_chat_member": {"user": bot(), "status": new, "until_date": 0}}})
}

#[tokio::test]
async fn blocking_the_bot_shows_at_once_and_replies_then_fail_readably() {
    let sandbox = Sandbox::start().await;
    let (channel_id, conversation_id) = customer_wrote(&sandbox).await;

    post(
        &sandbox,
        &channel_id,
        &my_chat_member(2, "member", "kicked"),
    )
    .await;
    let blocked = wait_for_text(&sandbox, &conversation_id, "The customer blocked the bot").await;
    assert_eq!(blocked.author_kind(), AuthorKind::System);

    // Telegram refuses sends to a customer who blocked the bot.
    sandbox.telegram.script("sendMessage", Scripted::Blocked);
    let mut api = sandbox.conversations().await;
    let reply = api
        .send_message(SendMessageRequest {
            conversation_id: conversation_id.clone(),
            text: "Are you still there?".into(),
            operator_id: "op-1".into(),
            ..Default::default()
        })
        .await
        .expect("send")
        .into_inner();
    let failed = wait_for_message(&sandbox, &conversation_id, &reply.id, "FAILED", |m| {
        m.status() == MessageStatus::Failed
    })
    .await;
    assert!(
        failed.failure_reason.contains("blocked the bot"),
        "{}",
        failed.failure_reason
    );

    post(
        &sandbox,
        &channel_id,
        &my_chat_member(3, "kicked", "member"),
    )
    .await;
    let unblocked =
        wait_for_text(&sandbox, &conversation_id, "The customer unblocked the bot").await;
    assert_eq!(unblocked.author_kind(), AuthorKind::System);
    assert_eq!(wait_for_conversations(&sandbox, 1).await.len(), 1);
}

fn button_press(update_id: i64, query_id: &str, message_id: i64, data: &str) -> Value {
    json!({"update_id": update_id, "callback_query": {
        "id": query_id, "from": customer(), "chat_instance": "-8891234567890123456",
        "message": {"message_id": message_id, "from": bot(), "chat": private_chat(),
            "date": omnibus_core::now_ms() / 1000, "text": "Was this helpful?",
            "reply_markup": {"inline_keyboard": [[
                {"text": "Yes", "callback_data": "helpful:yes"},
                {"text": "No", "callback_data": "helpful:no"}]]}},
        "data": data}})
}

#[tokio::test]
async fn a_button_press_is_shown_and_answered_once_even_when_delivered_twice() {
    let sandbox = Sandbox::start().await;
    let (channel_id, conversation_id) = customer_wrote(&sandbox).await;

    let press = button_press(2, "4382bfdwdsb323b2d9", 77, "helpful:yes");
    post(&sandbox, &channel_id, &press).await;
    post(&sandbox, &channel_id, &press).await;
    let shown = wait_for_text(&sandbox, &conversation_id, "Pressed “Yes” (helpful:yes)").await;
    assert_eq!(shown.author_kind(), AuthorKind::Contact);
    assert!(
        !shown.reply_to_message_id.is_empty(),
        "the button's message"
    );

    // A second, different press proves the repeat had its chance to answer.
    post(
        &sandbox,
        &channel_id,
        &button_press(3, "q-second", 77, "helpful:no"),
    )
    .await;
    wait_for_text(&sandbox, &conversation_id, "Pressed “No” (helpful:no)").await;
    let answered = wait_until("both presses answered", PATIENCE, || async {
        let answered = sandbox.telegram.answered_callbacks();
        (answered.len() >= 2).then_some(answered)
    })
    .await;
    let mut answered = answered;
    answered.sort();
    assert_eq!(answered, ["4382bfdwdsb323b2d9", "q-second"], "once each");
    let presses = all_messages(&sandbox, &conversation_id)
        .await
        .into_iter()
        .filter(|m| m.text.starts_with("Pressed"))
        .count();
    assert_eq!(presses, 2);
}

#[tokio::test]
async fn a_reaction_shows_on_the_message_reacted_to() {
    let sandbox = Sandbox::start().await;
    let (channel_id, conversation_id) = customer_wrote(&sandbox).await;
    let original = all_messages(&sandbox, &conversation_id).await.remove(0);

    let reaction = json!({"update_id": 2, "message_reaction": {
        "chat": private_chat(), "message_id": 1, "user": customer(),
        "date": omnibus_core::now_ms() / 1000,
        "old_reaction": [], "new_reaction": [{"type": "emoji", "emoji": "👍"}]}});
    post(&sandbox, &channel_id, &reaction).await;
    let shown = wait_for_text(&sandbox, &conversation_id, "👍").await;
    assert_eq!(shown.reply_to_message_id, original.id);
    assert_eq!(shown.author_kind(), AuthorKind::Contact);
}

#[tokio::test]
async fn a_reaction_to_the_operators_reply_shows_on_that_reply() {
    let sandbox = Sandbox::start().await;
    let (channel_id, conversation_id) = customer_wrote(&sandbox).await;
    let mut api = sandbox.conversations().await;
    let reply = api
        .send_message(SendMessageRequest {
            conversation_id: conversation_id.clone(),
            text: "Your order ships today".into(),
            operator_id: "op-1".into(),
            ..Default::default()
        })
        .await
        .expect("send")
        .into_inner();
    let sent = wait_for_message(&sandbox, &conversation_id, &reply.id, "SENT", |m| {
        !m.provider_message_id.is_empty()
    })
    .await;
    let telegram_id: i64 = sent.provider_message_id.parse().expect("Telegram's id");

    let reaction = json!({"update_id": 2, "message_reaction": {
        "chat": private_chat(), "message_id": telegram_id, "user": customer(),
        "date": omnibus_core::now_ms() / 1000,
        "old_reaction": [], "new_reaction": [{"type": "emoji", "emoji": "❤"}]}});
    post(&sandbox, &channel_id, &reaction).await;
    let shown = wait_for_text(&sandbox, &conversation_id, "❤").await;
    assert_eq!(
        shown.reply_to_message_id, reply.id,
        "on our reply, not a customer message"
    );
}

#[tokio::test]
async fn group_service_messages_are_system_lines_on_the_group() {
    let sandbox = Sandbox::start().await;
    let channel = sandbox.telegram_channel(SECRET).await;
    let group = json!({"id": -1001234567890_i64, "title": "Acme customers", "type": "supergroup",
                       "is_forum": true});
    let anna = json!({"id": 555, "is_bot": false, "first_name": "Anna", "last_name": "Petrova"});
    let now = omnibus_core::now_ms() / 1000;
    let added = json!({"update_id": 1, "my_chat_member": {
        "chat": group, "from": anna, "date": now,
        "old_chat_member": {"user": bot(), "status": "left"},
        "new_chat_member": {"user": bot(), "status": "member"}}});
    post(&sandbox, &channel.id, &added).await;
    let topic = json!({"update_id": 2, "message": {
        "message_id": 120, "message_thread_id": 120, "is_topic_message": true,
        "from": anna, "chat": group, "date": now,
        "forum_topic_created": {"name": "Delivery", "icon_color": 7322096}}});
    post(&sandbox, &channel.id, &topic).await;

    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    assert_eq!(conversation.title, "Acme customers");
    let lines = wait_until("both lines", PATIENCE, || async {
        let messages = all_messages(&sandbox, &conversation.id).await;
        (messages.len() >= 2).then_some(messages)
    })
    .await;
    let texts: Vec<&str> = lines.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Anna Petrova added the bot to the group",
            "Anna Petrova created the topic “Delivery”"
        ]
    );
    assert!(lines.iter().all(|m| m.author_kind() == AuthorKind::System));
}

#[tokio::test]
async fn a_new_channel_registers_every_update_kind() {
    let sandbox = Sandbox::start_with(SandboxOptions {
        env: vec![(ENV_PUBLIC_URL, "https://support.example.com".to_owned())],
        ..SandboxOptions::default()
    })
    .await;
    let channel = sandbox.telegram_channel(SECRET).await;
    let webhook = sandbox.telegram.webhook(TOKEN).expect("registered");
    assert_eq!(
        webhook.url,
        format!(
            "https://support.example.com/webhooks/telegram/{}",
            channel.id
        )
    );
    assert_eq!(webhook.allowed_updates, KINDS);
}

#[tokio::test]
async fn an_existing_channels_older_registration_is_brought_up_to_date() {
    let mut sandbox = Sandbox::start().await;
    let channel = sandbox.telegram_channel(SECRET).await;
    // Registered by an older version: no reactions, no membership changes.
    let url = format!(
        "https://support.example.com/webhooks/telegram/{}",
        channel.id
    );
    sandbox.telegram.register_webhook(
        TOKEN,
        Webhook {
            url: url.clone(),
            secret_token: Some(SECRET.to_owned()),
            allowed_updates: vec!["message".into(), "edited_message".into()],
            max_connections: Some(20),
        },
    );
    sandbox.restart_server().await;

    let webhook = wait_until("the registration brought up to date", PATIENCE, || async {
        sandbox
            .telegram
            .webhook(TOKEN)
            .filter(|w| w.allowed_updates.len() == KINDS.len())
    })
    .await;
    assert_eq!(webhook.allowed_updates, KINDS);
    assert_eq!(webhook.url, url, "the registered URL is kept");
    assert_eq!(webhook.secret_token.as_deref(), Some(SECRET));
    assert_eq!(webhook.max_connections, Some(20));

    // Once current, a restart only reads it again.
    assert_eq!(calls(&sandbox, "setWebhook"), 1);
    let reads = calls(&sandbox, "getWebhookInfo");
    sandbox.restart_server().await;
    wait_until("the registration read again", PATIENCE, || async {
        (calls(&sandbox, "getWebhookInfo") > reads).then_some(())
    })
    .await;
    assert_eq!(calls(&sandbox, "setWebhook"), 1);
}

/// How many calls of `method` the stand-in received.
fn calls(sandbox: &Sandbox, method: &str) -> usize {
    sandbox.telegram.calls(method).len()
}
