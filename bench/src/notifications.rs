//! `notifications`: latency from a webhook POST to the NEW_MESSAGE
//! notification on subscribed operator streams, at a steady inbound rate
//! with many concurrent `Subscribe` streams (the server runs `serve all`).
//!
//! It models a support floor rather than 1,000 screens that each show every
//! message (at 500 messages/s that would be 500,000 notifications/s on a
//! machine shared with the client): most subscribers are operators
//! subscribed with their `operator_id`, the benchmark conversations are
//! assigned round-robin to them before the timed phase, and a few
//! supervisors subscribe without `operator_id` and see everything. Each
//! message therefore reaches its conversation's operator and every
//! supervisor; every subscriber's stream still carries the server's filter
//! work for every notification.
//!
//! Webhooks are posted open loop on latency.rs's ticker; each text carries
//! its index, and each received NEW_MESSAGE is timed from the instant its
//! POST was sent. Every expected notification must arrive, once.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use futures::StreamExt as _;
use omnibus_proto::{
    AssignConversationRequest, NotificationKind, SubscribeRequest,
    conversation_service_client::ConversationServiceClient,
    notification_service_client::NotificationServiceClient,
};
use omnibus_tests::telegram;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel as GrpcChannel;

use crate::report::{self, Figure, Target, Unit};
use crate::system::{self, System};

/// Telegram chats of the benchmark conversations start here.
const FIRST_CHAT: i64 = 800_000_000;
/// How long after the last POST the notifications may still arrive.
const DRAIN: Duration = Duration::from_secs(10);
/// Longest wait for the setup (conversations visible, assignments seen).
const SETUP_DEADLINE: Duration = Duration::from_secs(120);
/// Marks a benchmark message's text; the index follows it.
const MARK: &str = "bench #";

/// The load and the floor.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Inbound messages (webhooks) per second, open loop.
    #[arg(long, default_value_t = 500)]
    pub rate: u32,
    /// Measured seconds.
    #[arg(long, default_value_t = 10)]
    pub seconds: u32,
    /// Unmeasured seconds at the same rate first (still checked).
    #[arg(long, default_value_t = 1)]
    pub warmup_seconds: u32,
    /// Concurrent `Subscribe` streams in all.
    #[arg(long, default_value_t = 1_000)]
    pub subscribers: usize,
    /// Of those, supervisors subscribed without `operator_id` (see everything).
    #[arg(long, default_value_t = 10)]
    pub supervisors: usize,
    /// Conversations the messages go to, assigned round-robin to operators.
    #[arg(long, default_value_t = 2_000)]
    pub conversations: usize,
    /// HTTP/2 connections the streams are spread over.
    #[arg(long, default_value_t = 10)]
    pub connections: usize,
    /// The projection store: PostgreSQL (testkit's server) instead of SQLite.
    #[arg(long)]
    pub postgres: bool,
}

/// What one subscriber stream saw: message indices with their arrival.
struct Seen {
    subscriber: usize,
    received: Vec<(usize, Instant)>,
    error: Option<String>,
}

pub async fn run(binary: &Path, args: &Args) -> anyhow::Result<Vec<Figure>> {
    anyhow::ensure!(
        args.supervisors >= 1 && args.subscribers > args.supervisors && args.conversations >= 1,
        "need at least one supervisor, one operator and one conversation"
    );
    let operators = args.subscribers - args.supervisors;
    report::heading(&format!(
        "notifications: webhooks at {}/s for {} s (after {} s warm-up), {} subscribers \
         ({operators} operators with operator_id, {} supervisors without) on {} HTTP/2 \
         connections, {} conversations assigned round-robin; `omnibus serve all` on {}",
        args.rate,
        args.seconds,
        args.warmup_seconds,
        args.subscribers,
        args.supervisors,
        args.connections,
        args.conversations,
        store(args),
    ));
    let system = Arc::new(System::start_on(binary, args.postgres).await?);
    let channels = connect(&system.grpc_url, args.connections.max(1)).await?;
    setup_conversations(&system, args.conversations).await?;

    // Supervisor 0 subscribes first and watches the assignments go through,
    // so every benchmark message is already assigned when it arrives.
    let stop = CancellationToken::new();
    let counter = Arc::new(AtomicUsize::new(0));
    let mut readers = JoinSet::new();
    let probe = subscribe(&channels[0], String::new()).await?;
    let probe = tokio::spawn(await_assignments(probe, args.conversations));
    assign(&system, args.conversations, operators).await?;
    let probe = probe.await??;
    readers.spawn(read(0, probe, counter.clone(), stop.clone()));
    for s in 1..args.subscribers {
        let operator = subscriber_operator(s, args.supervisors).unwrap_or_default();
        let stream = subscribe(&channels[s % channels.len()], operator).await?;
        readers.spawn(read(s, stream, counter.clone(), stop.clone()));
    }
    report::line("subscribed", format!("{} streams", args.subscribers));

    let warmup = (args.rate * args.warmup_seconds) as usize;
    let total = warmup + (args.rate * args.seconds) as usize;
    let bodies = bodies(args.conversations, total);
    let expected = total * (args.supervisors + 1);

    let cpu_start = system.cpu();
    let started = Instant::now();
    let (sent, failed) = post_paced(&system, bodies, args.rate).await;
    let posting = started.elapsed();
    let cpu = cpu_start.until(&system.cpu());
    let drain_started = Instant::now();
    while counter.load(Ordering::Relaxed) < expected && drain_started.elapsed() < DRAIN {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    let seen = readers.join_all().await;

    let (mut from_send, mut missing, mut duplicates, mut unexpected) =
        (report::histogram(), 0usize, 0usize, 0usize);
    let mut measured = 0usize;
    let mut errors = Vec::new();
    for s in &seen {
        if let Some(error) = &s.error {
            errors.push(format!("subscriber {}: {error}", s.subscriber));
        }
        let mut got = HashSet::with_capacity(s.received.len());
        for &(k, at) in &s.received {
            if k >= total || !wants(s.subscriber, k, args, operators) {
                unexpected += 1;
                continue;
            }
            if !got.insert(k) {
                duplicates += 1;
                continue;
            }
            if k >= warmup
                && let Some(sent_at) = sent.at(k)
            {
                report::record(&mut from_send, at.saturating_duration_since(sent_at));
                measured += 1;
            }
        }
        let wanted = (0..total)
            .filter(|&k| wants(s.subscriber, k, args, operators))
            .count();
        missing += wanted - got.len();
    }
    let received: usize = seen.iter().map(|s| s.received.len()).sum();

    report::line(
        "webhooks sent / failed",
        format!(
            "{total} / {failed} in {:.2} s ({:.0}/s)",
            posting.as_secs_f64(),
            total as f64 / posting.as_secs_f64()
        ),
    );
    report::line(
        "NEW_MESSAGE notifications",
        format!(
            "received {received}, expected {expected} \
             (each message: its operator + {} supervisors)",
            args.supervisors
        ),
    );
    report::line(
        "  missing / duplicated / not for them",
        format!("{missing} / {duplicates} / {unexpected}"),
    );
    report::line(
        &format!("latency from POST sent ({measured} timed)"),
        report::latencies(&from_send),
    );
    report::line("CPU while posting", &cpu);
    report::line("  server threads (cores)", cpu.server_threads());
    report::line(
        "server memory",
        format!(
            "VmRSS {:.1} MiB, VmHWM (peak) {:.1} MiB",
            system.server_proc.memory_mib("VmRSS"),
            system.server_proc.memory_mib("VmHWM")
        ),
    );
    for error in errors.iter().take(5) {
        report::line("  stream error", error);
    }
    anyhow::ensure!(
        failed == 0 && missing == 0 && errors.is_empty(),
        "{failed} webhooks failed, {missing} notifications missing, {} streams ended in error",
        errors.len()
    );

    let (rate, subs) = (args.rate, args.subscribers);
    let store = store(args);
    let name = |q: &str| format!("notification {q}, {rate}/s, {subs} subscribers, {store}");
    Ok(vec![
        Figure::new(
            name("p50"),
            report::quantile_ms(&from_send, 0.5),
            Unit::Millis,
        ),
        Figure::new(
            name("p99"),
            report::quantile_ms(&from_send, 0.99),
            Unit::Millis,
        )
        .target(Target::Below(if args.postgres { 20.0 } else { 30.0 })),
        Figure::new(name("max"), from_send.max() as f64 / 1000.0, Unit::Millis),
    ])
}

fn store(args: &Args) -> &'static str {
    if args.postgres {
        "PostgreSQL"
    } else {
        "SQLite"
    }
}

/// The operator a subscriber stands for; `None` for supervisors, who come first.
fn subscriber_operator(subscriber: usize, supervisors: usize) -> Option<String> {
    (subscriber >= supervisors).then(|| operator_id(subscriber - supervisors))
}

fn operator_id(index: usize) -> String {
    format!("op-{index:04}")
}

/// Whether subscriber `s` should get message `k`.
fn wants(s: usize, k: usize, args: &Args, operators: usize) -> bool {
    s < args.supervisors || (k % args.conversations) % operators == s - args.supervisors
}

/// `count` HTTP/2 connections to the gRPC API.
async fn connect(grpc_url: &str, count: usize) -> anyhow::Result<Vec<GrpcChannel>> {
    let mut channels = Vec::with_capacity(count);
    for _ in 0..count {
        let channel = GrpcChannel::from_shared(grpc_url.to_owned())?
            .connect()
            .await
            .context("connect to the gRPC API")?;
        channels.push(channel);
    }
    Ok(channels)
}

/// One customer message per conversation, then waits until all are visible.
async fn setup_conversations(system: &Arc<System>, count: usize) -> anyhow::Result<()> {
    let client = system::http_client(32);
    let bodies: Vec<Bytes> = (0..count as i64)
        .map(|i| {
            let text = "Hi, I need help with my order.";
            Bytes::from(telegram::text_update(1 + i, FIRST_CHAT + i, text).to_string())
        })
        .collect();
    let failed = futures::stream::iter(bodies)
        .map(|body| {
            let (system, client) = (system.clone(), client.clone());
            async move { system.post(&client, body).await }
        })
        .buffer_unordered(32)
        .filter(|ok| std::future::ready(!ok))
        .count()
        .await;
    anyhow::ensure!(failed == 0, "{failed} setup webhooks failed");
    let started = Instant::now();
    while system.visible().await?.0 < count {
        anyhow::ensure!(
            started.elapsed() < SETUP_DEADLINE,
            "setup conversations not visible"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Assigns conversation `i` to operator `i % operators`.
async fn assign(system: &System, conversations: usize, operators: usize) -> anyhow::Result<()> {
    let api = ConversationServiceClient::connect(system.grpc_url.clone()).await?;
    let channel_id = system.channel_id.clone();
    futures::stream::iter(0..conversations)
        .map(|i| {
            let mut api = api.clone();
            let chat = (FIRST_CHAT + i as i64).to_string();
            let request = AssignConversationRequest {
                id: omnibus_core::ids::conversation_id(&channel_id, &chat),
                operator_id: operator_id(i % operators),
                group_id: String::new(),
            };
            async move { api.assign_conversation(request).await }
        })
        .buffer_unordered(16)
        .map(|result| result.map(drop).context("assign a conversation"))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

type NotificationStream = tonic::Streaming<omnibus_proto::Notification>;

/// Opens a `Subscribe` stream; it is live once this returns.
async fn subscribe(
    channel: &GrpcChannel,
    operator_id: String,
) -> anyhow::Result<NotificationStream> {
    let request = SubscribeRequest {
        operator_id,
        ..Default::default()
    };
    let response = NotificationServiceClient::new(channel.clone())
        .subscribe(request)
        .await
        .context("subscribe")?;
    Ok(response.into_inner())
}

/// Reads the probe stream until it saw `count` CONVERSATION_ASSIGNED.
async fn await_assignments(
    mut stream: NotificationStream,
    count: usize,
) -> anyhow::Result<NotificationStream> {
    let mut seen = 0;
    let deadline = tokio::time::Instant::now() + SETUP_DEADLINE;
    while seen < count {
        let next = tokio::time::timeout_at(deadline, stream.message()).await;
        let note = next
            .context("assignments not notified in time")??
            .context("the probe stream ended")?;
        seen += usize::from(note.kind == NotificationKind::ConversationAssigned as i32);
    }
    Ok(stream)
}

/// Records every benchmark NEW_MESSAGE on one stream until `stop`.
async fn read(
    subscriber: usize,
    mut stream: NotificationStream,
    counter: Arc<AtomicUsize>,
    stop: CancellationToken,
) -> Seen {
    let mut seen = Seen {
        subscriber,
        received: Vec::new(),
        error: None,
    };
    loop {
        let next = tokio::select! {
            () = stop.cancelled() => return seen,
            next = stream.message() => next,
        };
        let note = match next {
            Ok(Some(note)) => note,
            Ok(None) => {
                seen.error = Some("the stream ended".to_owned());
                return seen;
            }
            Err(status) => {
                seen.error = Some(status.to_string());
                return seen;
            }
        };
        let at = Instant::now();
        if note.kind != NotificationKind::NewMessage as i32 {
            continue;
        }
        if let Some(k) = index_of(&note.text) {
            seen.received.push((k, at));
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The index in a benchmark message's text.
fn index_of(text: &str) -> Option<usize> {
    let rest = &text[text.find(MARK)? + MARK.len()..];
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..digits].parse().ok()
}

/// Update bodies `0..count`, message `k` to conversation `k % conversations`.
fn bodies(conversations: usize, count: usize) -> Vec<Bytes> {
    (0..count)
        .map(|k| {
            let chat = FIRST_CHAT + (k % conversations) as i64;
            let text = format!("{MARK}{k}: the courier left my parcel at the wrong door");
            // Update ids above the setup's.
            let update_id = (conversations + 1 + k) as i64;
            Bytes::from(telegram::text_update(update_id, chat, &text).to_string())
        })
        .collect()
}

/// When each POST was sent, as nanoseconds after `base` (0: not sent).
struct SendTimes {
    base: Instant,
    nanos: Vec<AtomicU64>,
}

impl SendTimes {
    fn at(&self, k: usize) -> Option<Instant> {
        let nanos = self.nanos.get(k)?.load(Ordering::Relaxed);
        (nanos != 0).then(|| self.base + Duration::from_nanos(nanos))
    }
}

/// Posts body `k` at `k / rate` s, never waiting for answers; returns the
/// send instants and the number of webhooks not answered 2xx.
async fn post_paced(system: &Arc<System>, bodies: Vec<Bytes>, rate: u32) -> (SendTimes, usize) {
    let client = system::http_client(256);
    let times = Arc::new(SendTimes {
        base: Instant::now(),
        nanos: (0..bodies.len()).map(|_| AtomicU64::new(0)).collect(),
    });
    let period = Duration::from_secs(1) / rate.max(1);
    let mut ticks = crate::latency::ticker(bodies.len(), period);
    let mut requests = JoinSet::new();
    while let Some((k, _)) = ticks.recv().await {
        let (system, client, body, times) = (
            system.clone(),
            client.clone(),
            bodies[k].clone(),
            times.clone(),
        );
        requests.spawn(async move {
            let sent = times.base.elapsed().as_nanos().max(1) as u64;
            times.nanos[k].store(sent, Ordering::Relaxed);
            system.post(&client, body).await
        });
    }
    let failed = requests.join_all().await.iter().filter(|ok| !**ok).count();
    let times = Arc::try_unwrap(times).unwrap_or_else(|shared| SendTimes {
        base: shared.base,
        nanos: shared
            .nanos
            .iter()
            .map(|n| AtomicU64::new(n.load(Ordering::Relaxed)))
            .collect(),
    });
    (times, failed)
}
