//! The running Telegram ingress: webhook routes, the outbound worker and the
//! channel-setup responder, sharing one channel directory.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use omnibus_bus::{Bus, WorkerConfig, run_worker};
use omnibus_ingress::{ChannelDirectory, setup};
use omnibus_proto::ChannelKind;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::client::RetryPolicy;
use crate::{outbound, webhook};

/// Settings of the Telegram ingress.
#[derive(Debug, Clone)]
pub struct Config {
    /// `OMNIBUS_TELEGRAM_API_BASE`; a channel's `api_base_url` overrides it.
    pub api_base: String,
    /// `OMNIBUS_PUBLIC_URL`: when set, new channels get their webhook
    /// registered with `setWebhook`.
    pub public_url: Option<String>,
    /// How persistently outbound messages are retried.
    pub retry: RetryPolicy,
    /// Conversations delivered in parallel.
    pub lanes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            api_base: "https://api.telegram.org".into(),
            public_url: None,
            retry: RetryPolicy::default(),
            lanes: 32,
        }
    }
}

/// State shared by the handlers.
pub(crate) struct Shared {
    pub bus: Bus,
    pub directory: ChannelDirectory,
    pub http: reqwest::Client,
    pub config: Config,
}

impl Shared {
    /// The Bot API base URL for a channel.
    pub fn api_base<'a>(&'a self, channel_api_base: &'a str) -> &'a str {
        if channel_api_base.is_empty() {
            &self.config.api_base
        } else {
            channel_api_base
        }
    }
}

/// A running Telegram ingress.
pub struct IngressTelegram {
    shared: Arc<Shared>,
    tasks: JoinSet<()>,
}

impl IngressTelegram {
    /// Starts the outbound worker and the setup responder; webhooks are
    /// served by whoever mounts [`router`](Self::router).
    pub fn start(config: Config, bus: Bus, shutdown: CancellationToken) -> Self {
        let directory =
            ChannelDirectory::start(bus.clone(), ChannelKind::Telegram, shutdown.clone());
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        let shared = Arc::new(Shared {
            bus: bus.clone(),
            directory,
            http,
            config,
        });
        let mut tasks = JoinSet::new();
        let worker = WorkerConfig {
            durable: "ingress-telegram-send".into(),
            filter_subject: bus.subjects().sends("telegram"),
            lanes: shared.config.lanes,
            ack_wait: Duration::from_secs(30),
            max_deliver: 10,
            // One replica at a time sends, in order per conversation.
            exclusive: true,
        };
        let for_worker = shared.clone();
        tasks.spawn(run_worker(
            bus.clone(),
            worker,
            move |delivery| outbound::deliver(for_worker.clone(), delivery),
            shutdown.clone(),
        ));
        let for_setup = shared.clone();
        tasks.spawn(async move {
            let check = move |request| crate::setup::check(for_setup.clone(), request);
            if let Err(err) = setup::serve(bus, "telegram", check, shutdown).await {
                tracing::error!(error = %err, "telegram channel setup responder stopped");
            }
        });
        Self { shared, tasks }
    }

    /// `POST /webhooks/telegram/{channel_id}`.
    pub fn router(&self) -> Router {
        webhook::router(self.shared.clone())
    }

    /// Waits for the worker and responder to finish after shutdown.
    pub async fn stopped(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}
