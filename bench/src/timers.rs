//! `timers`: 100,000 armed timers in the timers service, run alone as a
//! child process (`omnibus serve timers`) on SQLite.
//!
//! The timers are armed the way production arms them: a channel closes
//! conversations after a long inactivity (a day), and each of 100,000
//! conversations gets one inbound customer message. The normalized
//! `MessageReceived` events are published straight onto the stream, the
//! interface between the ingress and the timers, pipelined like limits.md B;
//! the channel snapshots are published the same way, as the conversations
//! service stores them. The arm rate runs from the first publish until the
//! service's `omnibus_armed_timers` gauge shows them all.
//!
//! Then, with the 100,000 still armed, a second channel with a short
//! inactivity gets a few thousand conversations at a steady rate, whose
//! closes fall due at that rate a few seconds later. Their
//! `ConversationClosed` events are read back from the stream: lateness is
//! `recorded_at_ms - occurred_at_ms` (the firing time minus the due time,
//! both written by the service), and each conversation must close once.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use futures::StreamExt as _;
use omnibus_bus::{Bus, BusConfig};
use omnibus_proto::{ChannelSettings, CloseReason, Event, event::Payload};
use omnibus_tests::child::ChildServer;
use omnibus_tests::{Sandbox, SandboxOptions};
use prost::Message as _;

use crate::events;
use crate::procs::{CpuSample, Proc};
use crate::report::{self, Figure, Target, Unit};
use crate::system;

/// The armed-timers gauge the firing loop keeps.
const ARMED_GAUGE: &str = "omnibus_armed_timers";
/// Between polls of `/metrics`: bounds the error of the arm time.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Longest wait for the service to arm or fire everything.
const DEADLINE: Duration = Duration::from_secs(300);
/// Chats of the long-lived conversations start here, the firing ones above.
const FIRST_CHAT: i64 = 600_000_000;
const FIRST_FIRING_CHAT: i64 = 690_000_000;

/// How many timers, and how the lateness is measured.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Timers armed and left armed (one conversation each).
    #[arg(long, default_value_t = 100_000)]
    pub armed: usize,
    /// Their channel's `inactivity_close_seconds`.
    #[arg(long, default_value_t = 86_400)]
    pub armed_close_seconds: u32,
    /// Conversations whose inactivity close falls due during the run.
    #[arg(long, default_value_t = 3_000)]
    pub firing: usize,
    /// Their channel's `inactivity_close_seconds`.
    #[arg(long, default_value_t = 5)]
    pub firing_close_seconds: u32,
    /// Rate of their customer messages, hence of their closes, per second.
    #[arg(long, default_value_t = 500)]
    pub firing_rate: u32,
}

/// The timers service in a child process, its dependencies and a publisher.
struct TimersSystem {
    /// Field order matters: the server is killed before its dependencies stop.
    server: ChildServer,
    _sandbox: Sandbox,
    server_proc: Proc,
    nats_proc: Proc,
    bus: Bus,
    http: reqwest::Client,
}

impl TimersSystem {
    async fn start(binary: &Path) -> anyhow::Result<Self> {
        let sandbox = Sandbox::start_with(SandboxOptions {
            no_server: true,
            ..Default::default()
        })
        .await;
        let path = binary.to_str().context("server binary path is not UTF-8")?;
        let server = ChildServer::start_service(path, "timers", &sandbox.env()).await;
        let name = binary
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(system::SERVER_BINARY);
        let server_proc = Proc::child_named(name)?;
        let nats_proc = Proc::child_named("nats-server")?;
        let bus = Bus::connect(&BusConfig {
            nats_url: sandbox.nats.url(),
            ..BusConfig::default()
        })
        .await?;
        Ok(Self {
            server,
            _sandbox: sandbox,
            server_proc,
            nats_proc,
            bus,
            http: reqwest::Client::new(),
        })
    }

    fn cpu(&self) -> CpuSample {
        CpuSample::take(Some(self.server_proc), self.nats_proc)
    }

    /// The service's armed-timers gauge (0 before it is set).
    async fn armed(&self) -> f64 {
        system::metric(&self.http, &self.server.http_url(), ARMED_GAUGE)
            .await
            .unwrap_or(0.0)
    }

    /// Polls the gauge until `done` holds for it; returns the polls made.
    async fn wait_armed(&self, what: &str, done: impl Fn(f64) -> bool) -> anyhow::Result<usize> {
        let started = Instant::now();
        let mut polls = 0;
        loop {
            polls += 1;
            let armed = self.armed().await;
            if done(armed) {
                return Ok(polls);
            }
            anyhow::ensure!(
                started.elapsed() < DEADLINE,
                "{what}: still {armed} armed timers after {DEADLINE:?}"
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Publishes a new channel with this inactivity close; returns its id.
    async fn channel(&self, close_seconds: u32) -> anyhow::Result<String> {
        let id = omnibus_core::ids::random_id("ch_");
        let settings = ChannelSettings {
            inactivity_close_seconds: Some(close_seconds),
            ..Default::default()
        };
        let event = events::channel_created(&id, settings);
        self.bus
            .publish(events::subject(&self.bus, &event), &event)
            .await?;
        Ok(id)
    }

    /// The stream's last sequence now.
    async fn stream_end(&self) -> anyhow::Result<u64> {
        let mut stream = self
            .bus
            .jetstream()
            .get_stream(self.bus.stream_name())
            .await?;
        Ok(stream.info().await?.state.last_sequence)
    }
}

pub async fn run(binary: &Path, args: &Args) -> anyhow::Result<Vec<Figure>> {
    report::heading(&format!(
        "timers: {} armed (close after {} s), {} firing (close after {} s at {}/s); \
         `omnibus serve timers` alone, SQLite",
        args.armed,
        args.armed_close_seconds,
        args.firing,
        args.firing_close_seconds,
        args.firing_rate
    ));
    let system = TimersSystem::start(binary).await?;
    let mut figures = arm(&system, args).await?;
    figures.extend(fire(&system, args).await?);
    Ok(figures)
}

/// Arms `args.armed` timers; reports the arm rate and the memory held.
async fn arm(system: &TimersSystem, args: &Args) -> anyhow::Result<Vec<Figure>> {
    let channel = system.channel(args.armed_close_seconds).await?;
    system.wait_armed("idle", |armed| armed == 0.0).await?;
    let idle_rss = system.server_proc.memory_mib("VmRSS");
    let events: Vec<Event> = (0..args.armed as i64)
        .map(|i| {
            let text = format!("Hello, I ordered a blue kettle (#{i}) and got a red one.");
            events::inbound(&channel, 1 + i, FIRST_CHAT + i, &text)
        })
        .collect();

    let cpu_start = system.cpu();
    let started = Instant::now();
    events::publish(&system.bus, &events).await?;
    let published = started.elapsed();
    let target = args.armed as f64;
    let polls = system.wait_armed("arming", |armed| armed >= target).await?;
    let armed_in = started.elapsed();
    let cpu = cpu_start.until(&system.cpu());
    let rate = target / armed_in.as_secs_f64();
    let (rss, hwm) = (
        system.server_proc.memory_mib("VmRSS"),
        system.server_proc.memory_mib("VmHWM"),
    );

    report::line(
        "published (pipelined, ≤256 acks)",
        format!(
            "{} MessageReceived in {:.2} s ({:.0}/s)",
            args.armed,
            published.as_secs_f64(),
            target / published.as_secs_f64()
        ),
    );
    report::line(
        "armed (gauge reached the count)",
        format!(
            "{rate:.0} timers/s: {} in {:.2} s ({polls} polls)",
            args.armed,
            armed_in.as_secs_f64()
        ),
    );
    report::line("CPU while arming", &cpu);
    report::line("  server threads (cores)", cpu.server_threads());
    report::line(
        "server memory",
        format!(
            "idle VmRSS {idle_rss:.1} MiB; with {} armed VmRSS {rss:.1} MiB, VmHWM {hwm:.1} MiB",
            args.armed
        ),
    );
    report::line(
        "  per armed timer (VmRSS growth)",
        format!(
            "{:.0} bytes",
            (rss - idle_rss) * 1024.0 * 1024.0 / target.max(1.0)
        ),
    );
    let n = report::thousands(args.armed as u64);
    Ok(vec![
        Figure::new(format!("timers armed ({n})"), rate, Unit::PerSecond),
        Figure::new(format!("timers VmRSS, {n} armed"), rss, Unit::MiB),
        Figure::new(format!("timers VmHWM, {n} armed"), hwm, Unit::MiB),
    ])
}

/// Fires `args.firing` closes while the others stay armed; reports lateness.
async fn fire(system: &TimersSystem, args: &Args) -> anyhow::Result<Vec<Figure>> {
    let channel = system.channel(args.firing_close_seconds).await?;
    let from_sequence = system.stream_end().await? + 1;
    let period = Duration::from_secs(1) / args.firing_rate.max(1);
    let cpu_start = system.cpu();
    let started = Instant::now();
    let mut ticks = crate::latency::ticker(args.firing, period);
    let mut acks = Vec::with_capacity(args.firing);
    while let Some((k, _)) = ticks.recv().await {
        let i = k as i64;
        let text = format!("Is anyone there? (#{i})");
        // Built at its tick: the deadline counts from the recording time.
        let event = events::inbound(&channel, 1 + i, FIRST_FIRING_CHAT + i, &text);
        let subject = events::subject(&system.bus, &event);
        acks.push(system.bus.send(subject, &event).await?);
    }
    for ack in acks {
        ack.await?;
    }
    let published = started.elapsed();
    // Once the last close fell due, every fired close has come back to the
    // projection, which disarmed it, when the gauge is down to the others.
    tokio::time::sleep(Duration::from_secs(args.firing_close_seconds.into())).await;
    let base = args.armed as f64;
    system.wait_armed("firing", |armed| armed <= base).await?;
    let fired_in = started.elapsed();
    let cpu = cpu_start.until(&system.cpu());
    let still_armed = system.armed().await;

    let closes = read_closes(system, from_sequence).await?;
    let mut lateness = report::histogram();
    let mut conversations = HashSet::new();
    for event in &closes {
        let late_ms = (event.recorded_at_ms - event.occurred_at_ms).max(0);
        lateness.saturating_record((late_ms as u64 * 1000).max(1));
        conversations.insert(event.conversation_id.clone());
    }
    report::line(
        "customer messages (paced)",
        format!(
            "{} in {:.2} s; all closed {:.2} s after the first",
            args.firing,
            published.as_secs_f64(),
            fired_in.as_secs_f64()
        ),
    );
    report::line(
        "fired closes on the stream",
        format!(
            "{} events, {} distinct conversations, {} expected",
            closes.len(),
            conversations.len(),
            args.firing
        ),
    );
    report::line(
        "firing lateness (ms resolution)",
        report::latencies(&lateness),
    );
    report::line("CPU while firing", &cpu);
    report::line("  server threads (cores)", cpu.server_threads());
    report::line(
        "armed after firing",
        format!("{still_armed} (the long-lived ones stay armed)"),
    );
    anyhow::ensure!(
        closes.len() == args.firing && conversations.len() == args.firing,
        "expected each of {} conversations to close exactly once",
        args.firing
    );
    anyhow::ensure!(still_armed >= base, "long-lived timers fired or vanished");
    Ok(vec![
        Figure::new(
            "timer lateness p50",
            report::quantile_ms(&lateness, 0.5),
            Unit::Millis,
        ),
        Figure::new(
            "timer lateness p99",
            report::quantile_ms(&lateness, 0.99),
            Unit::Millis,
        )
        .target(Target::Below(200.0)),
    ])
}

/// The inactivity closes on the stream from `from_sequence` to its end.
async fn read_closes(system: &TimersSystem, from_sequence: u64) -> anyhow::Result<Vec<Event>> {
    let end = system.stream_end().await?;
    let stream = system
        .bus
        .jetstream()
        .get_stream(system.bus.stream_name())
        .await?;
    let consumer = stream
        .create_consumer(pull::Config {
            filter_subject: format!("{}.conv.>", system.bus.stream_name().to_lowercase()),
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: from_sequence,
            },
            ack_policy: AckPolicy::None,
            inactive_threshold: Duration::from_secs(60),
            ..Default::default()
        })
        .await?;
    let mut messages = consumer.messages().await?;
    let mut closes = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(5), messages.next()).await;
        let Ok(Some(message)) = next else {
            break;
        };
        let message = message.map_err(|e| anyhow::anyhow!(e))?;
        let info = message.info().map_err(|e| anyhow::anyhow!(e))?;
        let sequence = info.stream_sequence;
        let pending = info.pending;
        let event = Event::decode(message.payload.clone())?;
        if let Some(Payload::ConversationClosed(closed)) = &event.payload
            && closed.reason == CloseReason::Inactivity as i32
            && event.id.starts_with("timer:close:")
        {
            closes.push(event);
        }
        if sequence >= end || pending == 0 {
            break;
        }
    }
    Ok(closes)
}
