//! A local stand-in for Wazzup's public API v3, speaking its wire format,
//! so tests and `omnictl simulate wazzup` run without a Wazzup account.
//!
//! It answers what Omnibus calls (providers.md §6.4):
//! - `GET /v3/channels`: the account's channels (`channelId`, `transport`,
//!   `plainId`, `state`), the list `ListProviderChannels` shows;
//! - `POST /v3/message`: checks `channelId`, `chatType`, `chatId`, text xor
//!   `contentUri`, refuses a repeated `crmMessageId` as Wazzup does
//!   (`400 repeatedCrmMessageId`), answers `201 {messageId, chatId}` or a
//!   scripted error (429 included).
//!
//! Every call needs `Authorization: Bearer <apiKey>`. [`webhook`] builds the
//! bodies Wazzup posts (messages of every type, statuses, the test check).

mod api;
pub mod webhook;

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use omnibus_standin::Server;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// The API key the stand-in accepts unless told otherwise.
pub const API_KEY: &str = "3f9a0c1e2d4b4a6c8e0f1a2b3c4d5e6f";

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
    pub path: String,
    pub body: Value,
    /// Whether Wazzup accepted it (the customer got it).
    pub accepted: bool,
}

/// A canned answer for the next `POST /v3/message` (FIFO).
#[derive(Debug, Clone, PartialEq)]
pub struct Scripted {
    pub http_status: u16,
    pub body: Value,
}

impl Scripted {
    /// 429: more than 500 requests in 5 seconds.
    pub fn rate_limited() -> Self {
        Self::error(429, "tooManyRequests", "Too many requests")
    }
    /// 500 from Wazzup.
    pub fn server_error() -> Self {
        Self::error(500, "internalError", "Internal server error")
    }
    /// 400 with Wazzup's `{error, description}`.
    pub fn error(http_status: u16, error: &str, description: &str) -> Self {
        Self {
            http_status,
            body: json!({ "error": error, "description": description }),
        }
    }
}

/// One Wazzup channel of the account (a transport and number).
#[derive(Debug, Clone, PartialEq)]
pub struct WazzupChannel {
    pub channel_id: String,
    pub transport: String,
    pub plain_id: String,
    pub state: String,
}

impl WazzupChannel {
    /// An active channel.
    pub fn new(channel_id: &str, transport: &str, plain_id: &str) -> Self {
        Self {
            channel_id: channel_id.to_owned(),
            transport: transport.to_owned(),
            plain_id: plain_id.to_owned(),
            state: "active".to_owned(),
        }
    }
}

/// The account's channels in the examples: two WhatsApp numbers and an
/// Instagram account.
pub fn sample_channels() -> Vec<WazzupChannel> {
    vec![
        WazzupChannel::new(webhook::CHANNEL_ID, "whatsapp", "79990001122"),
        WazzupChannel::new(webhook::SECOND_CHANNEL_ID, "whatsapp", "79990003344"),
        WazzupChannel::new(webhook::INSTAGRAM_CHANNEL_ID, "instagram", "acme.support"),
    ]
}

#[derive(Debug)]
pub(crate) struct State {
    pub calls: Vec<Recorded>,
    pub script: VecDeque<Scripted>,
    pub api_key: String,
    pub channels: Vec<WazzupChannel>,
    pub crm_ids: HashSet<String>,
    pub counter: u64,
}

impl StandIn {
    /// Starts a stand-in on an ephemeral loopback port with the
    /// [`sample_channels`] and [`API_KEY`].
    ///
    /// # Panics
    /// When no loopback port can be bound: a broken test machine.
    pub async fn start() -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0 for the wazzup stand-in");
        Self::serve(listener).await
    }

    /// Serves on an already bound listener.
    ///
    /// # Panics
    /// When the listener has no local address.
    pub async fn serve(listener: TcpListener) -> StandIn {
        let state = Arc::new(Mutex::new(State {
            calls: Vec::new(),
            script: VecDeque::new(),
            api_key: API_KEY.to_owned(),
            channels: sample_channels(),
            crm_ids: HashSet::new(),
            counter: 0,
        }));
        let app = api::router(state.clone());
        let server = Server::serve("wazzup", listener, app);
        StandIn { server, state }
    }

    /// The base URL to configure instead of `https://api.wazzup24.com`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Every call, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().calls.clone()
    }

    /// The messages Wazzup accepted (what customers got).
    pub fn sent(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.accepted)
            .collect()
    }

    /// Queues an answer for the next send.
    pub fn script(&self, reply: Scripted) {
        self.lock().script.push_back(reply);
    }

    /// Replaces the account's channels.
    pub fn set_channels(&self, channels: Vec<WazzupChannel>) {
        self.lock().channels = channels;
    }

    /// Replaces the accepted API key.
    pub fn set_api_key(&self, key: &str) {
        key.clone_into(&mut self.lock().api_key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests;
