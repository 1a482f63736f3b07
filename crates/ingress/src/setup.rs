//! Answers the conversations service's "check this channel" requests, sent
//! over core NATS request/reply before a channel is stored.

use std::future::Future;

use futures::StreamExt;
use omnibus_bus::{Bus, BusError};
use omnibus_proto::{ChannelSetupReply, ChannelSetupRequest, channel_setup_reply::Outcome};
use prost::Message as _;
use tokio_util::sync::CancellationToken;

/// Serves setup requests for `messenger` with `check` until `shutdown`.
/// Replicas share the work through a queue group.
pub async fn serve<F, Fut>(
    bus: Bus,
    messenger: &'static str,
    check: F,
    shutdown: CancellationToken,
) -> Result<(), BusError>
where
    F: Fn(ChannelSetupRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ChannelSetupReply> + Send + 'static,
{
    let subject = bus.subjects().rpc(&format!("setup.{messenger}"));
    let mut requests = bus
        .client()
        .queue_subscribe(subject, format!("ingress-{messenger}"))
        .await
        .map_err(|e| BusError::Unavailable(e.to_string()))?;
    loop {
        let request = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            request = requests.next() => request,
        };
        let Some(request) = request else {
            return Ok(());
        };
        let Some(reply_to) = request.reply.clone() else {
            continue;
        };
        let reply = match ChannelSetupRequest::decode(request.payload) {
            Ok(setup) => check(setup).await,
            Err(err) => reply(Outcome::Invalid, format!("malformed setup request: {err}")),
        };
        if let Err(err) = bus
            .client()
            .publish(reply_to, reply.encode_to_vec().into())
            .await
        {
            tracing::warn!(error = %err, "cannot answer a channel setup request");
        }
    }
}

/// A reply with an outcome and a message, for the failure cases.
pub fn reply(outcome: Outcome, message: impl Into<String>) -> ChannelSetupReply {
    ChannelSetupReply {
        outcome: outcome as i32,
        message: message.into(),
        ..Default::default()
    }
}
