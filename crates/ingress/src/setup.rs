//! Answers the conversations service's "check this channel" requests, sent
//! over core NATS request/reply before a channel is stored.

use std::future::Future;

use omnibus_bus::{Bus, BusError};
use omnibus_proto::{ChannelSetupReply, ChannelSetupRequest, channel_setup_reply::Outcome};
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
    crate::rpc::serve(
        bus,
        &format!("setup.{messenger}"),
        format!("ingress-{messenger}"),
        check,
        |why| reply(Outcome::Invalid, why),
        shutdown,
    )
    .await
}

/// A reply with an outcome and a message, for the failure cases.
pub fn reply(outcome: Outcome, message: impl Into<String>) -> ChannelSetupReply {
    ChannelSetupReply {
        outcome: outcome as i32,
        message: message.into(),
        ..Default::default()
    }
}
