//! `/healthz` (the process runs) and `/readyz` (it can do its job: NATS and
//! the store answer). Kubernetes restarts on the first and routes on the second.

use std::time::Duration;

use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use omnibus_bus::Bus;
use omnibus_store::Store;
use serde_json::json;

/// What readiness depends on.
#[derive(Clone)]
pub struct Readiness {
    /// The event stream.
    pub bus: Bus,
    /// The projection store, when the process runs a service that has one.
    pub store: Option<Store>,
}

/// The health routes.
pub fn routes(readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(readiness)
}

async fn ready(State(readiness): State<Readiness>) -> (StatusCode, Json<serde_json::Value>) {
    let limit = Duration::from_secs(2);
    let nats = match tokio::time::timeout(limit, readiness.bus.ping()).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(err)) => err.to_string(),
        Err(_) => "timed out".to_owned(),
    };
    let store = match &readiness.store {
        None => "not used".to_owned(),
        Some(store) => match tokio::time::timeout(limit, store.ping()).await {
            Ok(Ok(())) => "ok".to_owned(),
            Ok(Err(err)) => err.to_string(),
            Err(_) => "timed out".to_owned(),
        },
    };
    let ready = nats == "ok" && (store == "ok" || store == "not used");
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({ "ready": ready, "nats": nats, "store": store })),
    )
}
