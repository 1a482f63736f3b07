//! How each service plugs into a server process. A service module starts its
//! background work, adds its gRPC services and HTTP routes to [`Parts`], and
//! leaves a future that resolves once its in-flight work is done.

use std::future::Future;
use std::pin::Pin;

use omnibus_bus::Bus;
use omnibus_store::Store;
use tokio_util::sync::CancellationToken;

use crate::ServerConfig;

pub(crate) mod console;
pub(crate) mod conversations;
pub(crate) mod ingress;
pub(crate) mod notifications;
pub(crate) mod routing;
pub(crate) mod timers;
pub(crate) mod window;

/// What every service gets at start.
pub(crate) struct Context {
    pub config: ServerConfig,
    pub bus: Bus,
    /// The projection store, opened when any service of the process needs one.
    pub store: Option<Store>,
    pub shutdown: CancellationToken,
}

impl Context {
    /// The store; services that need one are only started when it is open.
    pub fn store(&self) -> Store {
        self.store
            .clone()
            .expect("the store is opened for services that need it")
    }

    /// The store of `component` (timers, notifications, window): on
    /// PostgreSQL the shared one; on SQLite a file of its own beside the
    /// configured one ([`omnibus_store::component_url`]), so the
    /// projections of `serve all` do not take turns on one writer.
    pub async fn store_for(&self, component: &str) -> Result<Store, omnibus_store::StoreError> {
        let shared = self.store();
        if shared.backend() == omnibus_store::Backend::Postgres {
            return Ok(shared);
        }
        let url = omnibus_store::component_url(&self.config.database_url, component);
        Store::connect(&url).await
    }
}

/// What the services of a process add to its listeners.
#[derive(Default)]
pub(crate) struct Parts {
    pub grpc: tonic::service::RoutesBuilder,
    pub http: axum::Router,
    pub stopped: Vec<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl Parts {
    /// Registers a future that resolves when a service has drained.
    pub fn on_stop(&mut self, stopped: impl Future<Output = ()> + Send + 'static) {
        self.stopped.push(Box::pin(stopped));
    }
}
