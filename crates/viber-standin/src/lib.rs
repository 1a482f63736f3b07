//! A local stand-in for Viber's REST bot API that speaks its wire format, so
//! integration tests and `omnictl`'s offline demos run without the internet
//! or a real Viber bot.
//!
//! It answers what Omnibus calls (providers.md §3.1, §3.4), all `POST` with
//! the `X-Viber-Auth-Token` header:
//! - `/pa/send_message` — records the message, answers `{status: 0,
//!   message_token}`, or Viber's refusal: `status` 6 for a customer who
//!   unsubscribed, 2 for another token, or whatever a test scripted;
//! - `/pa/get_account_info` — the bot's name, URI and current webhook;
//! - `/pa/set_webhook` — records the URL and, like Viber, first checks it
//!   with a signed `webhook` callback that must get 200.
//!
//! [`callbacks`] builds the callbacks Viber posts, and signs them.
//!
//! # Layout
//! - this file: [`StandIn`] (the server handle) and the recorded/scripted types
//! - `state`: what the server remembers between calls
//! - `api`: the HTTP handlers and Viber's answers
//! - [`callbacks`]: callback payloads and their signature

mod api;
pub mod callbacks;
mod state;

use std::sync::Arc;
use std::time::{Duration, Instant};

use omnibus_standin::Server;
use tokio::net::TcpListener;

use crate::state::Shared;

/// The bot's name, as `get_account_info` gives it.
pub const BOT_NAME: &str = "Acme Support";
/// The bot's URI.
pub const BOT_URI: &str = "acmesupport";

/// A running stand-in. The server stops when this handle is dropped.
#[derive(Debug)]
pub struct StandIn {
    server: Server,
    shared: Arc<Shared>,
}

/// One HTTP call the stand-in received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The path, e.g. `/pa/send_message`.
    pub path: String,
    /// The `X-Viber-Auth-Token` header as sent.
    pub auth_token: Option<String>,
    /// The JSON body (`Null` when unreadable).
    pub body: serde_json::Value,
    /// When it arrived, to check waits between retries.
    pub at: Instant,
}

/// A canned answer for the next `send_message` (FIFO).
#[derive(Debug, Clone, PartialEq)]
pub enum Scripted {
    /// HTTP 200 with this non-zero Viber `status` and `status_message`.
    Status(i64, String),
    /// This HTTP status with an HTML body (an outage at Viber's edge).
    Http(u16),
    /// Waits this long before answering normally.
    Delay(Duration),
}

impl Scripted {
    /// 12: too many requests.
    pub fn too_many_requests() -> Self {
        Self::Status(12, "tooManyRequests".into())
    }
    /// 5: the receiver is not registered on Viber.
    pub fn not_registered() -> Self {
        Self::Status(5, "receiverNotRegistered".into())
    }
    /// 6: the receiver is not subscribed to the bot.
    pub fn not_subscribed() -> Self {
        Self::Status(6, "receiverNotSubscribed".into())
    }
    /// 3: bad data.
    pub fn bad_data() -> Self {
        Self::Status(3, "badData".into())
    }
    /// 2: invalid auth token.
    pub fn invalid_token() -> Self {
        Self::Status(2, "invalidAuthToken".into())
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
            .expect("bind 127.0.0.1:0 for the viber stand-in");
        Self::serve(listener).await
    }

    /// Serves on an already bound listener (the caller picks the address).
    ///
    /// # Panics
    /// When the listener has no local address.
    pub async fn serve(listener: TcpListener) -> StandIn {
        let shared = Arc::new(Shared::default());
        let app = api::router(shared.clone());
        let server = Server::serve("viber", listener, app);
        StandIn { server, shared }
    }

    /// The base URL to configure instead of `https://chatapi.viber.com`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Every call received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests()
    }

    /// The `send_message` calls that were accepted, i.e. what customers saw.
    pub fn sent(&self) -> Vec<Recorded> {
        self.shared.sent()
    }

    /// Every `send_message` call, accepted or not (retries included).
    pub fn send_attempts(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == "/pa/send_message")
            .collect()
    }

    /// Queues `reply` for the next `send_message`.
    pub fn script(&self, reply: Scripted) {
        self.shared.script(reply);
    }

    /// From now on, answers `status` 2 to every other token.
    pub fn only_token(&self, token: &str) {
        self.shared.only_token(token);
    }

    /// Viber refuses sends to `user_id` with `status` 6 (the customer
    /// unsubscribed) until [`StandIn::subscribe`].
    pub fn unsubscribe(&self, user_id: &str) {
        self.shared.set_subscribed(user_id, false);
    }

    /// Undoes [`StandIn::unsubscribe`].
    pub fn subscribe(&self, user_id: &str) {
        self.shared.set_subscribed(user_id, true);
    }

    /// The webhook URL last registered with `set_webhook`.
    pub fn webhook(&self) -> Option<String> {
        self.shared.webhook()
    }
}

#[cfg(test)]
mod tests;
