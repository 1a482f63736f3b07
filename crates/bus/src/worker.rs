//! Concurrent command processing, ordered per subject.
//!
//! Commands (such as outbound sends) have side effects outside Omnibus, so
//! each one is acknowledged only after its handler finished. Deliveries are
//! spread over lanes by subject, which carries the conversation id: one
//! conversation's commands run one after another, different conversations in
//! parallel.

use std::collections::hash_map::DefaultHasher;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{
    AckKind, Message,
    consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull},
};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::projection::backoff;
use crate::{Bus, BusError, Delivery};

/// How a worker consumes.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Durable consumer name, shared by every replica of the service.
    pub durable: String,
    /// Subjects to consume (e.g. `omnibus.send.telegram.>`).
    pub filter_subject: String,
    /// Parallel lanes; one subject always maps to the same lane.
    pub lanes: usize,
    /// How long the server waits for an ack before redelivering; handlers
    /// running longer keep the message alive with progress acks.
    pub ack_wait: Duration,
    /// Deliveries before a retried command is parked.
    pub max_deliver: i64,
    /// One replica at a time consumes (holding the lease `worker.<durable>`),
    /// so one conversation's commands stay in order across replicas; the
    /// others wait and take over when it stops.
    pub exclusive: bool,
}

/// Why a handler did not finish a command.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    /// Try again later (e.g. NATS was briefly unavailable).
    #[error("retry in {delay:?}: {reason}")]
    Retry {
        /// When to redeliver.
        delay: Duration,
        /// For the logs.
        reason: String,
    },
    /// The command can never succeed; it is parked as a dead letter.
    #[error("rejected: {0}")]
    Reject(String),
}

/// Runs `handler` for every command until `shutdown`. In-flight commands
/// finish and are acked; queued ones are handed back to the server.
pub async fn run_worker<H, F>(
    bus: Bus,
    config: WorkerConfig,
    handler: H,
    shutdown: CancellationToken,
) where
    H: Fn(Delivery) -> F + Send + Sync + 'static,
    F: Future<Output = Result<(), WorkError>> + Send + 'static,
{
    let handler = Arc::new(handler);
    if !config.exclusive {
        return consume_until(&bus, &config, handler, &shutdown).await;
    }
    let name = format!("worker.{}", config.durable);
    let job = |work: CancellationToken| {
        let (bus, config, handler) = (bus.clone(), config.clone(), handler.clone());
        async move { consume_until(&bus, &config, handler, &work).await }
    };
    crate::lease::take_turns(&bus, &name, &shutdown, job).await;
}

/// Consumes until `shutdown`, restarting after errors.
async fn consume_until<H, F>(
    bus: &Bus,
    config: &WorkerConfig,
    handler: Arc<H>,
    shutdown: &CancellationToken,
) where
    H: Fn(Delivery) -> F + Send + Sync + 'static,
    F: Future<Output = Result<(), WorkError>> + Send + 'static,
{
    let mut failures = 0u32;
    while !shutdown.is_cancelled() {
        match consume(bus, config, handler.clone(), shutdown).await {
            Ok(()) => return,
            Err(err) => {
                failures += 1;
                let delay = backoff(failures);
                tracing::warn!(consumer = %config.durable, error = %err, ?delay, "worker failed, restarting");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

async fn consume<H, F>(
    bus: &Bus,
    config: &WorkerConfig,
    handler: Arc<H>,
    shutdown: &CancellationToken,
) -> Result<(), BusError>
where
    H: Fn(Delivery) -> F + Send + Sync + 'static,
    F: Future<Output = Result<(), WorkError>> + Send + 'static,
{
    let consumer = durable(bus, config).await?;
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(config.lanes.max(1) * 4)
        .heartbeat(Duration::from_secs(5))
        .messages()
        .await
        .map_err(BusError::unavailable)?;
    let lanes = config.lanes.max(1);
    let stop_lanes = CancellationToken::new();
    let mut senders = Vec::with_capacity(lanes);
    let mut tasks = JoinSet::new();
    for _ in 0..lanes {
        let (tx, rx) = mpsc::channel::<Message>(8);
        senders.push(tx);
        let lane = Lane {
            bus: bus.clone(),
            config: config.clone(),
            stop: stop_lanes.clone(),
        };
        tasks.spawn(lane.run(rx, handler.clone()));
    }
    let result = loop {
        let next = tokio::select! {
            () = shutdown.cancelled() => break Ok(()),
            next = messages.next() => next,
        };
        let message = match next {
            Some(Ok(message)) => message,
            Some(Err(err)) => break Err(BusError::unavailable(err)),
            None => break Err(BusError::Unavailable("consumer stream ended".into())),
        };
        let lane = lane_of(&message.subject, lanes);
        if senders[lane].send(message).await.is_err() {
            break Err(BusError::Unavailable("worker lane stopped".into()));
        }
    };
    stop_lanes.cancel();
    drop(senders);
    while tasks.join_next().await.is_some() {}
    result
}

struct Lane {
    bus: Bus,
    config: WorkerConfig,
    stop: CancellationToken,
}

impl Lane {
    async fn run<H, F>(self, mut rx: mpsc::Receiver<Message>, handler: Arc<H>)
    where
        H: Fn(Delivery) -> F + Send + Sync + 'static,
        F: Future<Output = Result<(), WorkError>> + Send + 'static,
    {
        while let Some(message) = rx.recv().await {
            if self.stop.is_cancelled() {
                // Hand queued commands back at once instead of after ack_wait.
                let _ = message.ack_with(AckKind::Nak(None)).await;
                continue;
            }
            self.process(message, handler.as_ref()).await;
        }
    }

    async fn process<H, F>(&self, message: Message, handler: &H)
    where
        H: Fn(Delivery) -> F,
        F: Future<Output = Result<(), WorkError>>,
    {
        let Some(delivery) = Delivery::from_message(&message) else {
            let _ = message.ack_with(AckKind::Term).await;
            return;
        };
        let outcome = match &delivery.event {
            Err(err) => Err(WorkError::Reject(format!("undecodable event: {err}"))),
            Ok(_) => {
                self.with_progress(&message, handler(delivery.clone()))
                    .await
            }
        };
        let ack = match outcome {
            Ok(()) => message.double_ack().await,
            Err(WorkError::Retry { delay, reason })
                if delivery.delivered < self.config.max_deliver =>
            {
                tracing::warn!(
                    sequence = delivery.sequence,
                    reason,
                    ?delay,
                    "command will be retried"
                );
                message.ack_with(AckKind::Nak(Some(delay))).await
            }
            Err(err) => {
                self.park(&delivery, &err.to_string()).await;
                message.ack_with(AckKind::Term).await
            }
        };
        if let Err(err) = ack {
            tracing::warn!(sequence = delivery.sequence, error = %err, "ack failed; the command may be redelivered");
        }
    }

    /// Keeps the message from being redelivered while a slow handler runs.
    async fn with_progress<F>(&self, message: &Message, work: F) -> Result<(), WorkError>
    where
        F: Future<Output = Result<(), WorkError>>,
    {
        let mut tick = tokio::time::interval(self.config.ack_wait / 3);
        tick.tick().await;
        tokio::pin!(work);
        loop {
            tokio::select! {
                outcome = &mut work => return outcome,
                _ = tick.tick() => { let _ = message.ack_with(AckKind::Progress).await; }
            }
        }
    }

    async fn park(&self, delivery: &Delivery, error: &str) {
        let mut failures = 0;
        while let Err(err) = self.bus.park(&self.config.durable, delivery, error).await {
            failures += 1;
            if failures > 20 {
                tracing::error!(error = %err, sequence = delivery.sequence, "giving up parking a dead letter");
                return;
            }
            tokio::time::sleep(backoff(failures)).await;
        }
    }
}

fn lane_of(subject: &str, lanes: usize) -> usize {
    let mut hasher = DefaultHasher::new();
    subject.hash(&mut hasher);
    (hasher.finish() % lanes as u64) as usize
}

async fn durable(bus: &Bus, config: &WorkerConfig) -> Result<PullConsumer, BusError> {
    let stream = bus
        .jetstream()
        .get_stream_no_info(bus.stream_name())
        .await
        .map_err(BusError::unavailable)?;
    stream
        .get_or_create_consumer(
            &config.durable,
            pull::Config {
                durable_name: Some(config.durable.clone()),
                filter_subject: config.filter_subject.clone(),
                ack_policy: AckPolicy::Explicit,
                deliver_policy: DeliverPolicy::All,
                ack_wait: config.ack_wait,
                max_ack_pending: (config.lanes.max(1) * 16) as i64,
                ..Default::default()
            },
        )
        .await
        .map_err(BusError::jetstream)
}
