//! The system under test for the HTTP benchmarks: nats-server, a SQLite
//! database and the Telegram stand-in from a [`Sandbox`], and Omnibus as a
//! separate child process, so the load client and the server do not share a
//! runtime or an allocator, as in production, and the server's memory and
//! CPU can be read from `/proc`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use omnibus_ingress_telegram::webhook::SECRET_HEADER;
use omnibus_proto::{
    ChannelKind, CreateChannelRequest, ListConversationsRequest, ListMessagesRequest,
    channel_service_client::ChannelServiceClient,
    conversation_service_client::ConversationServiceClient,
};
use omnibus_tests::child::ChildServer;
use omnibus_tests::{Sandbox, SandboxOptions, telegram};
use tonic::transport::Channel as GrpcChannel;

use crate::procs::{CpuSample, Proc};

/// The webhook secret of the benchmark channel.
const SECRET: &str = "bench-secret-token";
/// The name of the server binary, built by `cargo build --release -p omnibus-tests --bins`.
pub const SERVER_BINARY: &str = "omnibus-under-test";
/// The event stream the sandbox's server uses (the default name).
const STREAM: &str = "OMNIBUS";
/// Telegram chat ids start here, so they look like real user ids.
const FIRST_CHAT: i64 = 500_000_000;

/// Omnibus running as a child process, with one Telegram channel.
pub struct System {
    /// Field order matters: the server is killed before its dependencies stop.
    server: ChildServer,
    sandbox: Sandbox,
    binary: String,
    env: Vec<(&'static str, String)>,
    pub server_proc: Proc,
    pub nats_proc: Proc,
    webhook_url: String,
    /// The benchmark channel.
    pub channel_id: String,
    /// Base URL of the server's gRPC API.
    pub grpc_url: String,
    /// Base URL of the server's HTTP listener (webhooks, /metrics).
    pub http_url: String,
    /// The sandbox's nats-server.
    pub nats_url: String,
    api: ConversationServiceClient<GrpcChannel>,
}

impl System {
    /// Starts the dependencies, then `binary` (see [`server_binary`]), and creates the channel.
    pub async fn start(binary: &Path) -> anyhow::Result<Self> {
        Self::start_on(binary, false).await
    }

    /// Like [`start`](Self::start), on PostgreSQL when `postgres`.
    pub async fn start_on(binary: &Path, postgres: bool) -> anyhow::Result<Self> {
        Self::start_with(binary, postgres, &[]).await
    }

    /// Like [`start_on`](Self::start_on), with `extra` variables for the server.
    pub async fn start_with(
        binary: &Path,
        postgres: bool,
        extra: &[(&'static str, String)],
    ) -> anyhow::Result<Self> {
        let sandbox = Sandbox::start_with(SandboxOptions {
            no_server: true,
            postgres,
            ..Default::default()
        })
        .await;
        let binary = binary.to_str().context("server binary path is not UTF-8")?;
        let mut env = sandbox.env();
        env.extend(extra.iter().cloned());
        let server = ChildServer::start(binary, &env).await;
        let server_proc = Proc::child_named(SERVER_BINARY)?;
        let nats_proc = Proc::child_named("nats-server")?;
        let channel_id = create_channel(&server.grpc_url()).await?;
        let api = ConversationServiceClient::connect(server.grpc_url()).await?;
        Ok(Self {
            webhook_url: format!("{}/webhooks/telegram/{channel_id}", server.http_url()),
            channel_id,
            grpc_url: server.grpc_url(),
            http_url: server.http_url(),
            nats_url: sandbox.nats.url(),
            server,
            sandbox,
            binary: binary.to_owned(),
            env,
            server_proc,
            nats_proc,
            api,
        })
    }

    /// Stops the server (SIGTERM, as a rolling restart does) and drops its
    /// database; [`start_again`](Self::start_again) then rebuilds every
    /// projection from the stream. (After a `kill -9` on PostgreSQL the new
    /// process would first wait out the dead one's projection leases.)
    pub async fn stop_and_empty(&mut self) {
        self.server.terminate(Duration::from_secs(10)).await;
        self.sandbox.db.drop_all().await;
    }

    /// Starts the server again on the same stream and database URL.
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        let server = ChildServer::start(&self.binary, &self.env).await;
        self.server_proc = Proc::child_named(SERVER_BINARY)?;
        self.grpc_url = server.grpc_url();
        self.http_url = server.http_url();
        self.webhook_url = format!(
            "{}/webhooks/telegram/{}",
            server.http_url(),
            self.channel_id
        );
        self.api = ConversationServiceClient::connect(server.grpc_url()).await?;
        self.server = server;
        Ok(())
    }

    /// A client of the conversations API.
    pub fn api(&self) -> ConversationServiceClient<GrpcChannel> {
        self.api.clone()
    }

    /// `count` conversations whose customers wrote once; their ids.
    pub async fn open_conversations(self: &Arc<Self>, count: usize) -> anyhow::Result<Vec<String>> {
        let post = crate::webhooks::poster(self, &http_client(16));
        let (_, failed) = crate::webhooks::blast(post, updates(1, count, count), 16).await;
        anyhow::ensure!(failed == 0, "{failed} webhooks failed");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let page = self
                .api()
                .list_conversations(ListConversationsRequest {
                    page_size: 500,
                    ..Default::default()
                })
                .await?
                .into_inner();
            if page.conversations.len() >= count.min(500) {
                return Ok(page.conversations.into_iter().map(|c| c.id).collect());
            }
            anyhow::ensure!(
                std::time::Instant::now() < deadline,
                "conversations not visible"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// How many events the stream holds (what a rebuild replays).
    pub async fn stream_messages(&self) -> anyhow::Result<u64> {
        let js = async_nats::jetstream::new(async_nats::connect(&self.nats_url).await?);
        let mut stream = js.get_stream(STREAM).await?;
        Ok(stream.info().await?.state.messages)
    }

    /// A sample of the CPU time of the server, nats-server and this process.
    pub fn cpu(&self) -> CpuSample {
        CpuSample::take(Some(self.server_proc), self.nats_proc)
    }

    /// POSTs one prepared update; the latency is the caller's to measure.
    pub async fn post(&self, client: &reqwest::Client, body: Bytes) -> bool {
        let sent = client
            .post(&self.webhook_url)
            .header("content-type", "application/json")
            .header(SECRET_HEADER, SECRET)
            .body(body)
            .send()
            .await;
        sent.is_ok_and(|response| response.status().is_success())
    }

    /// The number of conversations and the sum of their unread counts. Every
    /// benchmark message is a new inbound customer message, so the sum is the
    /// number of messages the projection has stored and the API shows.
    pub async fn visible(&self) -> anyhow::Result<(usize, u64)> {
        let (mut conversations, mut unread, mut token) = (0, 0, String::new());
        loop {
            let page = self
                .api
                .clone()
                .list_conversations(ListConversationsRequest {
                    page_size: 500,
                    page_token: token,
                    ..Default::default()
                })
                .await?
                .into_inner();
            conversations += page.conversations.len();
            unread += page
                .conversations
                .iter()
                .map(|c| u64::from(c.unread_count))
                .sum::<u64>();
            if page.next_page_token.is_empty() {
                return Ok((conversations, unread));
            }
            token = page.next_page_token;
        }
    }

    /// Counts every message through `ListMessages`, 8 conversations at a time.
    pub async fn count_messages(&self) -> anyhow::Result<usize> {
        use futures::{StreamExt as _, TryStreamExt as _};
        let mut ids = Vec::new();
        let mut token = String::new();
        loop {
            let request = ListConversationsRequest {
                page_size: 500,
                page_token: token,
                ..Default::default()
            };
            let page = self
                .api
                .clone()
                .list_conversations(request)
                .await?
                .into_inner();
            ids.extend(page.conversations.into_iter().map(|c| c.id));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        let counts = futures::stream::iter(ids)
            .map(|id| messages_of(self.api.clone(), id))
            .buffer_unordered(8)
            .try_collect::<Vec<usize>>()
            .await?;
        Ok(counts.into_iter().sum())
    }
}

async fn messages_of(
    mut api: ConversationServiceClient<GrpcChannel>,
    conversation_id: String,
) -> anyhow::Result<usize> {
    let (mut count, mut token) = (0, String::new());
    loop {
        let page = api
            .list_messages(ListMessagesRequest {
                conversation_id: conversation_id.clone(),
                page_size: 500,
                page_token: token,
            })
            .await?
            .into_inner();
        count += page.messages.len();
        if page.next_page_token.is_empty() {
            return Ok(count);
        }
        token = page.next_page_token;
    }
}

async fn create_channel(grpc_url: &str) -> anyhow::Result<String> {
    let mut channels = ChannelServiceClient::connect(grpc_url.to_owned()).await?;
    let request = CreateChannelRequest {
        kind: ChannelKind::Telegram as i32,
        name: "bench".to_owned(),
        credentials: [
            ("bot_token".to_owned(), "7000000001:AAE-bench".to_owned()),
            ("secret_token".to_owned(), SECRET.to_owned()),
        ]
        .into(),
        ..Default::default()
    };
    Ok(channels.create_channel(request).await?.into_inner().id)
}

/// The server binary: `explicit`, else `omnibus-under-test` next to this
/// executable (both land in `target/release` with `cargo build --release`).
pub fn server_binary(explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let path = match explicit {
        Some(path) => path,
        None => std::env::current_exe()?
            .parent()
            .context("the bench executable has no directory")?
            .join(SERVER_BINARY),
    };
    anyhow::ensure!(
        path.is_file(),
        "{} not found: build it with `cargo build --release -p omnibus-tests --bins` \
         (`make bench` does), or pass --server-bin",
        path.display()
    );
    Ok(path)
}

/// Telegram update bodies with update ids `first..first + count`, spread
/// round-robin over `chats` private chats; built before timing starts so the
/// client spends its CPU on HTTP, not on JSON.
pub fn updates(first: i64, count: usize, chats: usize) -> Arc<Vec<Bytes>> {
    updates_from(first, count, chats, false)
}

/// Like [`updates`]; with `new_customers`, every other update comes from a
/// customer who never wrote before (a chat of its own).
pub fn updates_from(
    first: i64,
    count: usize,
    chats: usize,
    new_customers: bool,
) -> Arc<Vec<Bytes>> {
    let bodies = (first..first + count as i64)
        .map(|id| {
            let chat = if new_customers && id % 2 == 0 {
                FIRST_CHAT + 100_000_000 + id
            } else {
                FIRST_CHAT + id % chats as i64
            };
            let text = format!("Hello! Where is my order #{id}? It was due yesterday.");
            Bytes::from(telegram::text_update(id, chat, &text).to_string())
        })
        .collect();
    Arc::new(bodies)
}

/// The value of an unlabelled gauge or counter on the server's `/metrics`
/// (`http_url` is the server's base URL); `None` when it is not exported yet.
pub async fn metric(client: &reqwest::Client, http_url: &str, name: &str) -> Option<f64> {
    let text = client
        .get(format!("{http_url}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .filter_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .find_map(|value| value.trim().parse().ok())
}

/// One HTTP/1.1 keep-alive client; `pool` idle connections are kept.
pub fn http_client(pool: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(pool)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}
