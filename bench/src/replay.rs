//! `replay`: how fast the conversations projection rebuilds from the stream.
//! Realistic `MessageReceived` events (real Telegram updates through the real
//! normalizer) are published pipelined, like limits.md B; then the projection
//! starts on an empty database, in this process, and is timed until its
//! `applied()` watch reaches the last sequence.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use omnibus_bus::{Bus, BusConfig};
use omnibus_conversations::{Config, Conversations};
use omnibus_proto::Event;
use omnibus_store::Store;
use omnibus_testkit::{ENV_TEST_POSTGRES_URL, NatsServer, TestDatabase};
use prost::Message as _;
use tokio_util::sync::CancellationToken;

use crate::procs::{CpuSample, Proc};
use crate::report::{self, Figure, Target, Unit};

/// Longest a replay may take before the benchmark gives up.
const REPLAY_DEADLINE: Duration = Duration::from_secs(300);
/// testkit's default admin URL, probed before asking it for a database
/// (`TestDatabase::postgres` panics when the server does not answer).
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// What to replay.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Events on the stream.
    #[arg(long, default_value_t = 100_000)]
    pub events: usize,
    /// Conversations they belong to.
    #[arg(long, default_value_t = 1_000)]
    pub chats: usize,
    /// Skip the PostgreSQL replay.
    #[arg(long)]
    pub no_postgres: bool,
}

pub async fn run(args: &Args) -> anyhow::Result<Vec<Figure>> {
    report::heading(&format!(
        "replay: {} MessageReceived events over {} conversations",
        args.events, args.chats
    ));
    let nats = NatsServer::start().await;
    let nats_proc = Proc::child_named("nats-server")?;
    let bus = Bus::connect(&BusConfig {
        nats_url: nats.url(),
        ..BusConfig::default()
    })
    .await?;
    let events = build_events(args.events, args.chats);
    let bytes: usize = events.iter().map(|e| e.encoded_len()).sum();
    report::line(
        "event size (protobuf)",
        format!("{} bytes on average", bytes / events.len()),
    );

    let started = Instant::now();
    let last_sequence = crate::events::publish(&bus, &events).await?;
    let publish_rate = events.len() as f64 / started.elapsed().as_secs_f64();
    report::line(
        "published (pipelined, ≤256 acks)",
        format!("{publish_rate:.0}/s"),
    );
    let mut figures = vec![
        Figure::new("stream publish, pipelined", publish_rate, Unit::PerSecond)
            .ceiling(report::B_PUBLISH),
    ];

    let sqlite = TestDatabase::sqlite();
    let rate = replay(
        &bus,
        &sqlite,
        last_sequence,
        args.events,
        nats_proc,
        "SQLite",
    )
    .await?;
    figures.push(
        Figure::new("replay into SQLite", rate, Unit::PerSecond)
            .target(Target::AtLeast(20_000.0))
            .ceiling(report::C_CONSUME),
    );
    if args.no_postgres {
        report::line("replay into PostgreSQL", "skipped (--no-postgres)");
    } else if let Err(why) = postgres_answers().await {
        report::line("replay into PostgreSQL", format!("skipped: {why}"));
    } else {
        let postgres = TestDatabase::postgres().await;
        let rate = replay(
            &bus,
            &postgres,
            last_sequence,
            args.events,
            nats_proc,
            "PostgreSQL",
        )
        .await?;
        figures.push(
            Figure::new("replay into PostgreSQL", rate, Unit::PerSecond)
                .target(Target::AtLeast(20_000.0))
                .ceiling(report::C_CONSUME),
        );
    }
    Ok(figures)
}

/// `count` inbound text messages, each a Telegram update parsed and
/// normalized exactly as the webhook does.
fn build_events(count: usize, chats: usize) -> Vec<Event> {
    let channel_id = omnibus_core::ids::random_id("ch_");
    (1..=count as i64)
        .map(|id| {
            let chat = 700_000_000 + id % chats as i64;
            let text = format!("Hi, order #{id} arrived damaged, can I get a replacement?");
            crate::events::inbound(&channel_id, id, chat, &text)
        })
        .collect()
}

/// Starts the projection on the empty `db` and waits until it has applied
/// `last_sequence`; returns events per second.
async fn replay(
    bus: &Bus,
    db: &TestDatabase,
    last_sequence: u64,
    events: usize,
    nats: Proc,
    backend: &str,
) -> anyhow::Result<f64> {
    let store = Store::connect(db.url()).await?;
    let shutdown = CancellationToken::new();
    // No server process: the projection runs in this one.
    let cpu_start = CpuSample::take(None, nats);
    let started = Instant::now();
    let conversations = Conversations::start(
        Config::default(),
        bus.clone(),
        store.clone(),
        shutdown.clone(),
    )
    .await?;
    let mut applied = conversations.applied();
    tokio::time::timeout(REPLAY_DEADLINE, applied.wait_for(|s| *s >= last_sequence))
        .await
        .with_context(|| format!("{backend} replay took longer than {REPLAY_DEADLINE:?}"))??;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_start.until(&CpuSample::take(None, nats));
    shutdown.cancel();
    conversations.stopped().await;

    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM conv_messages")
        .fetch_one(store.pool())
        .await?;
    store.close().await;
    let rate = events as f64 / elapsed;
    report::line(
        &format!("replay into {backend}"),
        format!("{rate:.0} events/s in {elapsed:.2} s, {stored} messages stored"),
    );
    report::line(
        "  CPU (cores)",
        format!(
            "bench {:.2} + nats-server {:.2} + others {:.2}; stolen by the host {:.2}; iowait {:.2}",
            cpu.bench,
            cpu.nats,
            cpu.others(),
            cpu.machine_steal,
            cpu.machine_iowait
        ),
    );
    report::line("  bench threads (cores)", cpu.server_threads());
    anyhow::ensure!(
        stored as usize == events,
        "{backend}: expected {events} messages"
    );
    Ok(rate)
}

/// Whether testkit's PostgreSQL server accepts a connection within 3 s.
async fn postgres_answers() -> anyhow::Result<()> {
    use sqlx::Connection as _;
    let url = std::env::var(ENV_TEST_POSTGRES_URL)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned());
    let connect = sqlx::PgConnection::connect(&url);
    let conn = tokio::time::timeout(Duration::from_secs(3), connect)
        .await
        .with_context(|| format!("no answer from {url} within 3 s"))?
        .with_context(|| format!("cannot connect to {url}"))?;
    conn.close().await?;
    Ok(())
}
