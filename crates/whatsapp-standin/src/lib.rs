//! A local stand-in for the WhatsApp Cloud API (Meta's Graph API) that speaks
//! its wire format, so integration tests and `omnictl`'s offline demos run
//! without the internet, a Meta app or a real phone number.
//!
//! It answers what Omnibus calls (providers.md §1.6):
//! - `POST /{version}/{phone_number_id}/messages` — checks the Bearer token,
//!   records the request, answers `{messaging_product, contacts, messages:[{id}]}`
//!   or a scripted Graph error with its HTTP status;
//! - `GET /{version}/{phone_number_id}` — the number's `verified_name` and
//!   `display_phone_number` (how a token is checked);
//! - `GET /{version}/{business_account_id}/message_templates` — the account's
//!   templates, in pages (`data`, `paging.cursors.after`, `paging.next`).
//!
//! [`webhook`] builds the webhooks Meta posts (every message type, statuses,
//! template status updates), and signs them with `X-Hub-Signature-256`.
//!
//! ```no_run
//! # async fn demo() {
//! use omnibus_whatsapp_standin::{Scripted, StandIn};
//! let graph = StandIn::start().await;
//! graph.script(Scripted::rate_limited());
//! // ... point the code under test at graph.base_url() ...
//! assert!(graph.sent().is_empty());
//! # }
//! ```
//!
//! # Layout
//! - this file: [`StandIn`] (the server handle) and the recorded/scripted types
//! - `state`: what the server remembers between calls
//! - `api`: the HTTP handlers and Graph's answers
//! - [`webhook`]: webhook payloads and their signature

mod api;
pub mod shapes;
mod state;
pub mod webhook;

use std::sync::Arc;
use std::time::{Duration, Instant};

use omnibus_standin::Server;
use tokio::net::TcpListener;

use crate::state::Shared;

/// The `verified_name` every phone number has.
pub const VERIFIED_NAME: &str = "Acme Support";
/// The `display_phone_number` every phone number has.
pub const DISPLAY_PHONE_NUMBER: &str = "+1 555-078-3881";

/// A running stand-in. The server stops when this handle is dropped.
#[derive(Debug)]
pub struct StandIn {
    server: Server,
    shared: Arc<Shared>,
}

/// One HTTP call the stand-in received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET` or `POST`.
    pub method: String,
    /// The path, e.g. `/v21.0/106540352242922/messages`.
    pub path: String,
    /// The query string, without `?` (empty when there was none).
    pub query: String,
    /// The `Authorization` header as sent (e.g. `Bearer EAAG…`).
    pub authorization: Option<String>,
    /// The JSON body (`Null` for GETs and unreadable bodies).
    pub body: serde_json::Value,
    /// When it arrived, to check waits between retries.
    pub at: Instant,
}

impl Recorded {
    /// The phone number id of a `/{version}/{phone_number_id}/messages` call.
    pub fn phone_number_id(&self) -> Option<&str> {
        let mut parts = self.path.trim_start_matches('/').split('/');
        let (_version, id, last) = (parts.next()?, parts.next()?, parts.next()?);
        (last == "messages").then_some(id)
    }
}

/// A canned answer for the next `POST …/messages` (FIFO).
#[derive(Debug, Clone, PartialEq)]
pub enum Scripted {
    /// A Graph error envelope with this HTTP status.
    Error {
        /// The HTTP status (400 for most Cloud API errors, 401 for 190).
        http_status: u16,
        /// `error.code`, e.g. 131047.
        code: i64,
        /// `error.message`, e.g. "(#131047) Re-engagement message".
        message: String,
        /// `error.error_data.details`.
        details: String,
    },
    /// Waits this long before answering normally (longer than the client's
    /// timeout, it is a timeout).
    Delay(Duration),
    /// The normal answer, as if nothing was scripted.
    Ok,
}

impl Scripted {
    fn error(http_status: u16, code: i64, title: &str, details: &str) -> Self {
        Self::Error {
            http_status,
            code,
            message: format!("(#{code}) {title}"),
            details: details.to_owned(),
        }
    }

    /// 131047: more than 24 hours since the customer last wrote.
    pub fn re_engagement() -> Self {
        Self::error(
            400,
            131047,
            "Re-engagement message",
            "Message failed to send because more than 24 hours have passed since the customer \
             last replied to this number.",
        )
    }

    /// 130429: the phone number's throughput is exceeded.
    pub fn rate_limited() -> Self {
        Self::error(
            400,
            130429,
            "Rate limit hit",
            "Cloud API message throughput has been reached.",
        )
    }

    /// 131056: too many messages to the same customer in a short time.
    pub fn pair_rate_limited() -> Self {
        Self::error(
            400,
            131056,
            "(Business Account, Consumer Account) pair rate limit hit",
            "Too many messages sent from the sender phone number to the same recipient phone \
             number in a short period of time.",
        )
    }

    /// 190 with HTTP 401: the access token expired or was revoked.
    pub fn expired_token() -> Self {
        Self::Error {
            http_status: 401,
            code: 190,
            message: "Error validating access token: Session has expired on Friday, 02-May-25 \
                      10:00:00 PDT."
                .into(),
            details: String::new(),
        }
    }

    /// HTTP 500 with Graph's "unknown error" (code 1).
    pub fn server_error() -> Self {
        Self::error(500, 1, "An unknown error occurred", "")
    }

    /// 131026: the recipient cannot receive this message.
    pub fn undeliverable() -> Self {
        Self::error(
            400,
            131026,
            "Message Undeliverable",
            "Unable to deliver message. The recipient may not be a WhatsApp user.",
        )
    }
}

impl StandIn {
    /// Starts a stand-in on an ephemeral loopback port.
    pub async fn start() -> StandIn {
        let shared = Arc::new(Shared::default());
        let server = Server::start("whatsapp", api::router(shared.clone())).await;
        StandIn { server, shared }
    }

    /// Serves on an already bound listener (the caller picks the address).
    pub async fn serve(listener: TcpListener) -> StandIn {
        let shared = Arc::new(Shared::default());
        let server = Server::serve("whatsapp", listener, api::router(shared.clone()));
        StandIn { server, shared }
    }

    /// The base URL to configure instead of `https://graph.facebook.com`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Every call received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests()
    }

    /// The `…/messages` calls that were accepted, i.e. what customers saw.
    pub fn sent(&self) -> Vec<Recorded> {
        self.shared.sent()
    }

    /// Every `…/messages` call, accepted or not (retries included).
    pub fn send_attempts(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.phone_number_id().is_some())
            .collect()
    }

    /// Queues `reply` for the next `POST …/messages`; once the queue is
    /// empty, sends are accepted again.
    pub fn script(&self, reply: Scripted) {
        self.shared.script(reply);
    }

    /// From now on, answers 401 with error 190 to every other token, as
    /// Graph does for an expired or mistyped one.
    pub fn only_token(&self, token: &str) {
        self.shared.only_token(token);
    }

    /// Hosts a medium a customer sent, as Graph keeps it: `GET
    /// /<version>/<media_id>` answers its short-lived URL, which serves it
    /// to a request carrying the access token.
    pub fn put_media(&self, media_id: &str, bytes: impl Into<Vec<u8>>, mime_type: &str) {
        self.shared.media.put(media_id, bytes, mime_type);
    }

    /// How many times the medium `media_id` was downloaded.
    pub fn media_downloads(&self, media_id: &str) -> usize {
        self.shared.media.downloads(media_id)
    }

    /// Replaces the templates of every business account: Graph template
    /// objects (`name`, `language`, `status`, `category`, `components`, `id`).
    pub fn set_templates(&self, templates: Vec<serde_json::Value>) {
        self.shared.set_templates(templates);
    }

    /// How many templates one page holds unless the caller asks for fewer
    /// with `limit` (default 25, as Graph).
    pub fn set_page_size(&self, size: usize) {
        self.shared.set_page_size(size);
    }
}

#[cfg(test)]
mod tests;
