//! Inbound attachments' files: fetched from the provider on request (`GET
//! /media`, asked over NATS by the conversations service) into the media
//! cache bucket, and, for messengers whose links expire, copied into the
//! keep bucket at receipt by a durable consumer, so a restart loses no copy
//! and the webhook's answer never waits for one.

use std::sync::Arc;
use std::time::Duration;

use omnibus_bus::media::object_name;
use omnibus_bus::{
    Bus, Delivery, MediaBuckets, MediaFile, Shelf, WorkError, WorkerConfig, run_worker,
};
use omnibus_core::kind::has_file;
use omnibus_proto::{
    Attachment, ChannelState, MediaFetchReply, MediaFetchRequest, event::Payload,
    media_fetch_reply::Outcome,
};
use tokio_util::sync::CancellationToken;

use crate::messenger::{MediaCall, Messenger};
use crate::provider::Download;
use crate::rpc;
use crate::runtime::Shared;

/// The largest file copied at receipt (`OMNIBUS_MEDIA_MAX_BYTES` caps what
/// is served; a copy is bounded the same way).
pub const DEFAULT_MAX_BYTES: u64 = 25 * 1024 * 1024;

/// Why no file was fetched.
#[derive(Debug)]
enum Fetch {
    TooLarge,
    Failed { reason: String, transient: bool },
}

/// Downloads `attachment` of `channel` through the provider client.
async fn fetch<M: Messenger>(
    shared: &Shared<M>,
    channel: &ChannelState,
    attachment: &Attachment,
    max_bytes: u64,
) -> Result<MediaFile, Fetch> {
    let provider = shared.context.provider::<M>(channel);
    let call = MediaCall {
        provider: &provider,
        channel,
        attachment,
    };
    let download = shared
        .messenger
        .media(&call)
        .await
        .map_err(|e| Fetch::Failed {
            transient: e.is_transient(),
            reason: provider.redact(e.reason()),
        })?;
    let file = provider
        .download(download.request, max_bytes)
        .await
        .map_err(|e| match e {
            Download::TooLarge => Fetch::TooLarge,
            Download::Failed(reason) => Fetch::Failed {
                reason,
                transient: true,
            },
        })?;
    let mime_type = [
        &attachment.mime_type,
        &download.mime_type,
        &file.content_type,
    ]
    .into_iter()
    .map(|m| m.trim())
    .find(|m| !m.is_empty() && *m != "application/octet-stream")
    .unwrap_or(file.content_type.trim())
    .to_owned();
    Ok(MediaFile {
        bytes: file.bytes,
        mime_type,
        file_name: attachment.file_name.clone(),
    })
}

fn reply(outcome: Outcome, message: impl Into<String>) -> MediaFetchReply {
    MediaFetchReply {
        outcome: outcome as i32,
        message: message.into(),
        ..Default::default()
    }
}

/// Answers one `media.<messenger>` request.
async fn answer<M: Messenger>(
    shared: &Shared<M>,
    buckets: &MediaBuckets,
    request: MediaFetchRequest,
) -> MediaFetchReply {
    let Some(shelf) = buckets.shelf(&request.bucket) else {
        return reply(Outcome::Failed, "unknown media bucket");
    };
    let channel = match shared.context.directory.get(&request.channel_id).await {
        Ok(Some(channel)) => channel,
        Ok(None) => return reply(Outcome::NotFound, "the message's channel is gone"),
        Err(err) => return reply(Outcome::Failed, format!("channel lookup: {err}")),
    };
    let Some(attachment) = request.attachment.filter(has_file) else {
        return reply(Outcome::NotFound, "the attachment has no file");
    };
    let file = match fetch(shared, &channel, &attachment, request.max_bytes).await {
        Ok(file) => file,
        Err(Fetch::TooLarge) => return reply(Outcome::TooLarge, "the file is too large"),
        Err(Fetch::Failed { reason, .. }) => return reply(Outcome::Failed, reason),
    };
    if let Err(err) = buckets.put(shelf, &request.object_name, &file).await {
        return reply(Outcome::Failed, format!("cannot store the file: {err}"));
    }
    MediaFetchReply {
        outcome: Outcome::Ok as i32,
        message: String::new(),
        size_bytes: file.bytes.len() as u64,
        mime_type: file.mime_type,
        file_name: file.file_name,
    }
}

/// Opens the media buckets, retrying until NATS answers or `shutdown`.
async fn open_buckets<M: Messenger>(
    shared: &Shared<M>,
    shutdown: &CancellationToken,
) -> Option<MediaBuckets> {
    let mut delay = Duration::from_millis(200);
    loop {
        match MediaBuckets::open(&shared.context.bus, shared.context.config.media).await {
            Ok(buckets) => return Some(buckets),
            Err(err) => tracing::warn!(error = %err, "cannot open the media buckets yet"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return None,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// Serves `media.<messenger>` and, for [`Messenger::COPY_AT_RECEIPT`],
/// copies inbound files at receipt; until `shutdown`.
pub(crate) async fn run<M: Messenger>(shared: Arc<Shared<M>>, shutdown: CancellationToken) {
    let Some(buckets) = open_buckets(&shared, &shutdown).await else {
        return;
    };
    let bus = shared.context.bus.clone();
    let copies = M::COPY_AT_RECEIPT.then(|| {
        tokio::spawn(copy_at_receipt(
            shared.clone(),
            buckets.clone(),
            shutdown.clone(),
        ))
    });
    let name = M::name();
    let handle = move |request: MediaFetchRequest| {
        let (shared, buckets) = (shared.clone(), buckets.clone());
        async move { answer(&shared, &buckets, request).await }
    };
    let malformed = |why: String| reply(Outcome::Failed, why);
    let subject = format!("media.{name}");
    let queue = format!("ingress-{name}");
    if let Err(err) = rpc::serve(bus, &subject, queue, handle, malformed, shutdown).await {
        tracing::error!(error = %err, messenger = name, "media responder stopped");
    }
    if let Some(copies) = copies {
        let _ = copies.await;
    }
}

async fn copy_at_receipt<M: Messenger>(
    shared: Arc<Shared<M>>,
    buckets: MediaBuckets,
    shutdown: CancellationToken,
) {
    // The consumer reads every conversation event; a process without a
    // channel of this messenger does not pay for it. Once one exists, the
    // durable consumer starts from the stream's beginning, so nothing
    // received before is missed.
    while shared.context.directory.live().is_empty() {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    let bus: Bus = shared.context.bus.clone();
    let config = WorkerConfig {
        durable: format!("ingress-{}-media-copy", M::name()),
        filter_subject: bus.subjects().conversation(">"),
        lanes: 4,
        ack_wait: Duration::from_secs(60),
        max_deliver: 20,
        exclusive: false,
    };
    let handler = move |delivery: Delivery| {
        let (shared, buckets) = (shared.clone(), buckets.clone());
        async move { copy(&shared, &buckets, delivery).await }
    };
    run_worker(bus, config, handler, shutdown).await;
}

/// Copies the files of one inbound message of this messenger into the keep
/// bucket; other events pass. A file that will never come (too large, the
/// link refused for good) is logged and skipped; a failure that may pass is
/// retried by redelivery.
#[tracing::instrument(skip_all, fields(sequence = delivery.sequence))]
async fn copy<M: Messenger>(
    shared: &Shared<M>,
    buckets: &MediaBuckets,
    delivery: Delivery,
) -> Result<(), WorkError> {
    let Ok(event) = delivery.event else {
        return Ok(());
    };
    let Some(Payload::MessageReceived(received)) = event.payload else {
        return Ok(());
    };
    if received.attachments.is_empty() {
        return Ok(());
    }
    let channel = match shared.context.directory.get(&event.channel_id).await {
        Ok(Some(channel)) => channel,
        Ok(None) => return Ok(()),
        Err(err) => return Err(retry(err.to_string())),
    };
    for (index, attachment) in received.attachments.iter().enumerate() {
        if !has_file(attachment) {
            continue;
        }
        let name = object_name(&received.message_id, index as u32);
        if buckets
            .has(Shelf::Keep, &name)
            .await
            .map_err(|e| retry(e.to_string()))?
        {
            continue;
        }
        match fetch(shared, &channel, attachment, DEFAULT_MAX_BYTES).await {
            Ok(file) => buckets
                .put(Shelf::Keep, &name, &file)
                .await
                .map_err(|e| retry(e.to_string()))?,
            Err(Fetch::Failed {
                reason,
                transient: true,
            }) if delivery.delivered < 5 => return Err(retry(reason)),
            Err(failed) => tracing::warn!(
                conversation_id = %event.conversation_id,
                message_id = %received.message_id,
                index,
                error = ?failed,
                "the attachment could not be copied at receipt"
            ),
        }
    }
    Ok(())
}

fn retry(reason: String) -> WorkError {
    WorkError::Retry {
        delay: Duration::from_secs(2),
        reason,
    }
}
