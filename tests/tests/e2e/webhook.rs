//! The Telegram webhook: verification, bad input, duplicates, outages.
//! Every refusal must leave the stream and the projection untouched.

use omnibus_proto::{AuthorKind, Direction};
use omnibus_tests::{Sandbox, telegram};
use serde_json::json;

use crate::support::{all_conversations, all_messages, wait_for_conversations};

const SECRET: &str = "s3cr3t-Value_42";

#[tokio::test]
async fn a_customer_message_opens_a_conversation() {
    let sandbox = Sandbox::start().await;
    let channel = sandbox.telegram_channel(SECRET).await;
    assert_eq!(channel.name, "SupportBot", "the bot's name from getMe");
    assert_eq!(
        channel.webhook_path,
        format!("/webhooks/telegram/{}", channel.id)
    );
    let client = reqwest::Client::new();
    let update = telegram::text_update(10, 100_200_300, "Does it come in blue?");
    let status =
        telegram::post_update(&client, &sandbox.http_url(), &channel.id, SECRET, &update).await;
    assert_eq!(status, 200);

    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    assert_eq!(conversation.title, "Sojan Jose");
    assert_eq!(conversation.channel_id, channel.id);
    assert_eq!(conversation.unread_count, 1);
    assert!(conversation.unanswered);
    let messages = all_messages(&sandbox, &conversation.id).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].text, "Does it come in blue?");
    assert_eq!(messages[0].direction(), Direction::Inbound);
    assert_eq!(messages[0].author_kind(), AuthorKind::Contact);
    assert_eq!(messages[0].author_name, "Sojan Jose");
}

#[tokio::test]
async fn the_same_update_three_times_is_one_message() {
    let sandbox = Sandbox::start().await;
    let channel = sandbox.telegram_channel(SECRET).await;
    let client = reqwest::Client::new();
    let update = telegram::text_update(11, 100_200_300, "Hello");
    for _ in 0..3 {
        let status =
            telegram::post_update(&client, &sandbox.http_url(), &channel.id, SECRET, &update).await;
        assert_eq!(status, 200, "duplicates are acknowledged");
    }
    // A later, different update proves the projection got past the repeats.
    let later = telegram::text_update(12, 100_200_300, "Anyone there?");
    telegram::post_update(&client, &sandbox.http_url(), &channel.id, SECRET, &later).await;
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    let messages =
        omnibus_testkit::wait_until("both messages", crate::support::PATIENCE, || async {
            let messages = all_messages(&sandbox, &conversation.id).await;
            (messages.len() >= 2).then_some(messages)
        })
        .await;
    let texts: Vec<&str> = messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["Hello", "Anyone there?"]);
}

#[tokio::test]
async fn refused_webhooks_store_nothing() {
    let sandbox = Sandbox::start().await;
    let channel = sandbox.telegram_channel(SECRET).await;
    let stored_before = sandbox.stream_messages().await;
    let client = reqwest::Client::new();
    let url = sandbox.http_url();
    let update = telegram::text_update(20, 100_200_300, "hi").to_string();

    let missing = telegram::post(&client, &url, &channel.id, None, update.clone()).await;
    assert_eq!(missing, 401, "missing secret");
    let wrong = telegram::post(&client, &url, &channel.id, Some("wrong"), update.clone()).await;
    assert_eq!(wrong, 403, "wrong secret");
    let malformed = telegram::post(&client, &url, &channel.id, Some(SECRET), "{not json").await;
    assert_eq!(malformed, 400, "malformed JSON");
    let no_update_id = telegram::post(
        &client,
        &url,
        &channel.id,
        Some(SECRET),
        r#"{"message":{}}"#,
    )
    .await;
    assert_eq!(no_update_id, 400, "not an update");
    let unknown = telegram::post(&client, &url, "ch_nope", Some(SECRET), update.clone()).await;
    assert_eq!(unknown, 404, "unknown channel");
    let huge = json!({"update_id": 21, "message": {"text": "x".repeat(1024 * 1024)}}).to_string();
    let too_large = telegram::post(&client, &url, &channel.id, Some(SECRET), huge).await;
    assert_eq!(too_large, 413, "body over 1 MiB");

    assert_eq!(
        sandbox.stream_messages().await,
        stored_before,
        "nothing stored"
    );
    assert!(all_conversations(&sandbox).await.is_empty());
}

#[tokio::test]
async fn a_deleted_channel_answers_404() {
    let sandbox = Sandbox::start().await;
    let channel = sandbox.telegram_channel(SECRET).await;
    sandbox
        .channels()
        .await
        .delete_channel(omnibus_proto::DeleteChannelRequest {
            id: channel.id.clone(),
        })
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let update = telegram::text_update(30, 100_200_300, "hi");
    let status =
        telegram::post_update(&client, &sandbox.http_url(), &channel.id, SECRET, &update).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn nats_down_answers_503_and_the_retry_is_stored_once() {
    let mut sandbox = Sandbox::start().await;
    let channel = sandbox.telegram_channel(SECRET).await;
    let client = reqwest::Client::new();
    let update = telegram::text_update(40, 100_200_300, "are you there?");

    sandbox.nats.kill();
    let status =
        telegram::post_update(&client, &sandbox.http_url(), &channel.id, SECRET, &update).await;
    assert_eq!(status, 503, "not stored, so not acknowledged");
    let ready = client
        .get(format!("{}/readyz", sandbox.http_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503, "not ready without NATS");

    sandbox.nats.restart().await;
    // Telegram retries until it gets a 200.
    omnibus_testkit::wait_until(
        "the retried webhook to be accepted",
        crate::support::PATIENCE,
        || async {
            let status =
                telegram::post_update(&client, &sandbox.http_url(), &channel.id, SECRET, &update)
                    .await;
            (status == 200).then_some(())
        },
    )
    .await;
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    let messages = all_messages(&sandbox, &conversation.id).await;
    assert_eq!(messages.len(), 1, "stored exactly once");
}

#[tokio::test]
async fn edits_replies_and_groups_are_normalized() {
    let sandbox = Sandbox::start().await;
    let channel = sandbox.telegram_channel(SECRET).await;
    let client = reqwest::Client::new();
    let url = sandbox.http_url();
    let now = omnibus_core::now_ms() / 1000;
    let from =
        json!({"id": 100_200_300, "is_bot": false, "first_name": "Sojan", "last_name": "Jose"});
    let chat =
        json!({"id": 100_200_300, "first_name": "Sojan", "last_name": "Jose", "type": "private"});
    let original = json!({"update_id": 50, "message": {"message_id": 7, "from": from, "chat": chat, "date": now, "text": "teh box is broken"}});
    let edit = json!({"update_id": 51, "edited_message": {"message_id": 7, "from": from, "chat": chat, "date": now, "edit_date": now + 5, "text": "the box is broken"}});
    let answer = json!({"update_id": 52, "message": {"message_id": 8, "from": from, "chat": chat, "date": now + 6,
        "photo": [{"file_id": "small", "file_unique_id": "s", "width": 90, "height": 67}, {"file_id": "large", "file_unique_id": "l", "width": 800, "height": 600}],
        "caption": "see photo", "reply_to_message": {"message_id": 7, "chat": chat, "date": now}}});
    let group = json!({"update_id": 53, "message": {"message_id": 1, "from": {"id": 555, "is_bot": false, "first_name": "Anna"},
        "chat": {"id": -100_777, "title": "Acme buyers", "type": "supergroup"}, "date": now, "text": "hello from the group"}});
    for update in [&original, &edit, &answer, &group] {
        assert_eq!(
            telegram::post_update(&client, &url, &channel.id, SECRET, update).await,
            200
        );
    }
    let conversations = wait_for_conversations(&sandbox, 2).await;
    let private = conversations.iter().find(|c| !c.is_group).unwrap();
    let messages =
        omnibus_testkit::wait_until("two private messages", crate::support::PATIENCE, || async {
            let m = all_messages(&sandbox, &private.id).await;
            (m.len() == 2).then_some(m)
        })
        .await;
    assert_eq!(messages[0].text, "the box is broken");
    assert!(messages[0].edited);
    assert_eq!(messages[1].text, "see photo");
    assert_eq!(messages[1].reply_to_message_id, messages[0].id);
    assert_eq!(messages[1].attachments[0].provider_file_id, "large");

    let group = conversations.iter().find(|c| c.is_group).unwrap();
    assert_eq!(group.title, "Acme buyers");
    let group_messages = all_messages(&sandbox, &group.id).await;
    assert_eq!(group_messages[0].author_name, "Anna");
}
