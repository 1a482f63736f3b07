//! A deleted channel keeps its conversations readable and refuses sends.

use omnibus_proto::{
    ChannelSettings, DeleteChannelRequest, GetConversationRequest, ListMessagesRequest,
    SendMessageRequest,
};
use omnibus_tests::Sandbox;

use super::{customer_writes, wait_conversation};
use crate::timers::create_channel;

#[tokio::test]
async fn a_deleted_channel_keeps_its_conversations_readable_and_refuses_sends() {
    let sandbox = Sandbox::start().await;
    let (http, grpc) = (sandbox.http_url(), sandbox.grpc_url());
    let channel = create_channel(&grpc, ChannelSettings::default()).await;
    let id = customer_writes(&http, &channel, 1, 1_000).await;
    wait_conversation(&grpc, &id, "the conversation", |_| true).await;
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
    assert_eq!(messages.len(), 1);
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
