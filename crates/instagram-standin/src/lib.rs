//! A local stand-in for Instagram messaging on Meta's Graph API, speaking
//! its wire format, so tests and `omnictl simulate instagram` run without a
//! Meta app or a real Instagram account.
//!
//! It answers what Omnibus calls (providers.md §5.4):
//! - `POST /{version}/{account}/messages`: a Direct message (`recipient.id`)
//!   or a private reply to a comment (`recipient.comment_id`) → `{recipient_id,
//!   message_id}`, or a scripted Graph error;
//! - `POST /{version}/{comment_id}/replies`: a public reply → `{id}`;
//! - `GET /{version}/{id}`: the account (`id`, `username`), or a post's
//!   `permalink`.
//!
//! The token goes as `Authorization: Bearer` or the `access_token` query
//! parameter, as Graph accepts both. [`webhook`] builds the webhooks Meta
//! posts, signed with `X-Hub-Signature-256`.

mod api;
pub mod webhook;

use std::sync::{Arc, Mutex};

use omnibus_standin::Server;
use serde_json::Value;
use tokio::net::TcpListener;

/// The username every account has.
pub const USERNAME: &str = "acme.support";

/// A running stand-in; stops when dropped.
#[derive(Debug)]
pub struct StandIn {
    server: Server,
    state: Arc<Mutex<State>>,
}

/// One call the stand-in received.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub method: String,
    /// The path, e.g. `/v21.0/17841400000000001/messages`.
    pub path: String,
    /// The JSON body (`Null` for GETs).
    pub body: Value,
    /// Whether Graph accepted it (the customer saw it).
    pub accepted: bool,
}

/// A canned answer for the next send (FIFO).
#[derive(Debug, Clone, PartialEq)]
pub struct Scripted {
    pub http_status: u16,
    pub code: i64,
    pub subcode: i64,
    pub message: String,
}

impl Scripted {
    /// (#10) outside the 24-hour window.
    pub fn outside_window() -> Self {
        Self::new(
            400,
            10,
            2_018_278,
            "(#10) This message is sent outside of allowed window.",
        )
    }
    /// 190: the token expired.
    pub fn expired_token() -> Self {
        Self::new(
            400,
            190,
            463,
            "Error validating access token: Session has expired",
        )
    }
    /// (#4) the app's rate limit.
    pub fn rate_limited() -> Self {
        Self::new(400, 4, 0, "(#4) Application request limit reached")
    }
    fn new(http_status: u16, code: i64, subcode: i64, message: &str) -> Self {
        Self {
            http_status,
            code,
            subcode,
            message: message.to_owned(),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub calls: Vec<Recorded>,
    pub script: std::collections::VecDeque<Scripted>,
    pub token: Option<String>,
    pub counter: u64,
    /// Files behind the attachment links of webhooks (`/cdn/<name>`).
    pub files: omnibus_standin::Files,
}

impl StandIn {
    /// Starts a stand-in on an ephemeral loopback port.
    ///
    /// # Panics
    /// When no loopback port can be bound: a broken test machine.
    pub async fn start() -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0 for the instagram stand-in");
        Self::serve(listener).await
    }

    /// Serves on an already bound listener.
    ///
    /// # Panics
    /// When the listener has no local address.
    pub async fn serve(listener: TcpListener) -> StandIn {
        let state = Arc::new(Mutex::new(State::default()));
        let app = api::router(state.clone());
        let server = Server::serve("instagram", listener, app);
        StandIn { server, state }
    }

    /// The base URL to configure instead of `https://graph.facebook.com`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Every call, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().calls.clone()
    }

    /// The sends Graph accepted (Direct messages and comment replies).
    pub fn sent(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.accepted)
            .collect()
    }

    /// Queues an error for the next send.
    pub fn script(&self, reply: Scripted) {
        self.lock().script.push_back(reply);
    }

    /// Hosts a file a customer sent and returns its CDN link, as the
    /// `payload.url` of an attachment in a webhook.
    pub fn put_file(&self, name: &str, bytes: impl Into<Vec<u8>>, mime_type: &str) -> String {
        self.lock().files.put(name, bytes, mime_type);
        format!("{}/cdn/{name}", self.base_url())
    }

    /// From now on, the link of `name` answers 403, as Instagram's CDN
    /// links do once they expired.
    pub fn expire_file(&self, name: &str) {
        self.lock().files.expire(name);
    }

    /// How many times `name` was downloaded.
    pub fn downloads(&self, name: &str) -> usize {
        self.lock().files.downloads(name)
    }

    /// From now on, refuses every other token with error 190.
    pub fn only_token(&self, token: &str) {
        self.lock().token = Some(token.to_owned());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests;
