//! What every messenger stand-in shares, so a new one is only its wire
//! format: a server on a loopback port that stops when its handle is
//! dropped ([`Server`]), a log of the calls it got ([`Recorder`]), and
//! answers scripted per key, first in first out ([`Script`]), and files
//! served for download the provider's way ([`Files`]).

mod files;

pub use files::Files;

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::SocketAddr;
use std::sync::Mutex;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running stand-in server. It stops gracefully when dropped.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    /// Dropping the sender tells the server to shut down.
    _shutdown: oneshot::Sender<()>,
}

impl Server {
    /// Serves `app` on an ephemeral port of 127.0.0.1.
    ///
    /// # Panics
    /// When no loopback port can be bound: a broken test machine.
    pub async fn start(name: &'static str, app: axum::Router) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind 127.0.0.1:0 for the {name} stand-in: {e}"));
        Self::serve(name, listener, app)
    }

    /// Serves `app` on an already bound listener (the caller picks the
    /// address, e.g. 127.0.0.2 in the egress tests).
    ///
    /// # Panics
    /// When the listener has no local address.
    pub fn serve(name: &'static str, listener: TcpListener, app: axum::Router) -> Server {
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("local address of the {name} stand-in: {e}"));
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async move {
                // Resolves when the handle sends or is dropped.
                let _ = stopped.await;
            });
            if let Err(error) = server.await {
                tracing::warn!(%error, stand_in = name, "stand-in stopped");
            }
        });
        Server {
            addr,
            _shutdown: shutdown,
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`, to configure instead of the provider's API base.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Every call a stand-in received, in arrival order.
#[derive(Debug)]
pub struct Recorder<T> {
    calls: Mutex<Vec<T>>,
}

impl<T> Default for Recorder<T> {
    fn default() -> Self {
        Self {
            calls: Mutex::new(Vec::new()),
        }
    }
}

impl<T: Clone> Recorder<T> {
    /// Records a call.
    pub fn record(&self, call: T) {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(call);
    }

    /// Every call so far.
    pub fn all(&self) -> Vec<T> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The calls that match `keep`.
    pub fn filtered(&self, keep: impl Fn(&T) -> bool) -> Vec<T> {
        let calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        calls.iter().filter(|c| keep(c)).cloned().collect()
    }
}

/// Answers scripted per key (a method, a path), first in first out; an
/// empty queue means "answer normally".
#[derive(Debug)]
pub struct Script<K, A> {
    queues: Mutex<HashMap<K, VecDeque<A>>>,
}

impl<K, A> Default for Script<K, A> {
    fn default() -> Self {
        Self {
            queues: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, A> Script<K, A> {
    /// Queues `answer` for the next call of `key`.
    pub fn push(&self, key: K, answer: A) {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        queues.entry(key).or_default().push_back(answer);
    }

    /// The next scripted answer for `key`, if any.
    pub fn next(&self, key: &K) -> Option<A> {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        queues.get_mut(key).and_then(VecDeque::pop_front)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_server_answers_until_dropped() {
        let app = axum::Router::new().route("/ping", axum::routing::get(|| async { "pong" }));
        let server = Server::start("test", app).await;
        let url = format!("{}/ping", server.base_url());
        let body = reqwest::get(&url)
            .await
            .expect("get")
            .text()
            .await
            .expect("text");
        assert_eq!(body, "pong");
        drop(server);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while reqwest::get(&url).await.is_ok() {
            assert!(std::time::Instant::now() < deadline, "still answering");
            tokio::task::yield_now().await;
        }
    }

    #[test]
    fn scripts_are_first_in_first_out_per_key_and_calls_are_recorded() {
        let script = Script::default();
        script.push("sendMessage", 1);
        script.push("sendMessage", 2);
        script.push("getMe", 3);
        assert_eq!(script.next(&"sendMessage"), Some(1));
        assert_eq!(script.next(&"getMe"), Some(3));
        assert_eq!(script.next(&"sendMessage"), Some(2));
        assert_eq!(script.next(&"sendMessage"), None);
        let recorder = Recorder::default();
        recorder.record("a");
        recorder.record("b");
        assert_eq!(recorder.all(), ["a", "b"]);
        assert_eq!(recorder.filtered(|c| *c == "b"), ["b"]);
    }
}
