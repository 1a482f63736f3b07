//! The `omnibus` server: runs one service, or all of them in one process
//! sharing one HTTP listener (webhooks, health, metrics) and one gRPC listener.
//!
//! [`run`] takes bound listeners and a shutdown future and never reads the
//! environment, so tests run the whole system in-process on `127.0.0.1:0`.
//!
//! # Layout
//! - [`config`] — [`ServerConfig`], from the environment
//! - [`listener`] — the HTTP listener: timeouts and the connection cap
//! - `services` — how each service plugs into the process (one file each)
//! - this file — listeners, readiness and graceful shutdown

pub mod cli;
pub mod config;
pub mod listener;
mod services;

use std::future::Future;
use std::time::Duration;

use omnibus_api::{auth::TokenCheck, grpc::add_reflection_and_health, health};
use omnibus_bus::{Bus, BusError};
use omnibus_metrics::LagSource;
use omnibus_store::Store;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::TcpIncoming;

pub use config::{ServerConfig, Service};
pub use listener::ListenerConfig;

/// The listeners a server serves on, bound by the caller.
pub struct Listeners {
    /// Webhooks, `/healthz`, `/readyz`, `/metrics`.
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
    /// A service with an API (conversations, notifications, window) could
    /// not start.
    #[error("{service}: {source}")]
    Service {
        /// Which one.
        service: &'static str,
        /// Why.
        source: omnibus_api::error::ServiceError,
    },
    /// The console's gRPC address is unusable.
    #[error("console: {0}")]
    Console(#[from] omnibus_console::ConsoleError),
    /// The timers service could not start.
    #[error("timers: {0}")]
    Timers(#[from] omnibus_timers::TimersError),
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
    warn_about_clear_credentials(&config);
    let Some(bus) = connect_bus(&config, &token).await else {
        return Ok(());
    };
    let service = config.service;
    let store = match service.needs_store() {
        true => Some(Store::connect(&config.database_url).await?),
        false => None,
    };
    let grace = config.shutdown_grace;
    let api_token = config.api_token.clone();
    let listener_config = config.http.clone();
    let ctx = services::Context {
        config,
        bus: bus.clone(),
        store: store.clone(),
        shutdown: token.clone(),
    };
    let mut parts = services::Parts::default();
    if service.includes(Service::Conversations) {
        services::conversations::start(&ctx, &mut parts).await?;
    }
    if service.includes(Service::IngressTelegram) {
        let api_base = &ctx.config.telegram_api_base;
        services::ingress::start(
            omnibus_ingress_telegram::Telegram,
            api_base,
            &ctx,
            &mut parts,
        );
    }
    if service.includes(Service::IngressViber) {
        let api_base = &ctx.config.viber_api_base;
        services::ingress::start(omnibus_ingress_viber::Viber, api_base, &ctx, &mut parts);
    }
    if service.includes(Service::IngressVk) {
        let api_base = &ctx.config.vk_api_base;
        services::ingress::start(omnibus_ingress_vk::Vk, api_base, &ctx, &mut parts);
    }
    if service.includes(Service::IngressWhatsapp) {
        let api_base = &ctx.config.whatsapp_api_base;
        services::ingress::start(
            omnibus_ingress_whatsapp::Whatsapp,
            api_base,
            &ctx,
            &mut parts,
        );
    }
    if service.includes(Service::IngressInstagram) {
        let api_base = &ctx.config.instagram_api_base;
        services::ingress::start(
            omnibus_ingress_instagram::Instagram::default(),
            api_base,
            &ctx,
            &mut parts,
        );
    }
    if service.includes(Service::IngressWazzup) {
        let api_base = &ctx.config.wazzup_api_base;
        services::ingress::start(
            omnibus_ingress_wazzup::Wazzup::durable(ctx.bus.clone()),
            api_base,
            &ctx,
            &mut parts,
        );
        services::ingress::wazzup_channels(api_base, &ctx);
    }
    if service.includes(Service::Notifications) {
        services::notifications::start(&ctx, &mut parts).await?;
    }
    if service.includes(Service::Timers) {
        services::timers::start(&ctx, &mut parts).await?;
    }
    if service.includes(Service::Routing) {
        services::routing::start(&ctx, &mut parts);
    }
    if service.includes(Service::Window) {
        services::window::start(&ctx, &mut parts).await?;
    }
    if ctx.config.console {
        services::console::start(&ctx, &mut parts, listeners.grpc.local_addr()?)?;
    }
    let services::Parts {
        mut grpc,
        http,
        stopped,
    } = parts;
    add_reflection_and_health(&mut grpc);
    let lag = LagSource::new(bus.jetstream().clone(), bus.stream_name());
    let http = http
        .merge(health::routes(health::Readiness { bus, store }))
        .merge(omnibus_metrics::routes(Some(lag)))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(http_span));
    tracing::info!(
        ?service,
        http = %listeners.http.local_addr()?,
        grpc = %listeners.grpc.local_addr()?,
        "omnibus is serving"
    );
    let check = TokenCheck::new(api_token.as_deref());
    let grpc_server = tonic::transport::Server::builder()
        .layer(
            tower_http::trace::TraceLayer::new_for_grpc()
                .make_span_with(grpc_span)
                .on_failure(omnibus_api::failures::LogFailures),
        )
        .layer(tonic::service::InterceptorLayer::new(move |r| {
            check.check(r)
        }))
        .add_routes(grpc.routes())
        .serve_with_incoming_shutdown(
            grpc_incoming(listeners.grpc),
            token.clone().cancelled_owned(),
        );
    let http_server = listener::serve(listeners.http, http, listener_config, token.clone());
    let (grpc_result, http_result) = tokio::join!(grpc_server, http_server);
    token.cancel();
    if tokio::time::timeout(grace, futures::future::join_all(stopped))
        .await
        .is_err()
    {
        tracing::warn!(?grace, "in-flight work did not finish in time");
    }
    grpc_result?;
    http_result?;
    Ok(())
}

/// The gRPC listener's connections, with Nagle's algorithm off (as the
/// HTTP listener's). tonic sets `TCP_NODELAY` only on listeners it binds
/// itself; on ours a response's frames written one after another waited
/// for the client's delayed ACK, up to 40 ms, which was the tail of every
/// `Subscribe` stream and unary call.
fn grpc_incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// A span per HTTP request, with the path only: query strings carry
/// secrets (WhatsApp's `hub.verify_token`).
fn http_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        version = ?request.version(),
    )
}

/// A span per gRPC call, continuing the caller's trace (W3C `traceparent`
/// in the metadata); events the call publishes carry it on to the services
/// that consume them.
fn grpc_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let span = tracing::info_span!("grpc", method = %request.uri().path());
    let metadata = tonic::metadata::MetadataMap::from_headers(request.headers().clone());
    omnibus_telemetry::set_parent_from_tonic(&span, &metadata);
    span
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

fn warn_about_clear_credentials(config: &ServerConfig) {
    match config.bus.keyring.sealing_key_id() {
        Some(key_id) => tracing::info!(key_id, "credentials are sealed at rest"),
        None => tracing::warn!(
            "{} is not set: channel credentials and webhook secrets are stored in the clear \
             on the stream; set it in production",
            config::ENV_CREDENTIALS_KEY
        ),
    }
}

fn log_connect_failure(err: &BusError, retry_in: Duration) {
    tracing::warn!(error = %err, ?retry_in, "cannot reach NATS JetStream yet");
}

#[cfg(test)]
mod tests {
    use futures::StreamExt as _;

    use super::*;

    #[tokio::test]
    async fn grpc_connections_send_without_waiting_for_acks() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut incoming = grpc_incoming(listener);
        let _client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let accepted = incoming
            .next()
            .await
            .expect("a connection")
            .expect("accepted");
        assert!(accepted.nodelay().expect("read TCP_NODELAY"));
    }
}
