//! `GET /metrics`: the registry in the Prometheus text format, with the
//! consumer lag read from JetStream just before rendering.

use std::time::Duration;

use async_nats::jetstream;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::TryStreamExt as _;
use prometheus::{Encoder as _, TextEncoder};

use crate::families::FAMILIES;

/// How long a scrape waits for JetStream before answering without lag.
const LAG_TIMEOUT: Duration = Duration::from_secs(2);

/// Where consumer lag is read: the durable consumers of one stream.
#[derive(Clone)]
pub struct LagSource {
    js: jetstream::Context,
    stream: String,
}

impl LagSource {
    /// Reads the consumers of `stream` through `js` on every scrape.
    pub fn new(js: jetstream::Context, stream: impl Into<String>) -> Self {
        Self {
            js,
            stream: stream.into(),
        }
    }

    /// Replaces the lag gauges with what JetStream reports now. Consumers
    /// that are gone disappear; an unreachable JetStream leaves no lag
    /// series, rather than stale ones.
    async fn sample(&self) {
        let consumers = tokio::time::timeout(LAG_TIMEOUT, self.consumers()).await;
        FAMILIES.consumer_pending.reset();
        FAMILIES.consumer_ack_pending.reset();
        let consumers = match consumers {
            Ok(Ok(consumers)) => consumers,
            Ok(Err(error)) => {
                tracing::warn!(%error, "cannot read consumer lag from JetStream");
                return;
            }
            Err(_) => {
                tracing::warn!(timeout = ?LAG_TIMEOUT, "consumer lag timed out");
                return;
            }
        };
        for info in consumers {
            let consumer = [info.name.as_str()];
            FAMILIES
                .consumer_pending
                .with_label_values(&consumer)
                .set(saturating(info.num_pending));
            FAMILIES
                .consumer_ack_pending
                .with_label_values(&consumer)
                .set(saturating(info.num_ack_pending as u64));
        }
    }

    async fn consumers(&self) -> Result<Vec<jetstream::consumer::Info>, async_nats::Error> {
        let stream = self.js.get_stream_no_info(&self.stream).await?;
        Ok(stream.consumers().try_collect().await?)
    }
}

fn saturating(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The `/metrics` route; `lag` adds the consumer lag of its stream.
pub fn routes(lag: Option<LagSource>) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(lag)
}

async fn scrape(State(lag): State<Option<LagSource>>) -> Response {
    if let Some(lag) = &lag {
        lag.sample().await;
    }
    match render() {
        Ok(text) => (
            [(header::CONTENT_TYPE, TextEncoder::new().format_type())],
            text,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot render metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Renders every metric of the process in the Prometheus text format.
pub fn render() -> Result<String, prometheus::Error> {
    let mut buffer = Vec::new();
    TextEncoder::new().encode(&FAMILIES.registry.gather(), &mut buffer)?;
    String::from_utf8(buffer).map_err(|err| prometheus::Error::Msg(err.to_string()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::{PublishResult, event_published, held_messages, provider_send, webhook_answered};

    #[test]
    fn recorded_values_are_rendered_with_their_labels() {
        webhook_answered("telegram", 403);
        event_published("omnibus.conv.cv_1", PublishResult::Duplicate);
        provider_send("telegram", Duration::from_millis(30), Some("429"));
        held_messages().set(7);
        let text = super::render().unwrap();
        for expected in [
            r#"omnibus_webhooks_total{messenger="telegram",status="403"} "#,
            r#"omnibus_events_published_total{kind="conv",result="duplicate"} "#,
            r#"omnibus_provider_send_failures_total{code="429",messenger="telegram"} "#,
            r#"omnibus_provider_send_duration_seconds_bucket{messenger="telegram",outcome="failed",le="0.05"} "#,
            "omnibus_held_messages 7",
            "# TYPE omnibus_armed_timers gauge",
            "# HELP omnibus_webhooks_total ",
        ] {
            assert!(text.contains(expected), "{expected} missing from\n{text}");
        }
    }
}
