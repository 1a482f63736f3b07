//! The running ingress of one messenger: the webhook router, the outbound
//! worker, the channel-setup responder and (where the messenger has them)
//! the template-fetch responder, sharing one channel directory.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use omnibus_bus::{Bus, MediaRetention, WorkerConfig, run_worker};
use omnibus_egress::Egress;
use omnibus_proto::{ChannelState, TemplatesFetchReply, templates_fetch_reply::Outcome};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::messenger::Messenger;
use crate::provider::{DEFAULT_REQUEST_TIMEOUT, Provider};
use crate::retry::RetryPolicy;
use crate::{ChannelDirectory, rpc, setup};

/// Settings of one messenger's ingress.
#[derive(Debug, Clone)]
pub struct KitConfig {
    /// The provider's API base URL (`OMNIBUS_<M>_API_BASE`); a channel's
    /// `api_base_url` overrides it. Empty means the messenger's default.
    pub api_base: String,
    /// `OMNIBUS_PUBLIC_URL`: when set, messengers with a webhook
    /// registration API register new channels' webhooks there.
    pub public_url: Option<String>,
    /// How persistently outbound messages are retried.
    pub retry: RetryPolicy,
    /// How long one provider request may take.
    pub request_timeout: Duration,
    /// Conversations delivered in parallel.
    pub lanes: usize,
    /// The outbound policy every provider call goes through
    /// (`OMNIBUS_OUTBOUND_ALLOW`); the default refuses internal addresses.
    pub egress: Egress,
    /// How long the media buckets keep files (`GET /media`).
    pub media: MediaRetention,
}

impl Default for KitConfig {
    fn default() -> Self {
        Self {
            api_base: String::new(),
            public_url: None,
            retry: RetryPolicy::default(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            lanes: 32,
            egress: Egress::default(),
            media: MediaRetention::default(),
        }
    }
}

/// What a messenger's setup and template calls may use.
pub struct Context {
    /// The event bus.
    pub bus: Bus,
    /// The messenger's channels.
    pub directory: ChannelDirectory,
    /// The settings.
    pub config: KitConfig,
    /// The HTTP client built from `config.egress`.
    pub http: reqwest::Client,
    default_base: &'static str,
}

impl Context {
    /// The provider client of `channel`, with its base URL, secrets and the
    /// request timeout.
    pub fn provider<M: Messenger>(&self, channel: &ChannelState) -> Provider {
        let base = if self.config.api_base.trim().is_empty() {
            self.default_base
        } else {
            self.config.api_base.as_str()
        };
        Provider::for_channel::<M>(self.http.clone(), base, channel)
            .with_timeout(self.config.request_timeout)
    }

    /// The public webhook URL of a channel, when `OMNIBUS_PUBLIC_URL` is set.
    pub fn webhook_url<M: Messenger>(&self, channel_id: &str) -> Option<String> {
        let base = self.config.public_url.as_deref()?;
        Some(format!(
            "{}{}",
            base.trim_end_matches('/'),
            omnibus_core::kind::webhook_path(M::KIND, channel_id)
        ))
    }
}

/// The state the kit's handlers share.
pub(crate) struct Shared<M> {
    pub messenger: M,
    pub context: Context,
}

/// A running ingress of messenger `M`.
pub struct Ingress<M: Messenger> {
    shared: Arc<Shared<M>>,
    tasks: JoinSet<()>,
}

impl<M: Messenger> Ingress<M> {
    /// Starts the outbound worker and the responders; webhooks are served
    /// by whoever mounts [`router`](Self::router).
    pub fn start(messenger: M, config: KitConfig, bus: Bus, shutdown: CancellationToken) -> Self {
        let name = M::name();
        let directory = ChannelDirectory::start(bus.clone(), M::KIND, shutdown.clone());
        let lanes = config.lanes;
        // Every provider call goes through the egress policy; there is no
        // unguarded fallback. Only a TLS backend that cannot start fails
        // here, and `reqwest::Client::new()` would panic on that too.
        let http = config
            .egress
            .client()
            .expect("the provider http client (TLS backend) builds");
        let shared = Arc::new(Shared {
            messenger,
            context: Context {
                bus: bus.clone(),
                directory,
                config,
                http,
                default_base: M::DEFAULT_API_BASE,
            },
        });
        let mut tasks = JoinSet::new();
        let worker = WorkerConfig {
            durable: format!("ingress-{name}-send"),
            filter_subject: bus.subjects().sends(name),
            lanes,
            ack_wait: Duration::from_secs(30),
            max_deliver: 10,
            // One replica at a time sends, in order per conversation.
            exclusive: true,
        };
        let for_worker = shared.clone();
        tasks.spawn(run_worker(
            bus.clone(),
            worker,
            move |delivery| crate::send::deliver(for_worker.clone(), delivery),
            shutdown.clone(),
        ));
        let for_setup = shared.clone();
        let (setup_bus, setup_shutdown) = (bus.clone(), shutdown.clone());
        tasks.spawn(async move {
            let check = move |request: omnibus_proto::ChannelSetupRequest| {
                let shared = for_setup.clone();
                async move {
                    let Some(state) = request.state else {
                        return setup::reply(
                            omnibus_proto::channel_setup_reply::Outcome::Invalid,
                            "setup request without a channel",
                        );
                    };
                    shared.messenger.setup(&shared.context, state).await
                }
            };
            if let Err(err) = setup::serve(setup_bus, name, check, setup_shutdown).await {
                tracing::error!(error = %err, messenger = name, "channel setup responder stopped");
            }
        });
        let for_upkeep = shared.clone();
        let upkeep_shutdown = shutdown.clone();
        tasks.spawn(async move {
            let shared = for_upkeep;
            shared
                .messenger
                .maintain(&shared.context, upkeep_shutdown)
                .await;
        });
        tasks.spawn(crate::media::run(shared.clone(), shutdown.clone()));
        if M::TEMPLATES {
            tasks.spawn(serve_templates(shared.clone(), bus, shutdown));
        }
        Self { shared, tasks }
    }

    /// `POST` (and, with a handshake, `GET`) `/webhooks/<name>/{channel_id}`.
    pub fn router(&self) -> Router {
        crate::router::router(self.shared.clone())
    }

    /// The messenger's channels.
    pub fn directory(&self) -> &ChannelDirectory {
        &self.shared.context.directory
    }

    /// Waits for the worker and responders to finish after shutdown.
    pub async fn stopped(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn serve_templates<M: Messenger>(
    shared: Arc<Shared<M>>,
    bus: Bus,
    shutdown: CancellationToken,
) {
    let name = M::name();
    let fetch = move |request: omnibus_proto::TemplatesFetchRequest| {
        let shared = shared.clone();
        async move {
            match request.channel {
                Some(channel) => shared.messenger.templates(&shared.context, channel).await,
                None => TemplatesFetchReply {
                    outcome: Outcome::Invalid as i32,
                    message: "templates request without a channel".into(),
                    templates: Vec::new(),
                },
            }
        }
    };
    let malformed = |why: String| TemplatesFetchReply {
        outcome: Outcome::Invalid as i32,
        message: why,
        templates: Vec::new(),
    };
    let subject = format!("templates.{name}");
    let queue = format!("ingress-{name}");
    if let Err(err) = rpc::serve(bus, &subject, queue, fetch, malformed, shutdown).await {
        tracing::error!(error = %err, messenger = name, "templates responder stopped");
    }
}
