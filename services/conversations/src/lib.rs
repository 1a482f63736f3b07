//! The conversations service: the read model of channels, contacts,
//! conversations and messages, and the gRPC API operators and internal
//! services use (`ChannelService`, `ConversationService`, `ContactService`).
//!
//! Its state is a projection of the whole stream, rebuilt by replay when the
//! database is empty or behind. Writes are events: the API validates a
//! request, publishes the event, and answers once the projection shows it.
//!
//! # Layout
//! - [`schema`] — tables (portable SQL for SQLite and PostgreSQL)
//! - [`projection`] — events → tables
//! - [`queries`] — tables → API messages
//! - [`commands`] — requests → events
//! - [`api`] — the gRPC adapters
//! - [`media`] — `GET /media/<message_id>/<n>`: attachments' files
//! - [`validate`], [`error`] — request checks and the one error mapping

pub mod api;
pub mod commands;
pub mod contacts;
pub mod error;
pub mod media;
pub mod projection;
pub mod queries;
pub mod schema;
pub mod validate;

mod codec;
mod history;
mod paging;
mod rows;
mod send_targets;
mod sql;

use omnibus_bus::{Bus, Precedence, ProjectionOptions, run_projection};
use omnibus_proto::{
    channel_service_server::ChannelServiceServer, contact_service_server::ContactServiceServer,
    conversation_service_server::ConversationServiceServer,
};
use omnibus_store::Store;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use commands::CommandConfig;
pub use error::ServiceError;

/// Settings of the conversations service.
#[derive(Debug, Clone)]
pub struct Config {
    /// Most events applied in one database transaction.
    pub projection_batch: usize,
    /// Write-side tuning.
    pub commands: CommandConfig,
    /// Where phones written without a country code are read
    /// (`OMNIBUS_DEFAULT_REGION`).
    pub default_region: contacts::phone::Region,
    /// `OMNIBUS_PUBLIC_URL`: attachments' links point to `GET /media` under it.
    pub public_url: Option<String>,
    /// `GET /media`.
    pub media: media::MediaConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            projection_batch: 2000,
            commands: CommandConfig::default(),
            default_region: contacts::phone::Region::default(),
            public_url: None,
            media: media::MediaConfig::default(),
        }
    }
}

/// A running conversations service.
pub struct Conversations {
    commands: commands::Commands,
    queries: queries::Queries,
    contacts: contacts::queries::ContactQueries,
    applied: watch::Receiver<u64>,
    changes: broadcast::Sender<String>,
    projection: JoinHandle<()>,
    joiner: JoinHandle<()>,
    targets_reader: JoinHandle<()>,
    bus: Bus,
    media: media::MediaConfig,
}

impl Conversations {
    /// Migrates the store and starts the projection. The projection runs
    /// until `shutdown`; the API is served by whoever owns the gRPC listener.
    pub async fn start(
        config: Config,
        bus: Bus,
        store: Store,
        shutdown: CancellationToken,
    ) -> Result<Self, ServiceError> {
        store.migrate("conversations", schema::MIGRATIONS).await?;
        store
            .migrate("contacts", contacts::schema::MIGRATIONS)
            .await?;
        let (progress, applied) = watch::channel(0);
        let (changes, _) = broadcast::channel(1024);
        let projection = projection::ConversationsProjection::new(
            store.clone(),
            changes.clone(),
            config.default_region,
        );
        let options = ProjectionOptions {
            filter_subject: bus.subjects().all(),
            batch_size: config.projection_batch,
            // Replicas sharing PostgreSQL take turns applying; on SQLite
            // there is one process.
            shared: store.backend() == omnibus_store::Backend::Postgres,
            // What operators read: in `serve all`, the other projections
            // wait while it catches up.
            precedence: Precedence::First,
        };
        let projection = tokio::spawn(run_projection(
            bus.clone(),
            options,
            projection,
            progress,
            shutdown.clone(),
        ));
        let send_targets = std::sync::Arc::new(send_targets::SendTargets::default());
        let targets_reader = tokio::spawn(send_targets::follow(
            bus.clone(),
            send_targets.clone(),
            shutdown.clone(),
        ));
        let joiner = tokio::spawn(contacts::joiner::run(
            bus.clone(),
            store.clone(),
            applied.clone(),
            shutdown,
        ));
        let contacts = contacts::queries::ContactQueries::new(store.clone(), config.default_region);
        let links = media::MediaLinks::new(config.public_url.as_deref());
        let queries = queries::Queries::new(store).with_media_links(links);
        let commands = commands::Commands::new(
            bus.clone(),
            queries.clone(),
            contacts.clone(),
            applied.clone(),
            send_targets,
            config.commands,
        );
        Ok(Self {
            commands,
            queries,
            contacts,
            applied,
            changes,
            projection,
            joiner,
            targets_reader,
            bus,
            media: config.media,
        })
    }

    /// The service's HTTP routes: `GET /media/<message_id>/<n>`.
    pub fn router(&self) -> axum::Router {
        media::router(
            self.queries.clone(),
            self.commands.clone(),
            self.bus.clone(),
            self.media.clone(),
        )
    }

    /// Adds the service's gRPC services to `routes`.
    pub fn register(&self, routes: &mut tonic::service::RoutesBuilder) {
        let channels = api::ChannelApi {
            commands: self.commands.clone(),
            queries: self.queries.clone(),
        };
        let conversations = api::ConversationApi {
            commands: self.commands.clone(),
            queries: self.queries.clone(),
        };
        let contacts = api::ContactApi {
            commands: self.commands.clone(),
            queries: self.queries.clone(),
            contacts: self.contacts.clone(),
        };
        routes
            .add_service(ChannelServiceServer::new(channels))
            .add_service(ConversationServiceServer::new(conversations))
            .add_service(ContactServiceServer::new(contacts));
    }

    /// The stream sequence the projection has applied through.
    pub fn applied(&self) -> watch::Receiver<u64> {
        self.applied.clone()
    }

    /// Ids of conversations as the projection changes them.
    pub fn changes(&self) -> broadcast::Receiver<String> {
        self.changes.subscribe()
    }

    /// Waits for the projection to stop after shutdown was signalled.
    pub async fn stopped(self) {
        let _ = self.projection.await;
        let _ = self.joiner.await;
        let _ = self.targets_reader.await;
    }
}
