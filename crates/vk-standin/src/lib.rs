//! A local stand-in for the VK API that speaks its wire format, so tests and
//! `omnictl`'s offline demos run without the internet or a VK community.
//!
//! It answers what Omnibus calls (providers.md §4.3) at
//! `/method/<name>`, parameters in the query or a form body, each call with
//! `access_token` and `v`:
//! - `messages.send` — records it and answers `{"response": <id>}`; a
//!   repeated `random_id` in the same dialog answers the first send's id
//!   and sends nothing, as VK does; 901 for a customer who denied messages;
//! - `wall.createComment` / `market.createComment` — comment answers;
//! - `groups.getById` — the community, how a token is checked;
//! - anything scripted: `{"error": {error_code, error_msg, request_params}}`.
//!
//! [`callbacks`] builds the Callback API notifications VK posts.
//!
//! # Layout
//! - this file: [`StandIn`] and the recorded/scripted types
//! - `api`: the HTTP handler and VK's answers
//! - [`callbacks`]: notification payloads

mod api;
pub mod callbacks;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use omnibus_standin::Server;
use tokio::net::TcpListener;

/// The community every token belongs to.
pub const GROUP_ID: i64 = 218_765_432;
/// Its name, as `groups.getById` gives it.
pub const GROUP_NAME: &str = "Acme Store";

/// A running stand-in. The server stops when this handle is dropped.
#[derive(Debug)]
pub struct StandIn {
    server: Server,
    shared: Arc<Shared>,
}

/// One API call the stand-in received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `messages.send`, `groups.getById`, …
    pub method: String,
    /// Query and form parameters together (`access_token` included).
    pub params: BTreeMap<String, String>,
}

impl Recorded {
    /// A parameter, empty when absent.
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).map_or("", String::as_str)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Shared {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    requests: Vec<Recorded>,
    sent: Vec<Recorded>,
    scripts: VecDeque<(i64, String)>,
    only_token: Option<String>,
    denied: HashSet<String>,
    random_ids: HashMap<(String, String), i64>,
    last_id: i64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl StandIn {
    /// Starts a stand-in on an ephemeral loopback port.
    ///
    /// # Panics
    /// When no loopback port can be bound: a broken test machine.
    pub async fn start() -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0 for the vk stand-in");
        Self::serve(listener).await
    }

    /// Serves on an already bound listener.
    ///
    /// # Panics
    /// When the listener has no local address.
    pub async fn serve(listener: TcpListener) -> StandIn {
        let shared = Arc::new(Shared::default());
        let app = api::router(shared.clone());
        let server = Server::serve("vk", listener, app);
        StandIn { server, shared }
    }

    /// The base URL to configure instead of `https://api.vk.com`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Every call received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests.clone()
    }

    /// The sends (messages and comments) that reached customers, each once.
    pub fn sent(&self) -> Vec<Recorded> {
        self.shared.lock().sent.clone()
    }

    /// Every `messages.send` call, accepted or not (retries included).
    pub fn send_attempts(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "messages.send")
            .collect()
    }

    /// Queues a VK error for the next send (FIFO).
    pub fn script_error(&self, code: i64, message: &str) {
        self.shared
            .lock()
            .scripts
            .push_back((code, message.to_owned()));
    }

    /// From now on, answers error 5 to every other token.
    pub fn only_token(&self, token: &str) {
        self.shared.lock().only_token = Some(token.to_owned());
    }

    /// The customer `user_id` forbade messages from the community (901).
    pub fn deny(&self, user_id: i64) {
        self.shared.lock().denied.insert(user_id.to_string());
    }
}

#[cfg(test)]
mod tests;
