//! The projection is disposable: dropped and rebuilt from the stream, it
//! comes back identical, and nothing is sent to customers again.

use omnibus_proto::{MessageStatus, SendMessageRequest};
use omnibus_tests::{Sandbox, SandboxOptions, telegram};

use crate::support::{all_conversations, all_messages, wait_for_conversations, wait_for_message};

const SECRET: &str = "s3cr3t-Value_42";

async fn drop_and_rebuild(options: SandboxOptions) {
    let mut sandbox = Sandbox::start_with(options).await;
    let channel = sandbox.telegram_channel(SECRET).await;
    let client = reqwest::Client::new();
    for (update_id, chat) in [(1, 100), (2, 200), (3, 100), (4, 300)] {
        let update = telegram::text_update(update_id, chat, &format!("message {update_id}"));
        let status =
            telegram::post_update(&client, &sandbox.http_url(), &channel.id, SECRET, &update).await;
        assert_eq!(status, 200);
    }
    let conversations = wait_for_conversations(&sandbox, 3).await;
    let mut api = sandbox.conversations().await;
    let sent = api
        .send_message(SendMessageRequest {
            conversation_id: conversations[0].id.clone(),
            text: "We are on it".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    wait_for_message(&sandbox, &conversations[0].id, &sent.id, "SENT", |m| {
        m.status() == MessageStatus::Sent
    })
    .await;
    let before = snapshot(&sandbox).await;
    let sends_before = sandbox.telegram.sent().len();

    sandbox.stop_server().await;
    sandbox.db.drop_all().await;
    sandbox.start_server().await;

    let after = omnibus_testkit::wait_until(
        "the rebuilt projection",
        crate::support::PATIENCE,
        || async {
            let after = snapshot(&sandbox).await;
            (after == before).then_some(after)
        },
    )
    .await;
    assert_eq!(after, before);
    let channels = sandbox
        .channels()
        .await
        .list_channels(omnibus_proto::ListChannelsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(channels.channels.len(), 1, "the channel is rebuilt too");
    assert_eq!(
        sandbox.telegram.sent().len(),
        sends_before,
        "nothing sent again"
    );
}

/// Conversations and their messages, as comparable values.
async fn snapshot(
    sandbox: &Sandbox,
) -> Vec<(omnibus_proto::Conversation, Vec<omnibus_proto::Message>)> {
    let mut all = Vec::new();
    let mut conversations = all_conversations(sandbox).await;
    conversations.sort_by(|a, b| a.id.cmp(&b.id));
    for conversation in conversations {
        let messages = all_messages(sandbox, &conversation.id).await;
        all.push((conversation, messages));
    }
    all
}

#[tokio::test]
async fn dropped_sqlite_projection_is_rebuilt_identically() {
    drop_and_rebuild(SandboxOptions::default()).await;
}

#[tokio::test]
async fn dropped_postgres_projection_is_rebuilt_identically() {
    drop_and_rebuild(SandboxOptions {
        postgres: true,
        ..Default::default()
    })
    .await;
}
