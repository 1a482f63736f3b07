//! A deleted channel keeps its conversations readable and refuses sends; a
//! channel created again for the same bot carries them on.

use omnibus_proto::{
    ChannelSettings, DeleteChannelRequest, GetConversationRequest, ListMessagesRequest,
    SendMessageRequest,
};
use omnibus_tests::Sandbox;

use super::{customer_writes, wait_conversation};
use crate::support::{all_conversations, all_messages, send_text};
use crate::timers::{create_channel, wait_for_text};

#[tokio::test]
async fn a_deleted_channel_keeps_its_conversations_readable_and_refuses_sends() {
    let sandbox = Sandbox::start().await;
    let (http, grpc) = (sandbox.http_url(), sandbox.grpc_url());
    let channel = create_channel(&grpc, ChannelSettings::default()).await;
    let id = customer_writes(&http, &channel, 1, 1_000).await;
    wait_conversation(&grpc, &id, "the conversation", |_| true).await;
    // Answered before: where its messages go is known (and kept) already.
    send_text(&sandbox, &id, "Hello!").await;
    send_text(&sandbox, &id, "How can I help?").await;
    sandbox
        .channels()
        .await
        .delete_channel(DeleteChannelRequest {
            id: channel.clone(),
        })
        .await
        .expect("delete");

    let mut api = sandbox.conversations().await;
    let conversation = api
        .get_conversation(GetConversationRequest { id: id.clone() })
        .await
        .expect("still readable")
        .into_inner();
    assert_eq!(conversation.channel_id, channel);
    let messages = api
        .list_messages(ListMessagesRequest {
            conversation_id: id.clone(),
            ..Default::default()
        })
        .await
        .expect("history still readable")
        .into_inner()
        .messages;
    assert_eq!(messages.len(), 3);
    let refused = api
        .send_message(SendMessageRequest {
            conversation_id: id,
            text: "anyone?".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert!(
        refused.message().contains("deleted"),
        "{}",
        refused.message()
    );
}

#[tokio::test]
async fn a_channel_created_again_for_the_same_bot_carries_on_its_conversations() {
    let mut sandbox = Sandbox::start().await;
    let (http, grpc) = (sandbox.http_url(), sandbox.grpc_url());
    let old = create_channel(&grpc, ChannelSettings::default()).await;
    let id = customer_writes(&http, &old, 1, 1_100).await;
    wait_conversation(&grpc, &id, "the conversation", |_| true).await;
    send_text(&sandbox, &id, "Hello!").await;
    sandbox
        .channels()
        .await
        .delete_channel(DeleteChannelRequest { id: old.clone() })
        .await
        .expect("delete");

    // The same bot (same token) connected again: a new channel id.
    let new = create_channel(&grpc, ChannelSettings::default()).await;
    assert_ne!(new, old);
    let moved = wait_conversation(&grpc, &id, "moved to the new channel", |c| {
        c.channel_id == new
    })
    .await;
    assert_eq!(moved.id, id);
    // The customer writes again: the same conversation, through the new channel.
    crate::timers::customer_writes(&http, &new, 2, 1_100, "me again").await;
    omnibus_testkit::wait_until("the second message", crate::support::PATIENCE, || async {
        (all_messages(&sandbox, &id).await.len() == 3).then_some(())
    })
    .await;
    assert_eq!(all_conversations(&sandbox).await.len(), 1);
    let mut api = sandbox.conversations().await;
    api.send_message(SendMessageRequest {
        conversation_id: id.clone(),
        text: "Welcome back!".into(),
        ..Default::default()
    })
    .await
    .expect("sends through the new channel");
    wait_for_text(&sandbox.telegram, 1_100, "Welcome back!", 1).await;

    // A rebuild from the stream moves it the same way.
    sandbox.stop_server().await;
    sandbox.db.drop_all().await;
    sandbox.start_server().await;
    let grpc = sandbox.grpc_url();
    let rebuilt = wait_conversation(&grpc, &id, "rebuilt on the new channel", |c| {
        c.channel_id == new
    })
    .await;
    assert_eq!(rebuilt.id, id);
    assert_eq!(all_messages(&sandbox, &id).await.len(), 4);
}
