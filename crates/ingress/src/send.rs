//! Delivering outbound messages: one send command at a time per
//! conversation (the bus worker's lanes), planned and called by the
//! messenger, retried here, and its outcome stored before the command is
//! acknowledged, so a crash never loses a message. A crash between the
//! provider's answer and storing the outcome can send it twice where the
//! provider has no idempotency key: at-least-once is the promise then.
//!
//! Outcomes: accepted → `MessageDispatched`; outside the window →
//! `MessageOutsideWindow`; credentials refused → `MessageFailed{UNAUTHORIZED}`
//! and the channel flagged ERROR; retries spent → `MessageFailed{GAVE_UP}`;
//! anything else → `MessageFailed` with the provider's code and words.

use std::sync::Arc;
use std::time::{Duration, Instant};

use omnibus_bus::{BusError, Delivery, WorkError};
use omnibus_proto::{Event, MessageRequested, event::Payload, message_failed::Kind};
use tracing::Instrument as _;

use crate::messenger::Messenger;
use crate::outcome;
use crate::provider::{Call, ProviderError};
use crate::retry::send_plan;
use crate::runtime::Shared;

pub(crate) async fn deliver<M: Messenger>(
    shared: Arc<Shared<M>>,
    delivery: Delivery,
) -> Result<(), WorkError> {
    let span = delivery.span("ingress-send");
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

/// What happened to a message at the provider.
#[derive(Debug)]
enum Outcome {
    Sent { provider_id: String, attempts: u32 },
    Failed { error: ProviderError, attempts: u32 },
}

async fn send<M: Messenger>(
    shared: &Shared<M>,
    event: &Event,
    request: &MessageRequested,
) -> Result<Outcome, WorkError> {
    let context = &shared.context;
    let channel = context
        .directory
        .get(&event.channel_id)
        .await
        .map_err(retry)?;
    let Some(channel) = channel else {
        let error = ProviderError::Fail {
            kind: Kind::NotSent,
            reason: "the channel was deleted before the message could be sent".into(),
            code: None,
        };
        return Ok(Outcome::Failed { error, attempts: 0 });
    };
    let plan = match shared.messenger.plan(&channel, request) {
        Ok(plan) => plan,
        Err(error) => return Ok(Outcome::Failed { error, attempts: 0 }),
    };
    let provider = context.provider::<M>(&channel);
    let call = Call {
        provider: &provider,
        channel: &channel,
        message_id: &request.message_id,
        part: 0,
    };
    let started = Instant::now();
    let sent = send_plan(&shared.messenger, &call, &plan, &context.config.retry).await;
    let failure = sent.as_ref().err().map(|(error, _)| metric_code(error));
    omnibus_metrics::provider_send(M::name(), started.elapsed(), failure.as_deref());
    Ok(match sent {
        Ok((provider_id, attempts)) => Outcome::Sent {
            provider_id,
            attempts,
        },
        Err((error, attempts)) => Outcome::Failed { error, attempts },
    })
}

/// The failure's label in `/metrics`: the provider's code, `unavailable`
/// without one.
fn metric_code(error: &ProviderError) -> String {
    error.code().unwrap_or("unavailable").to_owned()
}

/// Stores the outcome, retrying for a while: returning an error here would
/// redeliver the command and send the message again.
async fn record<M: Messenger>(
    shared: &Shared<M>,
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

async fn store<M: Messenger>(
    shared: &Shared<M>,
    event: &Event,
    request: &MessageRequested,
    outcome: &Outcome,
) -> Result<(), BusError> {
    let bus = &shared.context.bus;
    let message_id = &request.message_id;
    let (error, attempts) = match outcome {
        Outcome::Sent {
            provider_id,
            attempts,
        } => {
            tracing::info!(%message_id, attempts, "message sent");
            return outcome::dispatched(bus, event, message_id, provider_id.clone(), *attempts)
                .await;
        }
        Outcome::Failed { error, attempts } => (error, *attempts),
    };
    let code = error.code().unwrap_or_default().to_owned();
    let reason = error.reason().to_owned();
    let kind = match error {
        ProviderError::OutsideWindow { .. } => {
            tracing::info!(%message_id, "message refused outside the 24-hour window");
            return outcome::outside_window(bus, event, message_id, code, reason).await;
        }
        ProviderError::Unauthorized { .. } => {
            outcome::flag_channel(bus, event, message_id, reason.clone()).await?;
            Kind::Unauthorized
        }
        ProviderError::Retry { .. } => Kind::GaveUp,
        ProviderError::Fail { kind, .. } => *kind,
    };
    tracing::warn!(%message_id, %reason, "message failed");
    outcome::failed(bus, event, message_id, kind, reason, code, attempts).await
}

fn retry(err: BusError) -> WorkError {
    WorkError::Retry {
        delay: Duration::from_secs(2),
        reason: err.to_string(),
    }
}
