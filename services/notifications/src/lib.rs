//! The notifications service: operators' live stream of what happens in
//! conversations, signed outbound webhooks to internal services, and the
//! UNANSWERED deadlines behind both.
//!
//! Its state is a projection of the whole stream (tables `notif_*`,
//! checkpoint `notifications`), rebuilt by replay. A notification's id is
//! `<seq>-<n>` from the stream sequence of the event that caused it, so ids
//! survive restarts and rebuilds and `after_id` resumes exactly. Webhook
//! subscriptions, their disabling and fired deadlines are events too;
//! delivery attempts are local bookkeeping committed transactionally.
//!
//! # Layout
//! - [`schema`] — tables
//! - [`model`] — a stored notification, its id and outward shapes
//! - [`projection`] — events → notifications, waits, webhooks, deliveries
//! - [`hub`] — live fan-out and operator presence
//! - [`subscribe`] — one `Subscribe` stream (catch-up, then live)
//! - [`webhooks`] — signing, the dispatcher and attempts
//! - [`unanswered`] — fires overdue deadlines as events
//! - [`commands`], [`queries`], [`api`] — the gRPC side
//! - [`operators`] — `OperatorService`: presence and dashboard figures
//! - [`groups`] — operator groups (routing targets), stored as events
//! - [`presence`] — records presence changes as events
//! - [`error`] — [`ServiceError`] and its one mapping to gRPC codes

/// Implements `sqlx::FromRow` for `AnyRow` by column name; the workspace's
/// sqlx has no `derive` feature.
macro_rules! from_row {
    ($name:ident { $($field:ident),* $(,)? }) => {
        impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for $name {
            fn from_row(row: &'r sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
                use sqlx::Row as _;
                Ok(Self { $($field: row.try_get(stringify!($field))?),* })
            }
        }
    };
}

pub mod api;
pub mod commands;
pub mod error;
pub mod groups;
pub mod hub;
pub mod model;
pub mod operators;
pub mod presence;
pub mod projection;
pub mod queries;
pub mod schema;
pub mod subscribe;
pub mod unanswered;
pub mod webhooks;

use std::sync::Arc;

use omnibus_bus::{Bus, Precedence, ProjectionOptions, run_projection};
use omnibus_proto::notification_service_server::NotificationServiceServer;
use omnibus_proto::operator_service_server::OperatorServiceServer;
use omnibus_store::Store;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use error::{Result, ServiceError};
pub use webhooks::DeliveryConfig;

/// Settings of the notifications service.
#[derive(Debug, Clone)]
pub struct Config {
    /// Most events applied in one database transaction.
    pub projection_batch: usize,
    /// How far (in notifications) a live subscriber may fall behind before
    /// it is disconnected and told to resume.
    pub live_capacity: usize,
    /// Notifications queued per subscriber stream.
    pub subscriber_buffer: usize,
    /// Webhook delivery and retry settings.
    pub delivery: DeliveryConfig,
    /// How long an operator shows AWAY after their last stream closed.
    pub away_for: std::time::Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            projection_batch: 500,
            live_capacity: 4096,
            subscriber_buffer: 256,
            delivery: DeliveryConfig::default(),
            away_for: std::time::Duration::from_secs(5 * 60),
        }
    }
}

/// A running notifications service.
pub struct Notifications {
    api: api::NotificationApi,
    operators: operators::OperatorApi,
    applied: watch::Receiver<u64>,
    tasks: JoinSet<()>,
}

impl Notifications {
    /// Migrates the store and starts the projection, the webhook dispatcher
    /// and the deadline loop; they run until `shutdown`.
    pub async fn start(
        config: Config,
        bus: Bus,
        store: Store,
        shutdown: CancellationToken,
    ) -> Result<Self> {
        store.migrate("notifications", schema::MIGRATIONS).await?;
        let hub = hub::Hub::new(config.live_capacity);
        let (tasks, applied) = spawn_background(&config, &bus, &store, &hub, &shutdown)?;
        let queries = queries::Queries::new(store.clone());
        let commands = commands::Commands::new(bus, queries.clone(), applied.clone());
        let operators = operators::OperatorApi {
            store: store.clone(),
            hub: hub.clone(),
            away_for: config.away_for,
            groups: groups::Groups {
                commands: commands.clone(),
                store,
            },
        };
        let api = api::NotificationApi {
            commands,
            queries,
            hub,
            subscriber_buffer: config.subscriber_buffer,
            shutdown,
        };
        Ok(Self {
            api,
            operators,
            applied,
            tasks,
        })
    }

    /// Adds `NotificationService` and `OperatorService` to `routes`.
    pub fn register(&self, routes: &mut tonic::service::RoutesBuilder) {
        routes
            .add_service(NotificationServiceServer::new(self.api.clone()))
            .add_service(OperatorServiceServer::new(self.operators.clone()));
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

/// Starts the projection, the webhook dispatcher and the deadline loop;
/// returns them with the projection's progress.
fn spawn_background(
    config: &Config,
    bus: &Bus,
    store: &Store,
    hub: &hub::Hub,
    shutdown: &CancellationToken,
) -> Result<(JoinSet<()>, watch::Receiver<u64>)> {
    let (progress, applied) = watch::channel(0);
    let wake = Arc::new(Notify::new());
    let horizon_ms = config.delivery.max_age.as_millis() as i64;
    let projection = projection::NotificationsProjection::new(
        store.clone(),
        hub.clone(),
        wake.clone(),
        horizon_ms,
    );
    let options = ProjectionOptions {
        filter_subject: bus.subjects().all(),
        batch_size: config.projection_batch,
        // One replica: its live fan-out is fed by this projection.
        shared: false,
        precedence: Precedence::AfterFirst,
    };
    let dispatcher = webhooks::dispatch::Dispatcher::new(
        store.clone(),
        bus.clone(),
        config.delivery.clone(),
        wake,
    )
    .map_err(|e| ServiceError::Unavailable(format!("cannot build the webhook HTTP client: {e}")))?;
    let mut tasks = JoinSet::new();
    tasks.spawn(run_projection(
        bus.clone(),
        options,
        projection,
        progress,
        shutdown.clone(),
    ));
    tasks.spawn(dispatcher.run(shutdown.clone()));
    if let Some(changes) = hub.take_presence_changes() {
        tasks.spawn(presence::record(bus.clone(), changes, shutdown.clone()));
    }
    tasks.spawn(unanswered::run(
        bus.clone(),
        store.clone(),
        applied.clone(),
        shutdown.clone(),
    ));
    Ok((tasks, applied))
}
