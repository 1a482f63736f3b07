//! Bounded polling, the only way tests wait for something to happen.

use std::future::Future;
use std::net::{Ipv4Addr, TcpListener};
use std::time::Duration;

use tokio::time::Instant;

/// Short enough to keep tests fast, long enough not to spin a core.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Calls `f` every ~20 ms until it returns `Some`, and returns that value.
///
/// Panics with "timed out after {timeout:?} waiting for {what}" when
/// `timeout` passes first, including when one call of `f` hangs past it.
/// Uses tokio's clock, so it works under `start_paused = true`.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, f()).await {
            Ok(Some(value)) => return value,
            Ok(None) if Instant::now() < deadline => tokio::time::sleep(POLL_INTERVAL).await,
            _ => panic!("timed out after {timeout:?} waiting for {what}"),
        }
    }
}

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
///
/// Another process may take it before the caller binds it; prefer binding
/// `127.0.0.1:0` directly when the code under test accepts a listener.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("cannot bind an ephemeral port on 127.0.0.1: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn returns_the_first_some() {
        let calls = AtomicU32::new(0);
        let value = wait_until("third call", Duration::from_secs(1), || {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            async move { (n == 3).then_some(n) }
        })
        .await;
        assert_eq!(value, 3);
    }

    #[tokio::test(start_paused = true)]
    #[should_panic(expected = "timed out after 100ms waiting for nothing")]
    async fn panics_after_the_timeout() {
        wait_until("nothing", Duration::from_millis(100), || async {
            None::<()>
        })
        .await;
    }

    #[tokio::test(start_paused = true)]
    #[should_panic(expected = "waiting for a hang")]
    async fn a_hanging_probe_also_times_out() {
        wait_until("a hang", Duration::from_millis(100), || {
            std::future::pending::<Option<()>>()
        })
        .await;
    }

    #[test]
    fn free_port_is_bindable() {
        let port = free_port();
        assert_ne!(port, 0);
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("port is free");
    }
}
