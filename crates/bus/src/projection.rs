//! Ordered, batched consumption for projections.
//!
//! A projection stores the last applied stream sequence in the same
//! transaction as its state. That checkpoint, not the consumer's position on
//! the server, decides where reading starts: an empty or lagging database is
//! rebuilt by replay, and events at or below the checkpoint are skipped, so a
//! crash between commit and ack never applies anything twice.

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use futures::StreamExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::{Bus, BusError, Delivery, Precedence};

/// A read model built from the stream.
pub trait Projection: Send + 'static {
    /// Names the durable consumer and the checkpoint.
    fn name(&self) -> &str;

    /// The stream sequence the store has applied through (0 when empty).
    fn applied_through(&mut self) -> impl Future<Output = Result<u64, ProjectionError>> + Send;

    /// Applies `batch` in order, committing the state together with the
    /// checkpoint of the last delivery. Events it cannot apply (malformed,
    /// impossible) are skipped and returned, to be parked as dead letters.
    /// An `Err` means nothing was committed and the batch is retried.
    fn apply(
        &mut self,
        batch: &[Delivery],
    ) -> impl Future<Output = Result<Vec<Rejected>, ProjectionError>> + Send;
}

/// A transient failure (e.g. the database is unreachable); the batch is retried.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProjectionError(pub String);

/// An event the projection skipped, with the reason.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// Its stream sequence.
    pub sequence: u64,
    /// Why it could not be applied.
    pub error: String,
}

/// Tuning of a projection's reader.
#[derive(Debug, Clone)]
pub struct ProjectionOptions {
    /// Only subjects matching this filter are read (e.g. `omnibus.>`).
    pub filter_subject: String,
    /// Most events applied in one transaction.
    pub batch_size: usize,
    /// Replicas of the service share the projection's database
    /// (PostgreSQL): one replica at a time applies events, holding the lease
    /// `projection.<name>`; the others follow its checkpoint, so their
    /// `progress` (and their API's read-your-writes) stays current and they
    /// take over when it stops.
    pub shared: bool,
    /// Whether it catches up before the process's other projections.
    pub precedence: Precedence,
}

/// How often a replica without the lease re-reads the checkpoint.
const FOLLOW_EVERY: Duration = Duration::from_millis(50);

/// Feeds `projection` from the stream until `shutdown`, reconnecting and
/// repositioning after errors. `progress` is updated to the applied sequence
/// after each commit, so APIs can wait to read their own writes.
pub async fn run_projection<P: Projection>(
    bus: Bus,
    options: ProjectionOptions,
    mut projection: P,
    progress: watch::Sender<u64>,
    shutdown: CancellationToken,
) {
    if options.shared {
        run_shared(&bus, &options, &mut projection, &progress, &shutdown).await;
    } else {
        read_until(&bus, &options, &mut projection, &progress, &shutdown).await;
    }
}

/// Applies while this replica holds the lease, follows the checkpoint otherwise.
async fn run_shared<P: Projection>(
    bus: &Bus,
    options: &ProjectionOptions,
    projection: &mut P,
    progress: &watch::Sender<u64>,
    shutdown: &CancellationToken,
) {
    let Some(leases) = crate::lease::open_retrying(bus, shutdown).await else {
        return;
    };
    let name = format!("projection.{}", projection.name());
    while !shutdown.is_cancelled() {
        let work = shutdown.child_token();
        match leases.try_acquire(&name, work.clone()).await {
            Ok(Some(lease)) => {
                read_until(bus, options, projection, progress, &work).await;
                lease.release().await;
            }
            Ok(None) => follow(projection, progress, shutdown, leases.retry_every()).await,
            Err(err) => {
                tracing::warn!(lease = %name, error = %err, "cannot ask for the lease; following");
                follow(projection, progress, shutdown, leases.retry_every()).await;
            }
        }
    }
}

/// For `period`, publishes the checkpoint another replica commits.
async fn follow<P: Projection>(
    projection: &mut P,
    progress: &watch::Sender<u64>,
    shutdown: &CancellationToken,
    period: Duration,
) {
    let until = tokio::time::Instant::now() + period;
    while tokio::time::Instant::now() < until {
        if let Ok(applied) = projection.applied_through().await {
            progress.send_if_modified(|current| {
                let newer = applied > *current;
                if newer {
                    *current = applied;
                }
                newer
            });
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(FOLLOW_EVERY) => {}
        }
    }
}

/// Reads until `stop`, restarting after errors.
async fn read_until<P: Projection>(
    bus: &Bus,
    options: &ProjectionOptions,
    projection: &mut P,
    progress: &watch::Sender<u64>,
    shutdown: &CancellationToken,
) {
    let mut failures = 0u32;
    while !shutdown.is_cancelled() {
        match read(bus, options, projection, progress, shutdown).await {
            Ok(()) => return,
            Err(err) => {
                failures += 1;
                let delay = backoff(failures);
                tracing::warn!(projection = projection.name(), error = %err, ?delay, "projection reader failed, restarting");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

async fn read<P: Projection>(
    bus: &Bus,
    options: &ProjectionOptions,
    projection: &mut P,
    progress: &watch::Sender<u64>,
    shutdown: &CancellationToken,
) -> Result<(), BusError> {
    let mut applied = projection
        .applied_through()
        .await
        .map_err(|e| BusError::Unavailable(e.0))?;
    progress.send_replace(applied);
    let consumer = position(bus, projection.name(), &options.filter_subject, applied).await?;
    let messages = consumer
        .stream()
        .max_messages_per_batch(options.batch_size)
        .heartbeat(Duration::from_secs(5))
        .messages()
        .await
        .map_err(BusError::unavailable)?;
    let mut chunks = messages.ready_chunks(options.batch_size);
    let first = (options.precedence == Precedence::First).then(|| bus.turns().first_reading());
    let mut ack = LazyAck::default();
    loop {
        // Unconstrained: tokio's cooperative budget makes a task's channel
        // receives report "not ready" after 128 per turn, so `ready_chunks`
        // would hand over at most 127 of the messages waiting in the client
        // and a projection catching up would commit every 127 events (on
        // SQLite a rebuild ran at half the speed it does with full batches).
        // A chunk is bounded by `batch_size`, so the task still yields.
        let chunk = tokio::select! {
            () = shutdown.cancelled() => {
                ack.send().await;
                return Ok(());
            }
            () = ack.due() => {
                ack.send().await;
                continue;
            }
            chunk = tokio::task::unconstrained(chunks.next()) => chunk,
        };
        let Some(chunk) = chunk else {
            return Err(BusError::Unavailable("consumer stream ended".into()));
        };
        let mut messages = chunk
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(BusError::unavailable)?;
        // The last message is kept for the ack; the others are taken apart.
        let last_message = messages.pop();
        let deliveries: Vec<Delivery> = messages
            .into_iter()
            .filter_map(Delivery::from_owned)
            .chain(last_message.as_ref().and_then(Delivery::from_message))
            .filter(|d| d.sequence > applied)
            .collect();
        if let Some(last) = deliveries.last() {
            let last_sequence = last.sequence;
            if options.precedence == Precedence::AfterFirst {
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    () = bus.turns().wait_for_first() => {}
                }
            }
            let Some(rejected) = apply_until_committed(projection, &deliveries, shutdown).await
            else {
                ack.send().await;
                return Ok(());
            };
            park_all(bus, projection.name(), &deliveries, &rejected).await;
            applied = last_sequence;
            // Committed: readers of the projection may see it now.
            progress.send_replace(applied);
        }
        if let (Some(first), Some(last)) = (&first, &last_message) {
            // Still on the server; a few batches more wait in the client.
            first.behind(last.info().map_or(0, |info| info.pending));
        }
        if let Some(last) = last_message {
            ack.hold(last);
        }
    }
}

/// How long an applied batch may wait for its ack: a later batch's ack
/// covers it (`AckPolicy::All`), so under a steady stream a projection acks
/// a few times a second instead of once per event, far inside `ack_wait`.
const ACK_WITHIN: Duration = Duration::from_millis(100);

/// The ack of the last applied message, sent at most [`ACK_WITHIN`] after
/// the first batch it covers.
///
/// Not waited for, and safe to lose: the checkpoint, not the ack, decides
/// where reading resumes, and an unacked message is only redelivered after
/// `ack_wait` and skipped as already applied.
struct LazyAck {
    last: Option<async_nats::jetstream::Message>,
    /// Set when an ack is first held; one timer, reset rather than made
    /// anew for every batch.
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl Default for LazyAck {
    fn default() -> Self {
        Self {
            last: None,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
        }
    }
}

impl LazyAck {
    /// Keeps `applied` as the message to ack (it covers the ones before it).
    fn hold(&mut self, applied: async_nats::jetstream::Message) {
        if self.last.is_none() {
            let due = tokio::time::Instant::now() + ACK_WITHIN;
            self.timer.as_mut().reset(due);
        }
        self.last = Some(applied);
    }

    /// Resolves when an ack is held and due; pending forever otherwise.
    async fn due(&mut self) {
        if self.last.is_some() {
            self.timer.as_mut().await;
        } else {
            std::future::pending().await
        }
    }

    async fn send(&mut self) {
        if let Some(last) = self.last.take()
            && let Err(err) = last.ack().await
        {
            tracing::warn!(error = %err, "ack failed; the batch will be redelivered and skipped");
        }
    }
}

/// Retries a failing batch until it commits; `None` when shut down first.
async fn apply_until_committed<P: Projection>(
    projection: &mut P,
    deliveries: &[Delivery],
    shutdown: &CancellationToken,
) -> Option<Vec<Rejected>> {
    let mut failures = 0;
    loop {
        match projection.apply(deliveries).await {
            Ok(rejected) => return Some(rejected),
            Err(err) => {
                failures += 1;
                let delay = backoff(failures);
                tracing::warn!(projection = projection.name(), error = %err, ?delay, "applying a batch failed, retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return None,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

async fn park_all(bus: &Bus, consumer: &str, deliveries: &[Delivery], rejected: &[Rejected]) {
    for rejection in rejected {
        let Some(delivery) = deliveries.iter().find(|d| d.sequence == rejection.sequence) else {
            continue;
        };
        let event_id = delivery.event.as_ref().map(|e| e.id.as_str()).unwrap_or("");
        tracing::error!(
            projection = consumer,
            event_id,
            sequence = delivery.sequence,
            error = %rejection.error,
            "the projection can never apply this event; parking it"
        );
        omnibus_metrics::projection_parked(consumer);
        let mut failures = 0;
        while let Err(err) = bus.park(consumer, delivery, &rejection.error).await {
            failures += 1;
            tracing::warn!(error = %err, "cannot park a dead letter yet, retrying");
            tokio::time::sleep(backoff(failures)).await;
        }
    }
}

/// Creates the durable consumer at `applied + 1`, or reuses it when it is
/// exactly there with nothing in flight.
async fn position(
    bus: &Bus,
    name: &str,
    filter_subject: &str,
    applied: u64,
) -> Result<PullConsumer, BusError> {
    let stream = bus
        .jetstream()
        .get_stream_no_info(bus.stream_name())
        .await
        .map_err(BusError::unavailable)?;
    if let Ok(info) = stream.consumer_info(name).await {
        let in_place = info.ack_floor.stream_sequence == applied
            && info.num_ack_pending == 0
            && info.config.filter_subject == filter_subject;
        if in_place {
            return stream
                .get_consumer(name)
                .await
                .map_err(BusError::unavailable);
        }
        stream
            .delete_consumer(name)
            .await
            .map_err(BusError::unavailable)?;
    }
    let deliver_policy = if applied == 0 {
        DeliverPolicy::All
    } else {
        DeliverPolicy::ByStartSequence {
            start_sequence: applied + 1,
        }
    };
    stream
        .create_consumer(pull::Config {
            durable_name: Some(name.to_owned()),
            filter_subject: filter_subject.to_owned(),
            ack_policy: AckPolicy::All,
            deliver_policy,
            ack_wait: Duration::from_secs(60),
            max_ack_pending: 20_000,
            ..Default::default()
        })
        .await
        .map_err(BusError::jetstream)
}

/// Exponential backoff with jitter, from 100 ms up to 10 s.
pub(crate) fn backoff(failures: u32) -> Duration {
    let base = 100u64.saturating_mul(1 << failures.min(7)).min(10_000);
    let jitter = rand::random_range(0..=base / 4);
    Duration::from_millis(base + jitter)
}
