//! `kill -9` under load: every webhook that was answered 200 survives, and
//! the provider's retries of the others are stored exactly once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use omnibus_proto::{
    ChannelKind, CreateChannelRequest, ListConversationsRequest, ListMessagesRequest,
    channel_service_client::ChannelServiceClient,
    conversation_service_client::ConversationServiceClient,
};
use omnibus_testkit::wait_until;
use omnibus_tests::child::ChildServer;
use omnibus_tests::{Sandbox, SandboxOptions, telegram};

mod messengers;

const SECRET: &str = "crash-secret";
const WEBHOOKS: i64 = 1_000;
const CHATS: i64 = 10;
const BINARY: &str = env!("CARGO_BIN_EXE_omnibus-under-test");

#[tokio::test]
async fn kill_9_under_load_loses_and_doubles_nothing() {
    let sandbox = Sandbox::start_with(SandboxOptions {
        no_server: true,
        ..Default::default()
    })
    .await;
    let env = sandbox.env();
    let mut server = ChildServer::start(BINARY, &env).await;
    let channel_id = create_channel(&server.grpc_url()).await;

    let acked = Arc::new(Mutex::new(Vec::new()));
    let load = tokio::spawn(send_all(
        server.http_url(),
        channel_id.clone(),
        acked.clone(),
    ));
    wait_until(
        "300 acknowledged webhooks",
        crate::support::PATIENCE,
        || async { (acked.lock().unwrap().len() >= 300).then_some(()) },
    )
    .await;
    server.kill9();
    load.await.unwrap();
    let acked: Vec<i64> = acked.lock().unwrap().clone();
    assert!(acked.len() < WEBHOOKS as usize, "the kill landed mid-load");

    let server = ChildServer::start(BINARY, &env).await;
    let counts = wait_until(
        "every acknowledged webhook in the history",
        crate::support::PATIENCE,
        || async {
            let counts = message_counts(&server.grpc_url()).await;
            acked
                .iter()
                .all(|id| counts.contains_key(id))
                .then_some(counts)
        },
    )
    .await;
    assert!(counts.values().all(|n| *n == 1), "no message doubled");

    // Telegram redelivers everything that was not acknowledged (and some that were).
    send_all(server.http_url(), channel_id, Arc::default()).await;
    let counts = wait_until(
        "all webhooks after the retries",
        crate::support::PATIENCE,
        || async {
            let counts = message_counts(&server.grpc_url()).await;
            (counts.len() == WEBHOOKS as usize).then_some(counts)
        },
    )
    .await;
    let doubled: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(doubled.is_empty(), "doubled: {doubled:?}");
}

async fn create_channel(grpc: &str) -> String {
    let mut channels = ChannelServiceClient::connect(grpc.to_owned())
        .await
        .unwrap();
    let request = CreateChannelRequest {
        kind: ChannelKind::Telegram as i32,
        credentials: [
            ("bot_token".to_owned(), "7000000001:AAE-test".to_owned()),
            ("secret_token".to_owned(), SECRET.to_owned()),
        ]
        .into(),
        ..Default::default()
    };
    channels
        .create_channel(request)
        .await
        .unwrap()
        .into_inner()
        .id
}

/// Posts every update, 32 at a time; records the ids answered 200.
async fn send_all(http: String, channel_id: String, acked: Arc<Mutex<Vec<i64>>>) {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = tokio::task::JoinSet::new();
    for update_id in 1..=WEBHOOKS {
        let permit = semaphore.clone().acquire_owned().await.unwrap();
        let (client, http, channel_id, acked) = (
            client.clone(),
            http.clone(),
            channel_id.clone(),
            acked.clone(),
        );
        tasks.spawn(async move {
            let _permit = permit;
            let update = telegram::text_update(
                update_id,
                1_000 + update_id % CHATS,
                &format!("m{update_id}"),
            );
            let sent = client
                .post(format!("{http}/webhooks/telegram/{channel_id}"))
                .header(omnictl::simulate::TELEGRAM_SECRET_HEADER, SECRET)
                .json(&update)
                .send()
                .await;
            if sent.is_ok_and(|r| r.status() == 200) {
                acked.lock().unwrap().push(update_id);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// How often each update's text appears across the whole history.
async fn message_counts(grpc: &str) -> HashMap<i64, usize> {
    let mut api = ConversationServiceClient::connect(grpc.to_owned())
        .await
        .unwrap();
    let conversations = api
        .list_conversations(ListConversationsRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .conversations;
    let mut counts = HashMap::new();
    for conversation in conversations {
        let mut token = String::new();
        loop {
            let page = api
                .list_messages(ListMessagesRequest {
                    conversation_id: conversation.id.clone(),
                    page_size: 500,
                    page_token: token,
                })
                .await
                .unwrap()
                .into_inner();
            for message in page.messages {
                if let Some(id) = message.text.strip_prefix('m').and_then(|n| n.parse().ok()) {
                    *counts.entry(id).or_insert(0) += 1;
                }
            }
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
    }
    counts
}
