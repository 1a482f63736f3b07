//! The running WhatsApp ingress: webhook routes, the outbound worker, and
//! the channel-setup and template-fetch responders, sharing one channel
//! directory.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use omnibus_bus::{Bus, WorkerConfig, run_worker};
use omnibus_ingress::{ChannelDirectory, rpc, setup};
use omnibus_proto::{ChannelKind, TemplatesFetchReply, templates_fetch_reply::Outcome};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::graph::DEFAULT_REQUEST_TIMEOUT;
use crate::retry::RetryPolicy;
use crate::{outbound, webhook};

/// The default Graph API base URL.
pub const DEFAULT_API_BASE: &str = "https://graph.facebook.com";

/// Settings of the WhatsApp ingress.
#[derive(Debug, Clone)]
pub struct Config {
    /// `OMNIBUS_WHATSAPP_API_BASE`; a channel's `api_base_url` overrides it.
    pub api_base: String,
    /// How persistently outbound messages are retried.
    pub retry: RetryPolicy,
    /// How long one Graph request may take.
    pub request_timeout: Duration,
    /// Conversations delivered in parallel.
    pub lanes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            api_base: DEFAULT_API_BASE.into(),
            retry: RetryPolicy::default(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
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
    /// The Graph base URL for a channel.
    pub fn api_base<'a>(&'a self, channel_api_base: &'a str) -> &'a str {
        if channel_api_base.trim().is_empty() {
            &self.config.api_base
        } else {
            channel_api_base
        }
    }
}

/// A running WhatsApp ingress.
pub struct IngressWhatsapp {
    shared: Arc<Shared>,
    tasks: JoinSet<()>,
}

impl IngressWhatsapp {
    /// Starts the outbound worker and the responders; webhooks are served by
    /// whoever mounts [`router`](Self::router).
    pub fn start(config: Config, bus: Bus, shutdown: CancellationToken) -> Self {
        let directory =
            ChannelDirectory::start(bus.clone(), ChannelKind::Whatsapp, shutdown.clone());
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
            durable: "ingress-whatsapp-send".into(),
            filter_subject: bus.subjects().sends("whatsapp"),
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
        let (setup_bus, setup_shutdown) = (bus.clone(), shutdown.clone());
        tasks.spawn(async move {
            let check = move |request| crate::setup::check(for_setup.clone(), request);
            if let Err(err) = setup::serve(setup_bus, "whatsapp", check, setup_shutdown).await {
                tracing::error!(error = %err, "whatsapp channel setup responder stopped");
            }
        });
        let for_templates = shared.clone();
        tasks.spawn(async move {
            let fetch = move |request| crate::templates::fetch(for_templates.clone(), request);
            let malformed = |why: String| TemplatesFetchReply {
                outcome: Outcome::Invalid as i32,
                message: why,
                templates: Vec::new(),
            };
            let queue = "ingress-whatsapp".to_owned();
            let served = rpc::serve(bus, "templates.whatsapp", queue, fetch, malformed, shutdown);
            if let Err(err) = served.await {
                tracing::error!(error = %err, "whatsapp templates responder stopped");
            }
        });
        Self { shared, tasks }
    }

    /// `GET` and `POST /webhooks/whatsapp/{channel_id}`.
    pub fn router(&self) -> Router {
        webhook::router(self.shared.clone())
    }

    /// Waits for the worker and responders to finish after shutdown.
    pub async fn stopped(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}
