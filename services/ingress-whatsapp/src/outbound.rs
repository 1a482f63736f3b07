//! Delivering outbound messages through the Cloud API.
//!
//! A send command is acknowledged only after its outcome is stored, so a
//! crash never loses a message. The outcomes:
//! - accepted → `MessageDispatched` with the wamid;
//! - 131047 → `MessageOutsideWindow`: the window service decides (hold the
//!   message behind the default template, or fail it);
//! - 190 → `MessageFailed{UNAUTHORIZED}` and the channel flagged ERROR;
//! - throttling and outages, once retries ran out → `MessageFailed{GAVE_UP}`;
//! - anything else → `MessageFailed{REJECTED}` with Graph's code and words.
//!
//! Graph has no idempotency key: a crash between Meta's answer and storing
//! the outcome can send a message twice; at-least-once is the promise.

use std::sync::Arc;
use std::time::{Duration, Instant};

use omnibus_bus::{BusError, Delivery, WorkError};
use omnibus_ingress::outcome;
use omnibus_proto::{Event, MessageRequested, event::Payload, message_failed::Kind};
use tracing::Instrument as _;

use crate::compose::plan;
use crate::graph::{GraphApi, GraphError};
use crate::retry::send_all;
use crate::service::Shared;

pub(crate) async fn deliver(shared: Arc<Shared>, delivery: Delivery) -> Result<(), WorkError> {
    let span = delivery.span("ingress-whatsapp-send");
    async move {
        let Ok(event) = &delivery.event else {
            return Err(WorkError::Reject("undecodable send command".into()));
        };
        let Some(Payload::MessageRequested(request)) = &event.payload else {
            return Err(WorkError::Reject("not a send command".into()));
        };
        let outcome = send(&shared, event, request).await?;
        record(&shared, event, request, &outcome).await
    }
    .instrument(span)
    .await
}

/// What happened to a message at WhatsApp.
#[derive(Debug)]
enum Outcome {
    Sent { wamid: String, attempts: u32 },
    OutsideWindow { reason: String },
    Failed(Failure),
}

#[derive(Debug)]
struct Failure {
    kind: Kind,
    reason: String,
    code: String,
    attempts: u32,
    /// The channel itself is unusable (credentials refused).
    flag_channel: bool,
}

impl Failure {
    fn local(kind: Kind, reason: String) -> Self {
        Self {
            kind,
            reason,
            code: String::new(),
            attempts: 0,
            flag_channel: false,
        }
    }
}

async fn send(
    shared: &Shared,
    event: &Event,
    request: &MessageRequested,
) -> Result<Outcome, WorkError> {
    let channel = shared
        .directory
        .get(&event.channel_id)
        .await
        .map_err(retry)?;
    let credential = |key: &str| {
        channel
            .as_ref()
            .and_then(|c| c.credentials.get(key))
            .filter(|v| !v.is_empty())
    };
    let (Some(channel), Some(token), Some(phone_number_id)) = (
        &channel,
        credential("access_token"),
        credential("phone_number_id"),
    ) else {
        return Ok(Outcome::Failed(Failure::local(
            Kind::NotSent,
            "the channel was deleted before the message could be sent".into(),
        )));
    };
    let bodies = match plan(request) {
        Ok(bodies) => bodies,
        Err(err) => {
            return Ok(Outcome::Failed(Failure::local(
                Kind::Rejected,
                err.to_string(),
            )));
        }
    };
    let api = GraphApi::new(
        shared.http.clone(),
        shared.api_base(&channel.api_base_url),
        token,
    )
    .with_request_timeout(shared.config.request_timeout);
    let started = Instant::now();
    let sent = send_all(&api, phone_number_id, &bodies, &shared.config.retry).await;
    let failure = sent.as_ref().err().map(|(error, _)| metric_code(error));
    omnibus_metrics::provider_send("whatsapp", started.elapsed(), failure.as_deref());
    Ok(match sent {
        Ok((wamid, attempts)) => Outcome::Sent { wamid, attempts },
        Err((error, attempts)) => outcome_of(&error, attempts),
    })
}

fn outcome_of(error: &GraphError, attempts: u32) -> Outcome {
    let code = error
        .provider_code()
        .map(|c| c.to_string())
        .unwrap_or_default();
    let (kind, flag_channel) = match error {
        GraphError::OutsideWindow { .. } => {
            return Outcome::OutsideWindow {
                reason: error.readable(),
            };
        }
        GraphError::Unauthorized { .. } => (Kind::Unauthorized, true),
        GraphError::Transient { .. } => (Kind::GaveUp, false),
        GraphError::Rejected { .. } => (Kind::Rejected, false),
    };
    Outcome::Failed(Failure {
        kind,
        reason: error.readable(),
        code,
        attempts,
        flag_channel,
    })
}

/// The failure's label in `/metrics`: Graph's code, `unavailable` without one.
fn metric_code(error: &GraphError) -> String {
    error
        .provider_code()
        .map_or_else(|| "unavailable".to_owned(), |c| c.to_string())
}

/// Stores the outcome, retrying for a while: returning an error here would
/// redeliver the command and send the message again.
async fn record(
    shared: &Shared,
    event: &Event,
    request: &MessageRequested,
    outcome: &Outcome,
) -> Result<(), WorkError> {
    let mut failures = 0;
    loop {
        match store(shared, event, request, outcome).await {
            Ok(()) => return Ok(()),
            Err(err) if failures < 30 => {
                failures += 1;
                tracing::warn!(error = %err, "cannot store a delivery outcome yet, retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(err) => return Err(retry(err)),
        }
    }
}

async fn store(
    shared: &Shared,
    event: &Event,
    request: &MessageRequested,
    outcome: &Outcome,
) -> Result<(), BusError> {
    let bus = &shared.bus;
    let message_id = &request.message_id;
    match outcome {
        Outcome::Sent { wamid, attempts } => {
            tracing::info!(%message_id, attempts, "message sent");
            outcome::dispatched(bus, event, message_id, wamid.clone(), *attempts).await
        }
        Outcome::OutsideWindow { reason } => {
            tracing::info!(%message_id, "message refused outside the 24-hour window");
            let code = crate::graph::OUTSIDE_WINDOW_CODE.to_string();
            outcome::outside_window(bus, event, message_id, code, reason.clone()).await
        }
        Outcome::Failed(failure) => {
            tracing::warn!(%message_id, reason = %failure.reason, "message failed");
            if failure.flag_channel {
                outcome::flag_channel(bus, event, message_id, failure.reason.clone()).await?;
            }
            outcome::failed(
                bus,
                event,
                message_id,
                failure.kind,
                failure.reason.clone(),
                failure.code.clone(),
                failure.attempts,
            )
            .await
        }
    }
}

fn retry(err: BusError) -> WorkError {
    WorkError::Retry {
        delay: Duration::from_secs(2),
        reason: err.to_string(),
    }
}
