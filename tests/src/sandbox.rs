//! [`Sandbox`]: the system under test, started and stopped like production.

use std::net::SocketAddr;
use std::time::Duration;

use omnibus_proto::{
    Channel, ChannelKind, CreateChannelRequest, channel_service_client::ChannelServiceClient,
    contact_service_client::ContactServiceClient,
    conversation_service_client::ConversationServiceClient,
    notification_service_client::NotificationServiceClient,
};
use omnibus_server::config::{
    ENV_API_TOKEN, ENV_DATABASE_URL, ENV_NATS_URL, ENV_OUTBOUND_ALLOW, ENV_SHUTDOWN_GRACE,
    ENV_TELEGRAM_API_BASE,
};
use omnibus_server::{ListenerConfig, Listeners, ServerConfig, Service};
use omnibus_telegram_standin::StandIn;
use omnibus_testkit::{NatsServer, TestDatabase};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel as GrpcChannel;

/// How to start a sandbox.
#[derive(Debug, Clone, Default)]
pub struct SandboxOptions {
    /// Use a throwaway PostgreSQL database instead of SQLite.
    pub postgres: bool,
    /// Start only the dependencies (NATS, database, stand-in), not Omnibus.
    pub no_server: bool,
    /// `OMNIBUS_API_TOKEN`.
    pub api_token: Option<String>,
    /// Timeouts and connection cap of the HTTP listener (short ones for
    /// tests of the timeouts); the contract's defaults when `None`.
    pub listener: Option<ListenerConfig>,
    /// NATS's `max_payload` in bytes; the testkit's (as deployed) when `None`.
    pub nats_max_payload: Option<usize>,
    /// More variables for the server (e.g. `OMNIBUS_CREDENTIALS_KEY`); they
    /// win over the sandbox's own.
    pub env: Vec<(&'static str, String)>,
}

/// A running Omnibus with its dependencies; everything stops on drop.
pub struct Sandbox {
    /// The real NATS server.
    pub nats: NatsServer,
    /// The projection database.
    pub db: TestDatabase,
    /// The Telegram Bot API stand-in.
    pub telegram: StandIn,
    options: SandboxOptions,
    server: Option<RunningServer>,
}

struct RunningServer {
    http: SocketAddr,
    grpc: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), omnibus_server::ServerError>>,
}

impl Sandbox {
    /// Starts everything on SQLite.
    pub async fn start() -> Self {
        Self::start_with(SandboxOptions::default()).await
    }

    /// Starts the dependencies alone, on PostgreSQL: for services run as
    /// separate processes (replicas) that share one database.
    pub async fn for_processes() -> Self {
        Self::start_with(SandboxOptions {
            no_server: true,
            postgres: true,
            ..Default::default()
        })
        .await
    }

    /// Starts everything as `options` say.
    pub async fn start_with(options: SandboxOptions) -> Self {
        omnibus_telemetry::init_for_tests();
        let nats = match options.nats_max_payload {
            Some(max_payload) => NatsServer::start_with_max_payload(max_payload).await,
            None => NatsServer::start().await,
        };
        let db = if options.postgres {
            TestDatabase::postgres().await
        } else {
            TestDatabase::sqlite()
        };
        let telegram = StandIn::start().await;
        let mut sandbox = Self {
            nats,
            db,
            telegram,
            options,
            server: None,
        };
        if !sandbox.options.no_server {
            sandbox.start_server().await;
        }
        sandbox
    }

    /// The environment a server of this sandbox runs with.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            (ENV_NATS_URL, self.nats.url()),
            (ENV_DATABASE_URL, self.db.url().to_owned()),
            (ENV_TELEGRAM_API_BASE, self.telegram.base_url()),
            (ENV_SHUTDOWN_GRACE, "10".to_owned()),
            // The stand-ins listen on loopback.
            (ENV_OUTBOUND_ALLOW, "127.0.0.1/32".to_owned()),
        ];
        if let Some(token) = &self.options.api_token {
            env.push((ENV_API_TOKEN, token.clone()));
        }
        env.retain(|(name, _)| !self.options.env.iter().any(|(extra, _)| extra == name));
        env.extend(self.options.env.iter().cloned());
        env
    }

    /// Sets a variable for the next [`start_server`](Self::start_server).
    pub fn set_env(&mut self, name: &'static str, value: impl Into<String>) {
        self.options.env.retain(|(known, _)| *known != name);
        self.options.env.push((name, value.into()));
    }

    /// Starts the in-process server (after [`stop_server`](Self::stop_server)).
    pub async fn start_server(&mut self) {
        assert!(self.server.is_none(), "the server is already running");
        let env = self.env();
        let overrides: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut config = ServerConfig::with(Service::All, &overrides).expect("sandbox config");
        if let Some(listener) = &self.options.listener {
            config.http = listener.clone();
        }
        let http = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
        let grpc = TcpListener::bind("127.0.0.1:0").await.expect("bind grpc");
        let (http_addr, grpc_addr) = (http.local_addr().unwrap(), grpc.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(omnibus_server::run(
            config,
            Listeners { http, grpc },
            async move {
                let _ = stopped.await;
            },
        ));
        self.server = Some(RunningServer {
            http: http_addr,
            grpc: grpc_addr,
            stop,
            task,
        });
        self.wait_ready().await;
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop_server(&mut self) {
        let server = self.server.take().expect("the server is not running");
        let _ = server.stop.send(());
        let result = tokio::time::timeout(Duration::from_secs(30), server.task)
            .await
            .expect("server stops within 30 s")
            .expect("server task");
        result.expect("server stopped cleanly");
    }

    /// Stops and starts the server, keeping NATS and the database.
    pub async fn restart_server(&mut self) {
        self.stop_server().await;
        self.start_server().await;
    }

    fn running(&self) -> &RunningServer {
        self.server.as_ref().expect("the server is not running")
    }

    /// `http://127.0.0.1:PORT` of webhooks and health endpoints.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.running().http)
    }

    /// `http://127.0.0.1:PORT` of the gRPC API.
    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.running().grpc)
    }

    async fn wait_ready(&self) {
        let url = format!("{}/readyz", self.http_url());
        let client = reqwest::Client::new();
        omnibus_testkit::wait_until("the server to be ready", Duration::from_secs(20), || {
            let request = client.get(&url).send();
            async move { request.await.ok().filter(|r| r.status().is_success()) }
        })
        .await;
    }

    async fn grpc_channel(&self) -> GrpcChannel {
        GrpcChannel::from_shared(self.grpc_url())
            .expect("grpc url")
            .connect()
            .await
            .expect("connect to the gRPC API")
    }

    /// A `ChannelService` client.
    pub async fn channels(&self) -> ChannelServiceClient<GrpcChannel> {
        ChannelServiceClient::new(self.grpc_channel().await)
    }

    /// A `ConversationService` client.
    pub async fn conversations(&self) -> ConversationServiceClient<GrpcChannel> {
        ConversationServiceClient::new(self.grpc_channel().await)
    }

    /// A `ContactService` client.
    pub async fn contacts(&self) -> ContactServiceClient<GrpcChannel> {
        ContactServiceClient::new(self.grpc_channel().await)
    }

    /// A `NotificationService` client.
    pub async fn notifications(&self) -> NotificationServiceClient<GrpcChannel> {
        NotificationServiceClient::new(self.grpc_channel().await)
    }

    /// Creates a Telegram channel against the stand-in, with `secret` (and
    /// the sandbox's API token, when it has one).
    pub async fn telegram_channel(&self, secret: &str) -> Channel {
        let request = CreateChannelRequest {
            kind: ChannelKind::Telegram as i32,
            name: String::new(),
            credentials: [
                (
                    "bot_token".to_owned(),
                    "7000000001:AAE-test_token".to_owned(),
                ),
                ("secret_token".to_owned(), secret.to_owned()),
            ]
            .into(),
            settings: None,
            api_base_url: String::new(),
        };
        let mut request = tonic::Request::new(request);
        if let Some(token) = &self.options.api_token {
            let bearer = format!("Bearer {token}")
                .parse()
                .expect("a header-safe token");
            request.metadata_mut().insert("authorization", bearer);
        }
        self.channels()
            .await
            .create_channel(request)
            .await
            .expect("create a telegram channel")
            .into_inner()
    }

    /// Messages currently on the stream.
    pub async fn stream_messages(&self) -> u64 {
        let mut stream = self.stream().await;
        stream.info().await.expect("stream info").state.messages
    }

    /// The event stream, over a connection of its own.
    async fn stream(&self) -> async_nats::jetstream::stream::Stream {
        let client = async_nats::connect(self.nats.url()).await.expect("nats");
        let js = async_nats::jetstream::new(client);
        js.get_stream("OMNIBUS").await.expect("stream")
    }

    /// Commands the durable consumer `durable` has handed out and not yet
    /// seen acknowledged (e.g. `ingress-whatsapp-send`): a test that kills
    /// the server waits for none, or the next holder rightly waits out
    /// their `ack_wait` before sending anything newer.
    pub async fn unacknowledged(&self, durable: &str) -> usize {
        self.stream()
            .await
            .consumer_info(durable)
            .await
            .expect("consumer info")
            .num_ack_pending
    }
}
