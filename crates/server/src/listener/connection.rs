//! One HTTP connection and its watchdog. The watchdog follows the
//! connection through three phases and closes it when the phase's clock
//! runs out:
//! - awaiting a request head (from the connection's opening, or from the
//!   first byte after a keep-alive pause): the header timeout;
//! - serving (a request's handler runs; its body has its own deadline);
//! - idle between requests (from the last answer or byte written): the idle
//!   timeout.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use super::ListenerConfig;
use super::body::Deadline;

/// What a connection needs besides its socket.
pub(super) struct Connection {
    pub router: Router,
    pub config: Arc<ListenerConfig>,
    pub shutdown: CancellationToken,
}

impl Connection {
    /// Serves requests until the client closes, the watchdog fires, or the
    /// server shuts down (after the requests in flight are answered).
    pub(super) async fn serve(self, stream: TcpStream) {
        let clock = Arc::new(Clock::new());
        let io = TokioIo::new(Watched {
            inner: stream,
            clock: clock.clone(),
        });
        let service = {
            let (router, clock) = (self.router.clone(), clock.clone());
            let body_timeout = self.config.body_timeout;
            hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                let serving = clock.request_started();
                let request = request.map(|b| Body::new(Deadline::new(Body::new(b), body_timeout)));
                let router = router.clone();
                async move {
                    let response = router.oneshot(request).await;
                    drop(serving);
                    response
                }
            })
        };
        let builder = auto::Builder::new(TokioExecutor::new());
        let connection = builder.serve_connection(io, service);
        tokio::pin!(connection);
        let watchdog = watch(&clock, &self.config);
        tokio::pin!(watchdog);
        let mut draining = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(err) = result {
                        tracing::debug!(error = %err, "http connection ended with an error");
                    }
                    return;
                }
                why = &mut watchdog => {
                    tracing::debug!(why, "closing an http connection");
                    return;
                }
                () = self.shutdown.cancelled(), if !draining => {
                    draining = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Resolves, naming the timeout, when the connection must close.
async fn watch(clock: &Clock, config: &ListenerConfig) -> &'static str {
    loop {
        let changed = clock.changed.notified();
        let (deadline, _) = clock.deadline(config);
        match deadline {
            Some(deadline) => {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => {
                        let (now_due, why) = clock.deadline(config);
                        if now_due.is_some_and(|d| d <= Instant::now()) {
                            return why;
                        }
                    }
                    () = changed => {}
                }
            }
            None => changed.await,
        }
    }
}

// === impl Clock ===

#[derive(Debug, Clone, Copy)]
enum Phase {
    AwaitingHead { since: Instant },
    Serving { requests: usize },
    Idle { since: Instant },
}

/// The connection's phase, shared by its socket, its service and its
/// watchdog.
struct Clock {
    phase: Mutex<Phase>,
    changed: Notify,
}

impl Clock {
    fn new() -> Self {
        Self {
            phase: Mutex::new(Phase::AwaitingHead {
                since: Instant::now(),
            }),
            changed: Notify::new(),
        }
    }

    fn phase(&self) -> MutexGuard<'_, Phase> {
        // A panic elsewhere cannot leave a phase half-written.
        self.phase.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn deadline(&self, config: &ListenerConfig) -> (Option<Instant>, &'static str) {
        match *self.phase() {
            Phase::AwaitingHead { since } => {
                (Some(since + config.header_timeout), "headers timed out")
            }
            Phase::Idle { since } => (Some(since + config.idle_timeout), "idle timeout"),
            Phase::Serving { .. } => (None, ""),
        }
    }

    fn set(&self, phase: Phase) {
        *self.phase() = phase;
        self.changed.notify_waiters();
    }

    /// Bytes arrived: after a pause they start the next request's headers.
    fn read(&self) {
        let idle = matches!(*self.phase(), Phase::Idle { .. });
        if idle {
            self.set(Phase::AwaitingHead {
                since: Instant::now(),
            });
        }
    }

    /// Bytes left: an answer still streaming is not idle time.
    fn wrote(&self) {
        if let Phase::Idle { since } = &mut *self.phase() {
            *since = Instant::now();
        }
    }

    fn request_started(self: &Arc<Self>) -> Serving {
        let requests = match *self.phase() {
            Phase::Serving { requests } => requests + 1,
            _ => 1,
        };
        self.set(Phase::Serving { requests });
        Serving(self.clone())
    }
}

/// Held while a request is served; the last one to go starts the idle clock.
struct Serving(Arc<Clock>);

impl Drop for Serving {
    fn drop(&mut self) {
        let next = match *self.0.phase() {
            Phase::Serving { requests } if requests > 1 => Phase::Serving {
                requests: requests - 1,
            },
            _ => Phase::Idle {
                since: Instant::now(),
            },
        };
        self.0.set(next);
    }
}

// === impl Watched ===

/// The socket, reporting its traffic to the clock.
struct Watched {
    inner: TcpStream,
    clock: Arc<Clock>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.clock.read();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &result
            && *n > 0
        {
            self.clock.wrote();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = &result
            && *n > 0
        {
            self.clock.wrote();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn config() -> ListenerConfig {
        ListenerConfig {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn phases_choose_the_clock() {
        let config = config();
        let clock = Arc::new(Clock::new());
        let opened = Instant::now();
        assert_eq!(
            clock.deadline(&config).0,
            Some(opened + config.header_timeout)
        );
        let serving = clock.request_started();
        assert_eq!(clock.deadline(&config).0, None, "a handler runs unwatched");
        tokio::time::advance(Duration::from_secs(5)).await;
        drop(serving);
        let idle_at = Instant::now();
        assert_eq!(
            clock.deadline(&config).0,
            Some(idle_at + config.idle_timeout)
        );
        tokio::time::advance(Duration::from_secs(20)).await;
        clock.read();
        let head_at = Instant::now();
        assert_eq!(
            clock.deadline(&config).0,
            Some(head_at + config.header_timeout)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_watchdog_fires_when_the_phase_clock_runs_out() {
        let config = config();
        let clock = Arc::new(Clock::new());
        let why = watch(&clock, &config).await;
        assert_eq!(why, "headers timed out");
        let serving = clock.request_started();
        drop(serving);
        let started = Instant::now();
        let why = watch(&clock, &config).await;
        assert_eq!(why, "idle timeout");
        let waited = started.elapsed();
        assert!(waited >= config.idle_timeout, "{waited:?}");
        assert!(
            waited < config.idle_timeout + Duration::from_millis(10),
            "{waited:?}"
        );
    }
}
