//! A webhook receiver for the tests: a local axum server that records every
//! POST and answers with scripted statuses.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

/// One request the receiver got, and what it answered.
#[derive(Debug, Clone)]
pub struct Received {
    pub event_id: String,
    pub signature: String,
    pub timestamp: String,
    pub body: Bytes,
    pub answered: u16,
}

#[derive(Default)]
struct Shared {
    script: VecDeque<u16>,
    /// Answer once the script ran out.
    otherwise: u16,
    received: Vec<Received>,
}

/// A running receiver; stops when dropped.
pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Starts on `127.0.0.1:0`, answering `script` in order, then `otherwise`.
    pub async fn start(script: &[u16], otherwise: u16) -> Self {
        Self::start_on("127.0.0.1", script, otherwise).await
    }

    /// Starts on `ip`, port 0.
    pub async fn start_on(ip: &str, script: &[u16], otherwise: u16) -> Self {
        let shared = Arc::new(Mutex::new(Shared {
            script: script.iter().copied().collect(),
            otherwise,
            received: Vec::new(),
        }));
        let app = axum::Router::new()
            .route("/hook", post(hook))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared, task }
    }

    /// The URL to subscribe.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().unwrap().received.clone()
    }

    /// Changes the answer given once the script ran out.
    pub fn answer(&self, status: u16) {
        self.shared.lock().unwrap().otherwise = status;
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn hook(
    State(shared): State<Arc<Mutex<Shared>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut shared = shared.lock().unwrap();
    let answered = shared.script.pop_front().unwrap_or(shared.otherwise);
    shared.received.push(Received {
        event_id: header("x-omnibus-event-id"),
        signature: header("x-omnibus-signature"),
        timestamp: header("x-omnibus-timestamp"),
        body,
        answered,
    });
    StatusCode::from_u16(answered).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
