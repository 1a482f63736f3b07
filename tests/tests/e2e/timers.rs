//! Timers end to end: auto-replies, inactivity close with the closing
//! message, reopening, off-hours replies, settings validation, and firing
//! exactly once across a `kill -9` and while the service was down.
//!
//! Absence ("no auto-reply after an answer") is shown without sleeping: a
//! witness timer due later than the one that must not fire is awaited, and
//! the firing loop fires in due order.

mod behaviour;
mod durability;
mod replicas;
mod settings;

use std::time::Instant;

use omnibus_proto::{
    AutoReply, ChannelKind, ChannelSettings, Conversation, ConversationStatus,
    CreateChannelRequest, GetConversationRequest, channel_service_client::ChannelServiceClient,
    conversation_service_client::ConversationServiceClient,
};
use omnibus_telegram_standin::StandIn;
use omnibus_testkit::wait_until;
use omnibus_tests::telegram;
use tonic::transport::Channel as Grpc;

use crate::support::PATIENCE;

const SECRET: &str = "timers-secret";

pub(super) fn telegram_channel(settings: ChannelSettings) -> CreateChannelRequest {
    CreateChannelRequest {
        kind: ChannelKind::Telegram as i32,
        credentials: [
            ("bot_token".to_owned(), "7000000001:AAE-timers".to_owned()),
            ("secret_token".to_owned(), SECRET.to_owned()),
        ]
        .into(),
        settings: Some(settings),
        ..Default::default()
    }
}

pub(super) async fn create_channel(grpc: &str, settings: ChannelSettings) -> String {
    let mut channels = ChannelServiceClient::connect(grpc.to_owned())
        .await
        .unwrap();
    let request = telegram_channel(settings);
    channels
        .create_channel(request)
        .await
        .unwrap()
        .into_inner()
        .id
}

/// The customer in `chat` writes `text` (update ids must be unique per channel).
pub(super) async fn customer_writes(
    http: &str,
    channel_id: &str,
    update_id: i64,
    chat: i64,
    text: &str,
) {
    let update = telegram::text_update(update_id, chat, text);
    let client = reqwest::Client::new();
    let status = telegram::post_update(&client, http, channel_id, SECRET, &update).await;
    assert_eq!(status, 200, "webhook accepted");
}

/// Texts the stand-in was asked to send to `chat`, in order.
pub(super) fn texts_to(standin: &StandIn, chat: i64) -> Vec<String> {
    standin
        .sent()
        .into_iter()
        .filter(|r| r.method == "sendMessage" && r.body["chat_id"] == chat)
        .filter_map(|r| r.body["text"].as_str().map(str::to_owned))
        .collect()
}

/// Waits until `chat` has received `text` `count` times; returns when.
pub(super) async fn wait_for_text(
    standin: &StandIn,
    chat: i64,
    text: &str,
    count: usize,
) -> Instant {
    wait_until(
        &format!("{count}× {text:?} to {chat}"),
        PATIENCE,
        || async {
            let n = texts_to(standin, chat)
                .iter()
                .filter(|t| *t == text)
                .count();
            (n >= count).then(Instant::now)
        },
    )
    .await
}

pub(super) async fn conversation_of(
    api: &ConversationServiceClient<Grpc>,
    channel_id: &str,
    chat: i64,
) -> String {
    let id = omnibus_core::ids::conversation_id(channel_id, &chat.to_string());
    wait_until("the conversation", PATIENCE, || {
        let mut api = api.clone();
        let id = id.clone();
        async move {
            api.get_conversation(GetConversationRequest { id })
                .await
                .ok()
        }
    })
    .await;
    id
}

pub(super) async fn wait_for_status(
    api: &ConversationServiceClient<Grpc>,
    id: &str,
    status: ConversationStatus,
) -> Conversation {
    wait_until(&format!("conversation {status:?}"), PATIENCE, || {
        let mut api = api.clone();
        let id = id.to_owned();
        async move {
            let c = api
                .get_conversation(GetConversationRequest { id })
                .await
                .ok()?
                .into_inner();
            (c.status() == status).then_some(c)
        }
    })
    .await
}

pub(super) fn auto_reply(text: &str, delay_seconds: u32) -> AutoReply {
    AutoReply {
        text: text.into(),
        delay_seconds,
    }
}
