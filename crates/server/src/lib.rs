//! The `omnibus` server: runs one service, or all of them in one process
//! sharing one HTTP listener (webhooks, health) and one gRPC listener.
//!
//! [`run`] takes bound listeners and a shutdown future and never reads the
//! environment, so tests run the whole system in-process on `127.0.0.1:0`.
//!
//! # Layout
//! - [`config`]: [`ServerConfig`], from the environment
//! - this file: wiring services to listeners, and graceful shutdown

pub mod cli;
pub mod config;

use std::future::Future;
use std::time::Duration;

use omnibus_api::{auth::TokenCheck, grpc::add_reflection_and_health, health};
use omnibus_bus::{Bus, BusError};
use omnibus_conversations::Conversations;
use omnibus_ingress_telegram::IngressTelegram;
use omnibus_store::Store;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;

pub use config::{ServerConfig, Service};

/// The listeners a server serves on, bound by the caller.
pub struct Listeners {
    /// Webhooks, `/healthz`, `/readyz`.
    pub http: TcpListener,
    /// The gRPC API.
    pub grpc: TcpListener,
}

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The projection store could not be opened or migrated.
    #[error("store: {0}")]
    Store(#[from] omnibus_store::StoreError),
    /// The conversations service could not start.
    #[error("conversations: {0}")]
    Conversations(#[from] omnibus_conversations::ServiceError),
    /// A listener failed.
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
    /// The gRPC server failed.
    #[error("grpc: {0}")]
    Grpc(#[from] tonic::transport::Error),
}

/// Runs the configured services until `shutdown` resolves, then lets
/// in-flight work finish (up to the configured grace) and returns.
pub async fn run(
    config: ServerConfig,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let token = CancellationToken::new();
    let on_signal = token.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down");
        on_signal.cancel();
    });
    let Some(bus) = connect_bus(&config, &token).await else {
        return Ok(());
    };
    let service = config.service;
    let store = match service.includes(Service::Conversations) {
        true => Some(Store::connect(&config.database_url).await?),
        false => None,
    };
    let mut grpc = tonic::service::RoutesBuilder::default();
    let mut http = health::routes(health::Readiness {
        bus: bus.clone(),
        store: store.clone(),
    });
    let conversations = match &store {
        Some(store) => {
            let conversations = Conversations::start(
                omnibus_conversations::Config::default(),
                bus.clone(),
                store.clone(),
                token.clone(),
            )
            .await?;
            conversations.register(&mut grpc);
            Some(conversations)
        }
        None => None,
    };
    let telegram = service.includes(Service::IngressTelegram).then(|| {
        let telegram_config = omnibus_ingress_telegram::Config {
            api_base: config.telegram_api_base.clone(),
            public_url: config.public_url.clone(),
            ..Default::default()
        };
        IngressTelegram::start(telegram_config, bus.clone(), token.clone())
    });
    if let Some(telegram) = &telegram {
        http = http.merge(telegram.router());
    }
    add_reflection_and_health(&mut grpc);
    let grpc = grpc.routes();
    let http = http.layer(tower_http::trace::TraceLayer::new_for_http());
    tracing::info!(
        ?service,
        http = %listeners.http.local_addr()?,
        grpc = %listeners.grpc.local_addr()?,
        "omnibus is serving"
    );
    let check = TokenCheck::new(config.api_token.as_deref());
    let grpc_server = tonic::transport::Server::builder()
        .layer(tonic::service::InterceptorLayer::new(move |r| {
            check.check(r)
        }))
        .add_routes(grpc)
        .serve_with_incoming_shutdown(
            TcpListenerStream::new(listeners.grpc),
            token.clone().cancelled_owned(),
        );
    let http_server =
        axum::serve(listeners.http, http).with_graceful_shutdown(token.clone().cancelled_owned());
    let (grpc_result, http_result) = tokio::join!(grpc_server, http_server);
    token.cancel();
    let drained = async {
        if let Some(conversations) = conversations {
            conversations.stopped().await;
        }
        if let Some(telegram) = telegram {
            telegram.stopped().await;
        }
    };
    if tokio::time::timeout(config.shutdown_grace, drained)
        .await
        .is_err()
    {
        tracing::warn!(grace = ?config.shutdown_grace, "in-flight work did not finish in time");
    }
    grpc_result?;
    http_result?;
    Ok(())
}

/// Connects to NATS, retrying with backoff (NATS may start after us in a
/// cluster); `None` when shut down first.
async fn connect_bus(config: &ServerConfig, token: &CancellationToken) -> Option<Bus> {
    let mut delay = Duration::from_millis(200);
    loop {
        match Bus::connect(&config.bus).await {
            Ok(bus) => return Some(bus),
            Err(err) => log_connect_failure(&err, delay),
        }
        tokio::select! {
            () = token.cancelled() => return None,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

fn log_connect_failure(err: &BusError, retry_in: Duration) {
    tracing::warn!(error = %err, ?retry_in, "cannot reach NATS JetStream yet");
}
