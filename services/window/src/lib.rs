//! The window service: the 24-hour customer service window of WhatsApp
//! (and Instagram), held messages, and message templates.
//!
//! Every outbound message on a windowed channel reaches the ingress through
//! this service: the conversations service publishes it on the gate subject
//! (`<prefix>.window.<messenger>.<conversation>`), and the gate forwards it,
//! holds it behind the channel's default template, or fails it. Before that,
//! `SendMessage` asks [`check`] over request/reply, so an operator is told
//! at once. Its state is a projection (tables `window_…`, checkpoint
//! `window`): a restart or a rebuild keeps windows, templates and held
//! messages, and since every action is published with a deterministic id and
//! recorded when it comes back, nothing is decided or released twice.
//!
//! # Layout
//! - [`template`] — placeholders and parameters (pure)
//! - [`policy`] — the window rule and the decision table (pure)
//! - [`model`], [`schema`], `sql` — rows and tables
//! - [`projection`] — events → `window_` tables
//! - [`facts`] — what one decision reads
//! - [`gate`] — decides, releases and expires, once caught up
//! - [`check`] — the `window.check` responder
//! - [`commands`], [`sync`], [`queries`], [`api`] — `TemplateService`
//! - [`ids`] — deterministic event ids
//! - [`error`] — [`WindowError`] and its one mapping to gRPC codes

pub mod api;
pub mod check;
pub mod commands;
pub mod error;
pub mod facts;
pub mod gate;
pub mod ids;
pub mod model;
pub mod policy;
pub mod projection;
pub mod queries;
pub mod schema;
pub mod sync;
pub mod template;

mod sql;

use std::sync::Arc;
use std::time::Duration;

use omnibus_bus::{Bus, Precedence, ProjectionOptions, run_projection};
use omnibus_core::{Clock, SystemClock};
use omnibus_proto::template_service_server::TemplateServiceServer;
use omnibus_store::Store;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use error::{Result, WindowError};

/// How long held messages wait for the customer by default.
pub const DEFAULT_HOLD_FOR: Duration = Duration::from_secs(7 * 24 * 3600);

/// Settings of the window service.
#[derive(Clone)]
pub struct Config {
    /// Most events applied in one database transaction.
    pub projection_batch: usize,
    /// How long a held message waits for the customer before it fails.
    pub hold_for: Duration,
    /// The source of "now" for windows and holds.
    pub clock: Arc<dyn Clock>,
    /// How long a write waits for the projection to show it.
    pub read_your_writes: Duration,
    /// How long `SyncTemplates` waits for the ingress.
    pub fetch_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            // As conversations: a replay commits 2,000 events at a time; live,
            // a batch is whatever arrived meanwhile.
            projection_batch: 2000,
            hold_for: DEFAULT_HOLD_FOR,
            clock: Arc::new(SystemClock),
            read_your_writes: Duration::from_secs(10),
            fetch_timeout: Duration::from_secs(30),
        }
    }
}

/// A running window service.
pub struct Window {
    api: api::TemplateApi,
    applied: watch::Receiver<u64>,
    tasks: JoinSet<()>,
}

impl Window {
    /// Migrates the store and starts the projection, the gate and the
    /// `window.check` responder; they run until `shutdown`.
    pub async fn start(
        config: Config,
        bus: Bus,
        store: Store,
        shutdown: CancellationToken,
    ) -> Result<Self> {
        store.migrate("window", schema::MIGRATIONS).await?;
        let caught_up_at = bus.stream_end().await?;
        let (progress, applied) = watch::channel(0);
        let wake = Arc::new(Notify::new());
        let mut tasks = JoinSet::new();
        let projection =
            projection::WindowProjection::new(store.clone(), bus.subjects(), wake.clone());
        let options = ProjectionOptions {
            filter_subject: bus.subjects().all(),
            batch_size: config.projection_batch,
            // One replica (k8s: Recreate): its side effects are driven by
            // this process's own projection.
            shared: false,
            // Its deadlines settle for what it applied after a short wait:
            // it must not be held back.
            precedence: Precedence::Independent,
        };
        tasks.spawn(run_projection(
            bus.clone(),
            options,
            projection,
            progress,
            shutdown.clone(),
        ));
        tasks.spawn(
            gate::Gate {
                bus: bus.clone(),
                store: store.clone(),
                clock: config.clock.clone(),
                hold_for: config.hold_for,
                applied: applied.clone(),
                caught_up_at,
                wake,
                shutdown: shutdown.clone(),
            }
            .run(),
        );
        let checks =
            check::serve(bus.clone(), store.clone(), config.clock.clone(), shutdown).await?;
        tasks.spawn(checks);
        let catch_up = queries::CatchUp {
            bus: bus.clone(),
            applied: applied.clone(),
            timeout: config.read_your_writes,
        };
        let queries = queries::Queries::new(store, config.clock.clone(), catch_up);
        let commands = commands::Commands::new(
            bus,
            queries.clone(),
            config.clock,
            applied.clone(),
            config.read_your_writes,
        );
        let api = api::TemplateApi {
            commands,
            queries,
            fetch_timeout: config.fetch_timeout,
        };
        Ok(Self {
            api,
            applied,
            tasks,
        })
    }

    /// Adds `TemplateService` to `routes`.
    pub fn register(&self, routes: &mut tonic::service::RoutesBuilder) {
        routes.add_service(TemplateServiceServer::new(self.api.clone()));
    }

    /// The stream sequence the projection has applied through.
    pub fn applied(&self) -> watch::Receiver<u64> {
        self.applied.clone()
    }

    /// Waits for the background work to stop after shutdown was signalled.
    pub async fn stopped(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}
