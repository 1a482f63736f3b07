//! Horizontal scaling: two replicas of `conversations` and two of
//! `ingress-telegram`, as separate processes against one stream and one
//! PostgreSQL database, share the work without doing it twice, keep each
//! conversation's order, and survive `kill -9` of one replica of each.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use omnibus_core::ids;
use omnibus_proto::{
    ChannelKind, CreateChannelRequest, ListConversationsRequest, ListMessagesRequest,
    SendMessageRequest, channel_service_client::ChannelServiceClient,
    conversation_service_client::ConversationServiceClient,
};
use omnibus_testkit::wait_until;
use omnibus_tests::child::ChildServer;
use omnibus_tests::{Sandbox, telegram};
use tonic::transport::Channel as GrpcChannel;

const BINARY: &str = env!("CARGO_BIN_EXE_omnibus-under-test");
const SECRET: &str = "replicas-secret";
const CHATS: i64 = 12;
/// Customer messages per chat, posted one after another.
const PER_CHAT: i64 = 25;
/// Operator replies per chat, sent one after another.
const REPLIES: usize = 6;
const FIRST_CHAT: i64 = 4_000;
/// A failover waits for the lease to expire (6 s) on top of the usual.
const PATIENCE: Duration = Duration::from_secs(60);

/// Two processes of one service; the first one started leads.
struct Pair {
    first: Option<ChildServer>,
    second: ChildServer,
}

impl Pair {
    async fn start(service: &str, env: &[(&'static str, String)]) -> Self {
        let first = ChildServer::start_service(BINARY, service, env).await;
        let second = ChildServer::start_service(BINARY, service, env).await;
        Self {
            first: Some(first),
            second,
        }
    }

    /// The replicas' URLs still running, by `url`.
    fn urls(&self, url: impl Fn(&ChildServer) -> String) -> Vec<String> {
        self.first.iter().chain([&self.second]).map(url).collect()
    }

    fn kill_first(&mut self) {
        if let Some(mut first) = self.first.take() {
            first.kill9();
        }
    }
}

#[tokio::test]
async fn two_replicas_share_the_work_keep_order_and_survive_a_kill() {
    let sandbox = Sandbox::for_processes().await;
    let env = sandbox.env();
    let mut conversations = Pair::start("conversations", &env).await;
    let mut ingress = Pair::start("ingress-telegram", &env).await;
    let channel_id = create_channel(&conversations.second.grpc_url()).await;

    // Customers write, each chat in order, to both ingress replicas; both
    // conversations replicas answer. Midway one replica of each is killed.
    let posted = Arc::new(AtomicUsize::new(0));
    let webhooks = ingress.urls(ChildServer::http_url);
    let inbound = tokio::spawn(post_all_chats(
        webhooks.clone(),
        channel_id.clone(),
        posted.clone(),
    ));
    let grpc = conversations.urls(ChildServer::grpc_url);
    let conversation_ids = wait_for_conversations(&grpc[1], &channel_id).await;
    let outbound = tokio::spawn(reply_in_every_chat(grpc.clone(), conversation_ids.clone()));
    let total = (CHATS * PER_CHAT) as usize;
    wait_until("a third of the webhooks", PATIENCE, || async {
        (posted.load(Ordering::SeqCst) >= total / 3).then_some(())
    })
    .await;
    conversations.kill_first();
    ingress.kill_first();
    inbound
        .await
        .expect("every webhook acknowledged by a replica");
    outbound.await.expect("every reply accepted by a replica");

    let survivor = conversations.second.grpc_url();
    let histories = wait_until("every message once, in order", PATIENCE, || async {
        let histories = histories(&survivor, &conversation_ids).await;
        complete(&histories).then_some(histories)
    })
    .await;
    for (chat, texts) in &histories {
        let inbound: Vec<&String> = texts.iter().filter(|t| t.starts_with('m')).collect();
        let expected: Vec<String> = (0..PER_CHAT).map(|k| format!("m{chat}-{k}")).collect();
        assert_eq!(inbound, expected.iter().collect::<Vec<_>>(), "chat {chat}");
    }
    let sent = wait_until("every reply at Telegram", PATIENCE, || async {
        let sent = replies_by_chat(&sandbox);
        (sent.len() == CHATS as usize && sent.values().all(|r| r.len() == REPLIES)).then_some(sent)
    })
    .await;
    for (chat, replies) in sent {
        let expected: Vec<String> = (0..REPLIES).map(|k| format!("r{chat}-{k}")).collect();
        assert_eq!(replies, expected, "replies to chat {chat} in order");
    }
}

/// A replica keeps where a conversation's messages go between sends; a
/// channel deleted through another replica still refuses its next sends
/// there, within moments, not at the replica's restart.
#[tokio::test]
async fn a_channel_deleted_through_one_replica_refuses_sends_at_the_other() {
    let sandbox = Sandbox::for_processes().await;
    let env = sandbox.env();
    let conversations = Pair::start("conversations", &env).await;
    let ingress = ChildServer::start_service(BINARY, "ingress-telegram", &env).await;
    let channel_id = create_channel(&conversations.second.grpc_url()).await;
    let chat = FIRST_CHAT + 100;
    let update = telegram::text_update(1, chat, "hello");
    let posted = telegram::post_update(
        &reqwest::Client::new(),
        &ingress.http_url(),
        &channel_id,
        SECRET,
        &update,
    )
    .await;
    assert_eq!(posted, 200);
    let conversation_id = ids::conversation_id(&channel_id, &chat.to_string());
    let second = conversations.second.grpc_url();
    let send = |text: &'static str| {
        let (second, conversation_id) = (second.clone(), conversation_id.clone());
        async move {
            let mut api = client(&second).await.expect("connect");
            api.send_message(SendMessageRequest {
                conversation_id,
                text: text.into(),
                ..Default::default()
            })
            .await
        }
    };
    wait_until("the follower answers", PATIENCE, || async {
        send("Hello!").await.ok()
    })
    .await;
    send("How can I help?").await.expect("the second answer");

    let first = conversations.first.as_ref().expect("first replica");
    ChannelServiceClient::connect(first.grpc_url())
        .await
        .expect("connect")
        .delete_channel(omnibus_proto::DeleteChannelRequest {
            id: channel_id.clone(),
        })
        .await
        .expect("deleted through the first replica");
    let refused = wait_until("the follower refuses", Duration::from_secs(10), || async {
        send("anyone?").await.err()
    })
    .await;
    assert_eq!(
        refused.code(),
        tonic::Code::FailedPrecondition,
        "{refused:?}"
    );
}

async fn create_channel(grpc: &str) -> String {
    let mut channels = ChannelServiceClient::connect(grpc.to_owned())
        .await
        .expect("connect");
    let request = CreateChannelRequest {
        kind: ChannelKind::Telegram as i32,
        credentials: [
            ("bot_token".to_owned(), "7000000001:AAE-replicas".to_owned()),
            ("secret_token".to_owned(), SECRET.to_owned()),
        ]
        .into(),
        ..Default::default()
    };
    let channel = channels.create_channel(request).await.expect("create");
    channel.into_inner().id
}

/// Every chat posts its messages one by one, alternating replicas; a
/// refused or failed post is retried on the other replica, as a provider
/// retries through the load balancer.
async fn post_all_chats(webhooks: Vec<String>, channel_id: String, posted: Arc<AtomicUsize>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let mut chats = tokio::task::JoinSet::new();
    for chat in FIRST_CHAT..FIRST_CHAT + CHATS {
        let (client, webhooks, channel_id, posted) = (
            client.clone(),
            webhooks.clone(),
            channel_id.clone(),
            posted.clone(),
        );
        chats.spawn(async move {
            for k in 0..PER_CHAT {
                let update_id = chat * 1_000 + k;
                let update = telegram::text_update(update_id, chat, &format!("m{chat}-{k}"));
                post_until_acked(&client, &webhooks, k as usize, &channel_id, &update).await;
                posted.fetch_add(1, Ordering::SeqCst);
            }
        });
    }
    while let Some(chat) = chats.join_next().await {
        chat.expect("a chat's poster");
    }
}

async fn post_until_acked(
    client: &reqwest::Client,
    webhooks: &[String],
    first: usize,
    channel_id: &str,
    update: &serde_json::Value,
) {
    for attempt in 0..200 {
        let url = &webhooks[(first + attempt) % webhooks.len()];
        let sent = client
            .post(format!("{url}/webhooks/telegram/{channel_id}"))
            .header(omnictl::simulate::TELEGRAM_SECRET_HEADER, SECRET)
            .json(update)
            .send()
            .await;
        if sent.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no replica acknowledged update {update}");
}

/// Each conversation gets its replies one by one, alternating replicas;
/// a failed call is repeated with the same idempotency key.
async fn reply_in_every_chat(grpc: Vec<String>, conversations: HashMap<i64, String>) {
    let mut chats = tokio::task::JoinSet::new();
    for (chat, conversation_id) in conversations {
        let grpc = grpc.clone();
        chats.spawn(async move {
            for k in 0..REPLIES {
                let request = SendMessageRequest {
                    conversation_id: conversation_id.clone(),
                    text: format!("r{chat}-{k}"),
                    idempotency_key: format!("reply-{chat}-{k}"),
                    ..Default::default()
                };
                send_until_accepted(&grpc, k, request).await;
            }
        });
    }
    while let Some(chat) = chats.join_next().await {
        chat.expect("a chat's replier");
    }
}

async fn send_until_accepted(grpc: &[String], first: usize, request: SendMessageRequest) {
    for attempt in 0..200 {
        let url = &grpc[(first + attempt) % grpc.len()];
        if let Ok(mut api) = client(url).await
            && api.send_message(request.clone()).await.is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no replica accepted {request:?}");
}

async fn client(
    url: &str,
) -> Result<ConversationServiceClient<GrpcChannel>, tonic::transport::Error> {
    let channel = GrpcChannel::from_shared(url.to_owned())
        .expect("url")
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(15))
        .connect()
        .await?;
    Ok(ConversationServiceClient::new(channel))
}

/// Conversation ids by chat (deterministic), once every one exists.
async fn wait_for_conversations(grpc: &str, channel_id: &str) -> HashMap<i64, String> {
    let ids: HashMap<i64, String> = (FIRST_CHAT..FIRST_CHAT + CHATS)
        .map(|chat| (chat, ids::conversation_id(channel_id, &chat.to_string())))
        .collect();
    wait_until("every chat's conversation", PATIENCE, || async {
        let mut api = client(grpc).await.ok()?;
        let page = api
            .list_conversations(ListConversationsRequest {
                page_size: 500,
                ..Default::default()
            })
            .await
            .ok()?
            .into_inner();
        let all = ids
            .values()
            .all(|id| page.conversations.iter().any(|c| &c.id == id));
        all.then_some(())
    })
    .await;
    ids
}

/// Every conversation's texts, oldest first, by chat.
async fn histories(grpc: &str, conversations: &HashMap<i64, String>) -> HashMap<i64, Vec<String>> {
    let mut histories = HashMap::new();
    let Ok(mut api) = client(grpc).await else {
        return histories;
    };
    for (chat, conversation_id) in conversations {
        let request = ListMessagesRequest {
            conversation_id: conversation_id.clone(),
            page_size: 500,
            page_token: String::new(),
        };
        if let Ok(page) = api.list_messages(request).await {
            let texts = page.into_inner().messages.into_iter().map(|m| m.text);
            histories.insert(*chat, texts.collect());
        }
    }
    histories
}

/// Every chat has all its customer messages and replies, none twice.
fn complete(histories: &HashMap<i64, Vec<String>>) -> bool {
    histories.len() == CHATS as usize
        && histories.values().all(|texts| {
            let inbound = texts.iter().filter(|t| t.starts_with('m')).count();
            let replies = texts.iter().filter(|t| t.starts_with('r')).count();
            inbound == PER_CHAT as usize && replies == REPLIES
        })
}

/// The texts Telegram received per chat, in arrival order; a send repeated
/// after a kill (at-least-once) counts once, where it first arrived.
fn replies_by_chat(sandbox: &Sandbox) -> HashMap<i64, Vec<String>> {
    let mut by_chat: HashMap<i64, Vec<String>> = HashMap::new();
    for request in sandbox.telegram.sent() {
        let chat = request.body["chat_id"]
            .as_i64()
            .or_else(|| request.body["chat_id"].as_str()?.parse().ok());
        let (Some(chat), Some(text)) = (chat, request.body["text"].as_str()) else {
            continue;
        };
        let replies = by_chat.entry(chat).or_default();
        if !replies.iter().any(|r| r == text) {
            replies.push(text.to_owned());
        }
    }
    by_chat
}
