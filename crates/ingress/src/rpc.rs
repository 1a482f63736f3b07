//! Answering requests from other services over core NATS request/reply
//! (channel checks, template fetches). Requests and replies are prost
//! messages; replicas share the work through a queue group.

use std::future::Future;

use futures::StreamExt;
use omnibus_bus::{Bus, BusError};
use prost::Message;
use tokio_util::sync::CancellationToken;

/// Serves `subjects.rpc(name)` with `handle` until `shutdown`, in the queue
/// group `queue`. A request that does not decode is answered with
/// `malformed(reason)` so the caller hears why instead of timing out.
pub async fn serve<Req, Rep, F, Fut>(
    bus: Bus,
    name: &str,
    queue: String,
    handle: F,
    malformed: fn(String) -> Rep,
    shutdown: CancellationToken,
) -> Result<(), BusError>
where
    Req: Message + Default,
    Rep: Message,
    F: Fn(Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Rep> + Send + 'static,
{
    let subject = bus.subjects().rpc(name);
    let mut requests = bus
        .client()
        .queue_subscribe(subject, queue)
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
        let reply = match Req::decode(request.payload) {
            Ok(decoded) => handle(decoded).await,
            Err(err) => malformed(format!("malformed {name} request: {err}")),
        };
        if let Err(err) = bus
            .client()
            .publish(reply_to, reply.encode_to_vec().into())
            .await
        {
            tracing::warn!(error = %err, rpc = name, "cannot answer a request");
        }
    }
}
