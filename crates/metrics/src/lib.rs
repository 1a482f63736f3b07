//! Prometheus metrics of every Omnibus service, and the `/metrics` route
//! that serves them in the Prometheus text format on the HTTP listener.
//!
//! Call sites record through the functions here ([`webhook_answered`],
//! [`event_published`], [`provider_send`]) or set the gauges other services
//! own ([`held_messages`], [`armed_timers`]); names, help texts, labels and
//! buckets live in one place. Consumer lag is not recorded by anyone: each
//! scrape reads `num_pending` of every durable consumer of the stream from
//! JetStream, so it is as fresh as the scrape and costs nothing in between.
//!
//! The registry is process-wide, like the tracing subscriber: every service
//! of an `omnibus serve all` process reports into it, and `/metrics` of any
//! of its listeners shows all of it.
//!
//! # Layout
//! - `families` — the metric families and the recording functions
//! - `exposition` — [`routes`] (`GET /metrics`), [`render`] and the lag sampling

mod exposition;
mod families;

pub use exposition::{LagSource, render, routes};
pub use families::{
    PublishResult, armed_timers, event_published, held_messages, ingress_unshown,
    projection_parked, provider_send, webhook_answered,
};
