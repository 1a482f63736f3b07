//! The HTTP listener (webhooks, health, metrics). It protects itself, as the
//! contract says: a connection must send complete request headers within
//! the header timeout (10 s) and a body within the body timeout (30 s); an
//! idle keep-alive connection closes after the idle timeout (60 s); and at
//! most `max_connections` connections are open at once — further clients
//! wait in the kernel's accept queue, so memory stays bounded however many
//! connect.
//!
//! Why not hyper's `header_read_timeout`: hyper starts that timer whenever it
//! waits for a request head, idle keep-alive time included, so it would cut
//! every keep-alive connection at 10 s instead of 60. The watchdog of
//! [`connection`] starts the header clock at the connection's first byte
//! and again at the first byte of each later request.
//!
//! # Layout
//! - this file — [`ListenerConfig`] and the accept loop
//! - [`connection`] — one connection: the watchdog and its phases
//! - [`body`] — the body deadline

mod body;
mod connection;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// Limits of the HTTP listener; the defaults are the contract's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    /// From a request's first byte (or the connection's opening) to its
    /// complete headers.
    pub header_timeout: Duration,
    /// From complete headers to the complete body.
    pub body_timeout: Duration,
    /// How long a keep-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Open connections at once (`OMNIBUS_HTTP_MAX_CONNECTIONS`).
    pub max_connections: usize,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then stops
/// accepting, lets every open connection finish its requests and returns
/// once all are closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: ListenerConfig,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let max =
        u32::try_from(config.max_connections.clamp(1, Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX);
    let permits = Arc::new(Semaphore::new(max as usize));
    let config = Arc::new(config);
    loop {
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    accept_failed(err).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let connection = connection::Connection {
            router: router.clone(),
            config: config.clone(),
            shutdown: shutdown.clone(),
        };
        tokio::spawn(async move {
            connection.serve(stream).await;
            drop(permit);
        });
    }
    drop(listener);
    // Every connection holds a permit until it is closed.
    let _ = permits.acquire_many(max).await;
    Ok(())
}

/// Errors of one connection (reset before accept) are the client's; others
/// (out of file descriptors) pass, so back off instead of spinning.
async fn accept_failed(err: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        err.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!(error = %err, "cannot accept an http connection; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
