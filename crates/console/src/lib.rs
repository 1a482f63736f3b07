//! The operator console at `/console/`: support work in the browser.
//!
//! Server-rendered pages over the public gRPC API — the console is a client
//! of the same API as omnictl, calling it with the signed-in operator's
//! token; it has no store and no API of its own. Live updates reach the
//! browser as server-sent events fed by `NotificationService.Subscribe`,
//! and the open event stream keeps the operator's presence online. Assets
//! (one stylesheet, one small script) are compiled into the binary.
//!
//! # Layout
//! - [`session`] — the signed sign-in cookie
//! - `api` — typed gRPC clients carrying the operator's token
//! - `html` — escaping, the page frame, labels
//! - `pages` — sign-in, the conversation list, a conversation, actions,
//!   contacts (search, edit, merge), and the team lead's pages (channels,
//!   templates, webhooks, operators, operator groups)
//! - `live` — the server-sent event stream and presence

mod api;
mod error;
mod html;
mod live;
mod pages;
pub mod session;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel as Transport, Endpoint};

/// Where the console finds the API.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// The gRPC API, e.g. `http://127.0.0.1:50051`.
    pub grpc_url: String,
}

/// The console's address of the API is not a URL.
#[derive(Debug, thiserror::Error)]
#[error("the console's gRPC address {url:?} is not a URL: {reason}")]
pub struct ConsoleError {
    url: String,
    reason: String,
}

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    transport: Transport,
    signer: session::Signer,
    /// Ends the live streams at shutdown, so the HTTP server can drain.
    shutdown: CancellationToken,
}

/// The console's routes, all under `/console/`. The connection to the API is
/// made lazily, so the console starts before (or without) the API. Live
/// streams end when `shutdown` is cancelled.
pub fn router(config: &ConsoleConfig, shutdown: CancellationToken) -> Result<Router, ConsoleError> {
    let transport = Endpoint::from_shared(config.grpc_url.clone())
        .map_err(|e| ConsoleError {
            url: config.grpc_url.clone(),
            reason: e.to_string(),
        })?
        .connect_timeout(std::time::Duration::from_secs(5))
        .connect_lazy();
    let state = AppState {
        transport,
        signer: session::Signer::random(),
        shutdown,
    };
    Ok(routes().with_state(state))
}

fn routes() -> Router<AppState> {
    use pages::{actions, admin, channels, contacts, conversation, groups, list, login};
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(list::page))
        .route("/console/login", get(login::form).post(login::submit))
        .route("/console/logout", post(login::sign_out))
        .route("/console/events", get(live::events))
        .route("/console/c/{id}", get(conversation::page))
        .route("/console/c/{id}/send", post(actions::send))
        .route("/console/c/{id}/template", post(actions::send_template))
        .route("/console/c/{id}/close", post(actions::close))
        .route("/console/c/{id}/assign", post(actions::assign))
        .route("/console/c/{id}/no-reply", post(actions::no_reply))
        .route("/console/c/{id}/read", post(actions::mark_read))
        .route(
            "/console/channels",
            get(channels::page).post(channels::create),
        )
        .route("/console/channels/{id}/settings", post(channels::settings))
        .route("/console/templates", get(admin::templates))
        .route("/console/templates/{channel}/sync", post(admin::sync))
        .route("/console/webhooks", get(admin::webhooks))
        .route("/console/operators", get(admin::operators))
        .route("/console/contacts", get(contacts::list))
        .route("/console/contacts/{id}", get(contacts::page))
        .route(
            "/console/contacts/{id}/edit",
            post(contacts::actions::update),
        )
        .route(
            "/console/contacts/{id}/merge",
            post(contacts::actions::merge),
        )
        .route("/console/groups", get(groups::page).post(groups::save))
        .route("/console/groups/{id}/delete", post(groups::delete))
        .route("/console/assets/console.css", get(css))
        .route("/console/assets/console.js", get(js))
}

async fn css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../assets/console.css"),
    )
}

async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../assets/console.js"),
    )
}
