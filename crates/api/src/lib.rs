//! What every public edge of Omnibus shares: the API token check, gRPC
//! reflection and health, and the HTTP health and readiness endpoints.
//!
//! # Layout
//! - [`auth`] — `authorization: Bearer <OMNIBUS_API_TOKEN>` on every gRPC call
//! - [`error`] — [`ServiceError`](error::ServiceError): the services' errors and their gRPC codes
//! - [`failures`] — log levels of failed gRPC calls (client errors are not incidents)
//! - [`grpc`] — reflection (v1 and v1alpha) and the gRPC health service
//! - [`health`] — `/healthz` and `/readyz`

pub mod auth;
pub mod error;
pub mod failures;
pub mod grpc;
pub mod health;
