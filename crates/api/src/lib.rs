//! What every public edge of Omnibus shares: the API token check, gRPC
//! reflection and health, and the HTTP health and readiness endpoints.
//!
//! # Layout
//! - [`auth`] — `authorization: Bearer <OMNIBUS_API_TOKEN>` on every gRPC call
//! - [`grpc`] — reflection (v1 and v1alpha) and the gRPC health service
//! - [`health`] — `/healthz` and `/readyz`

pub mod auth;
pub mod grpc;
pub mod health;
