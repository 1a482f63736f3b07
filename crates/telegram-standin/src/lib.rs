//! A local stand-in for the Telegram Bot API that speaks its wire format, so
//! integration tests and `omnictl`'s offline demos run without the internet
//! or a real bot token.
//!
//! It answers `/bot<token>/<method>` like `api.telegram.org` does (JSON or
//! form bodies, the `{ok, result}` / `{ok:false, error_code, description}`
//! envelope), records every call, and can be scripted to fail the way
//! Telegram fails in support flows (blocked bot, rate limits, outages).
//!
//! ```no_run
//! # async fn demo() {
//! use omnibus_telegram_standin::{Scripted, StandIn};
//! let telegram = StandIn::start().await;
//! telegram.script("sendMessage", Scripted::TooManyRequests { retry_after: 1 });
//! // ... point the code under test at telegram.base_url() ...
//! assert!(telegram.sent().is_empty());
//! # }
//! ```
//!
//! # Layout
//! - this file: [`StandIn`] (the server handle) and the recorded/scripted types
//! - `state`: what the server remembers between calls
//! - `api`: the HTTP handler: paths, bodies, methods and Telegram's answers

mod api;
mod state;

use std::sync::Arc;
use std::time::Instant;

use omnibus_standin::Server;
use tokio::net::TcpListener;

use crate::state::Shared;

/// The bot every token belongs to, as `getMe` returns it.
pub const BOT_ID: i64 = 7000000001;
/// The bot's `first_name`.
pub const BOT_FIRST_NAME: &str = "SupportBot";
/// The bot's `username`.
pub const BOT_USERNAME: &str = "acme_support_bot";

/// A running stand-in. The server stops when this handle is dropped.
#[derive(Debug)]
pub struct StandIn {
    server: Server,
    shared: Arc<Shared>,
}

/// One HTTP call the stand-in received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The Bot API method, as written in the path (e.g. `sendMessage`).
    pub method: String,
    /// The bot token from the path.
    pub token: String,
    /// The parameters as JSON: a JSON body as is; form and query parameters
    /// as strings, except JSON-serialized objects and arrays (such as
    /// `reply_parameters`), which are decoded.
    pub body: serde_json::Value,
    /// When it arrived, to check waits between retries.
    pub at: Instant,
}

/// A canned answer for the next call of one method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scripted {
    /// 403 "Forbidden: bot was blocked by the user".
    Blocked,
    /// 429 with `parameters.retry_after`.
    TooManyRequests { retry_after: u64 },
    /// 500 "Internal Server Error".
    ServerError,
    /// 400 with this description (e.g. "Bad Request: chat not found").
    BadRequest(String),
    /// The normal answer, as if nothing was scripted.
    Ok,
}

/// The webhook a bot registered with `setWebhook`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub url: String,
    /// Telegram would send this in `X-Telegram-Bot-Api-Secret-Token`.
    pub secret_token: Option<String>,
    pub allowed_updates: Vec<String>,
    /// As given to `setWebhook`; Telegram's default (40) when `None`.
    pub max_connections: Option<u32>,
}

impl StandIn {
    /// Starts a stand-in on an ephemeral loopback port.
    pub async fn start() -> StandIn {
        let shared = Arc::new(Shared::default());
        let server = Server::start("telegram", api::router(shared.clone())).await;
        StandIn { server, shared }
    }

    /// Serves on an already bound listener (the caller picks the address).
    pub async fn serve(listener: TcpListener) -> StandIn {
        let shared = Arc::new(Shared::default());
        let server = Server::serve("telegram", listener, api::router(shared.clone()));
        StandIn { server, shared }
    }

    /// The base URL to configure instead of `https://api.telegram.org`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Every call received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests()
    }

    /// The `sendMessage`/`sendPhoto`/`sendDocument` calls that succeeded,
    /// i.e. what a customer would have seen.
    pub fn sent(&self) -> Vec<Recorded> {
        self.shared.sent()
    }

    /// Queues `reply` for the next call of `method` (FIFO per method); once
    /// the queue is empty, the method answers normally again.
    pub fn script(&self, method: &str, reply: Scripted) {
        self.shared.script(method, reply);
    }

    /// From now on, answers 401 Unauthorized to every other token, as
    /// Telegram does for a revoked or mistyped token.
    pub fn only_token(&self, token: &str) {
        self.shared.only_token(token);
    }

    /// Hosts a file a customer sent, as Telegram keeps it: `getFile` with
    /// `file_id` answers its path, and `/file/bot<token>/<path>` serves it.
    pub fn put_file(&self, file_id: &str, bytes: impl Into<Vec<u8>>, mime_type: &str) {
        self.shared.files.put(file_id, bytes, mime_type);
    }

    /// How many times the file `file_id` was downloaded.
    pub fn downloads(&self, file_id: &str) -> usize {
        self.shared.files.downloads(file_id)
    }

    /// The webhook the bot `token` registered last, if any.
    pub fn webhook(&self, token: &str) -> Option<Webhook> {
        self.shared.webhook(token)
    }

    /// Registers `webhook` for the bot `token` as if `setWebhook` had been
    /// called earlier (e.g. by an older version, with fewer update kinds).
    pub fn register_webhook(&self, token: &str, webhook: Webhook) {
        self.shared.set_webhook(token, Some(webhook));
    }

    /// The calls of one Bot API method (case-insensitive, as Telegram's
    /// method names are), in arrival order.
    pub fn calls(&self, method: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|call| call.method.eq_ignore_ascii_case(method))
            .collect()
    }

    /// The `callback_query_id`s answered with `answerCallbackQuery`, in
    /// order, repeats included.
    pub fn answered_callbacks(&self) -> Vec<String> {
        self.calls("answerCallbackQuery")
            .into_iter()
            .filter_map(|call| call.body["callback_query_id"].as_str().map(str::to_owned))
            .collect()
    }
}

#[cfg(test)]
mod tests;
