//! Tracing setup for every Omnibus process, and W3C trace-context propagation
//! across the two hops a request takes: NATS message headers and gRPC metadata.
//!
//! A service calls [`init`] once at startup with a [`TelemetryConfig`] read from
//! the environment, keeps the returned [`TelemetryGuard`] and calls
//! [`TelemetryGuard::shutdown`] on exit so buffered spans reach the collector.
//! Publishers call [`inject_nats`]; consumers call [`set_parent_from_nats`] so
//! one trace follows an event from the webhook to every projection.
//!
//! # Layout
//!
//! - `config`: [`TelemetryConfig`] and [`LogFormat`], parsed from a key lookup.
//! - `init`: the subscriber stack ([`init`], [`init_for_tests`]) and its guard.
//! - `propagation`: `traceparent`/`tracestate` over NATS headers and tonic metadata.

mod config;
mod init;
mod propagation;

pub use config::{
    ENV_LOG_FORMAT, ENV_OTLP_ENDPOINT, LogFormat, ParseLogFormatError, TelemetryConfig,
};
pub use init::{TelemetryError, TelemetryGuard, init, init_for_tests};
pub use propagation::{
    extract_nats, extract_tonic, inject_nats, inject_tonic, set_parent_from_nats,
    set_parent_from_tonic,
};
