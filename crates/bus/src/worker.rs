//! Concurrent command processing, ordered per subject.
//!
//! Commands (such as outbound sends) have side effects outside Omnibus, so
//! each one is acknowledged only after its handler finished. Deliveries are
//! spread over lanes by subject, which carries the conversation id: one
//! conversation's commands run one after another, different conversations in
//! parallel.

use std::collections::HashSet;
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
    /// others wait and take over when it stops, after what it left
    /// unacknowledged (see `Backlog`).
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
    let mut backlog = if config.exclusive {
        Backlog::left_by_previous_holder(&consumer, config.ack_wait).await?
    } else {
        Backlog::none()
    };
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
    let mut ready = Vec::new();
    let result = 'read: loop {
        tokio::select! {
            () = shutdown.cancelled() => break Ok(()),
            () = tokio::time::sleep_until(backlog.until), if backlog.holds() => {
                backlog.give_up(&mut ready);
            }
            next = messages.next() => match next {
                Some(Ok(message)) => backlog.admit(message, &mut ready),
                Some(Err(err)) => break Err(BusError::unavailable(err)),
                None => break Err(BusError::Unavailable("consumer stream ended".into())),
            },
        }
        for message in ready.drain(..) {
            let lane = lane_of(&message.subject, lanes);
            if senders[lane].send(message).await.is_err() {
                break 'read Err(BusError::Unavailable("worker lane stopped".into()));
            }
        }
    };
    stop_lanes.cancel();
    drop(senders);
    while tasks.join_next().await.is_some() {}
    result
}

/// How long after `ack_wait` a new holder still waits for the commands its
/// predecessor left unacknowledged.
const BACKLOG_MARGIN: Duration = Duration::from_secs(5);

/// The commands a previous lease holder received and never acknowledged
/// (it was killed): the server hands them out again only once their
/// `ack_wait` has run out, after newer commands of the same conversation
/// could already have been sent. So a new holder holds the newer commands
/// back until those have come back (or until `ack_wait` and a margin have
/// passed: a holder that lost its lease may still have acknowledged them),
/// and one conversation's commands keep their order across a failover. A
/// graceful handover hands the commands queued in its lanes back at once
/// (`Nak`), so they come back first; only commands still in its client's
/// buffer make the next holder wait. Held commands are never handed back
/// early: they would overtake the older ones still away.
struct Backlog {
    /// The previous holder received the commands up to this stream sequence.
    delivered_through: u64,
    /// How many of those it left unacknowledged.
    missing: usize,
    /// The stream sequences of those that came back.
    returned: HashSet<u64>,
    /// When to stop waiting for them.
    until: tokio::time::Instant,
    /// Newer commands, in the order they arrived.
    held: Vec<Message>,
}

impl Backlog {
    /// Nothing to wait for (workers that are not exclusive keep no order
    /// across replicas).
    fn none() -> Self {
        Self {
            delivered_through: 0,
            missing: 0,
            returned: HashSet::new(),
            until: tokio::time::Instant::now(),
            held: Vec::new(),
        }
    }

    /// What the consumer's previous holder left unacknowledged.
    async fn left_by_previous_holder(
        consumer: &PullConsumer,
        ack_wait: Duration,
    ) -> Result<Self, BusError> {
        let info = consumer.get_info().await.map_err(BusError::unavailable)?;
        if info.num_ack_pending > 0 {
            tracing::info!(
                consumer = %info.name,
                unacknowledged = info.num_ack_pending,
                "the previous holder left commands unacknowledged; newer ones wait until they are back"
            );
        }
        Ok(Self {
            delivered_through: info.delivered.stream_sequence,
            missing: info.num_ack_pending,
            until: tokio::time::Instant::now() + ack_wait + BACKLOG_MARGIN,
            ..Self::none()
        })
    }

    /// True while newer commands are held back.
    fn holds(&self) -> bool {
        self.returned.len() < self.missing
    }

    /// Adds to `ready` what may run now: `message` itself, unless it is a
    /// newer command arriving while the backlog is still away; and every
    /// held command once the last of the backlog came back.
    fn admit(&mut self, message: Message, ready: &mut Vec<Message>) {
        if !self.holds() {
            ready.push(message);
            return;
        }
        let sequence = message.info().map_or(u64::MAX, |info| info.stream_sequence);
        if sequence > self.delivered_through {
            self.held.push(message);
            return;
        }
        self.returned.insert(sequence);
        ready.push(message);
        if !self.holds() {
            ready.append(&mut self.held);
        }
    }

    /// Stops waiting: the rest of the backlog was acknowledged after all, or
    /// is lost to the server's redelivery limits.
    fn give_up(&mut self, ready: &mut Vec<Message>) {
        tracing::warn!(
            missing = self.missing - self.returned.len(),
            "commands of the previous holder did not come back in time; going on"
        );
        self.missing = 0;
        ready.append(&mut self.held);
    }
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
