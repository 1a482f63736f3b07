//! Two replicas of `timers` on one PostgreSQL: one is active, the other
//! takes over when it is killed, and every deadline fires exactly once.

use omnibus_proto::{
    ChannelSettings, CloseReason, ConversationStatus,
    conversation_service_client::ConversationServiceClient,
};
use omnibus_tests::Sandbox;
use omnibus_tests::child::ChildServer;

use super::{
    conversation_of, create_channel, customer_writes, texts_to, wait_for_status, wait_for_text,
};

const BINARY: &str = env!("CARGO_BIN_EXE_omnibus-under-test");
const CLOSING: &str = "Closing after silence.";
const CHATS: [i64; 4] = [951, 952, 953, 954];

#[tokio::test]
async fn two_replicas_fire_each_deadline_once_when_the_active_one_is_killed() {
    let sandbox = Sandbox::for_processes().await;
    let env = sandbox.env();
    let conversations = ChildServer::start_service(BINARY, "conversations", &env).await;
    let _ingress = ChildServer::start_service(BINARY, "ingress-telegram", &env).await;
    let mut active = ChildServer::start_service(BINARY, "timers", &env).await;
    let _standby = ChildServer::start_service(BINARY, "timers", &env).await;
    let settings = ChannelSettings {
        inactivity_close_seconds: Some(3),
        closing_message: CLOSING.into(),
        ..Default::default()
    };
    let (http, grpc) = (_ingress.http_url(), conversations.grpc_url());
    let channel_id = create_channel(&grpc, settings).await;
    let api = ConversationServiceClient::connect(grpc).await.unwrap();
    let mut ids = Vec::new();
    for (update_id, chat) in (1..).zip(CHATS) {
        customer_writes(&http, &channel_id, update_id, chat, "hello?").await;
        ids.push(conversation_of(&api, &channel_id, chat).await);
    }
    // The first one started holds the lease; its deadlines are armed.
    active.kill9();

    for (id, chat) in ids.iter().zip(CHATS) {
        let closed = wait_for_status(&api, id, ConversationStatus::Closed).await;
        assert_eq!(closed.close_reason(), CloseReason::Inactivity);
        wait_for_text(&sandbox.telegram, chat, CLOSING, 1).await;
    }
    // A second round on one chat proves the first fired once everywhere:
    // anything doubled would have been sent before this close's message.
    customer_writes(&http, &channel_id, 100, CHATS[0], "again").await;
    wait_for_status(&api, &ids[0], ConversationStatus::Open).await;
    wait_for_status(&api, &ids[0], ConversationStatus::Closed).await;
    wait_for_text(&sandbox.telegram, CHATS[0], CLOSING, 2).await;
    for chat in CHATS {
        let texts = texts_to(&sandbox.telegram, chat);
        let expected = if chat == CHATS[0] { 2 } else { 1 };
        assert_eq!(texts.len(), expected, "chat {chat}: {texts:?}");
    }
}
