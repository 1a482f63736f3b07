//! `webhooks`: closed-loop throughput. A fixed number of connections post
//! Telegram updates back to back, like wrk -c64 in limits.md E′, and the run
//! ends when every message is visible through the gRPC API.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;

use crate::report::{self, Figure, Target, Unit};
use crate::system::{self, System};

/// How long the projection may lag behind the last answered webhook.
const VISIBLE_DEADLINE: Duration = Duration::from_secs(120);
/// Between polls of `ListConversations`; each poll costs the server a query
/// over every conversation, so polling faster would slow what it measures.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// What to send.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Updates in the measured run.
    #[arg(long, default_value_t = 30_000)]
    pub updates: usize,
    /// Distinct Telegram chats (conversations) they are spread over.
    #[arg(long, default_value_t = 1_000)]
    pub chats: usize,
    /// Concurrent HTTP/1.1 keep-alive connections.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Updates sent first, unmeasured: opens connections, warms caches.
    #[arg(long, default_value_t = 2_000)]
    pub warmup: usize,
    /// The projection store: PostgreSQL (testkit's server) instead of SQLite.
    #[arg(long)]
    pub postgres: bool,
}

pub async fn run(binary: &Path, args: &Args) -> anyhow::Result<Vec<Figure>> {
    let store = if args.postgres {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    report::heading(&format!(
        "webhooks: {} Telegram updates over {} chats, {} connections (closed loop), {store}",
        args.updates, args.chats, args.connections
    ));
    let system = Arc::new(System::start_on(binary, args.postgres).await?);
    let client = system::http_client(args.connections);

    let warmup = system::updates(1, args.warmup, args.chats);
    let (_, warmup_failed) = blast(&system, &client, warmup, args.connections).await;
    let warmed = (args.warmup - warmup_failed) as u64;
    wait_visible(&system, warmed).await?;

    let bodies = system::updates(1 + args.warmup as i64, args.updates, args.chats);
    let cpu_start = system.cpu();
    let start = Instant::now();
    let (histogram, failed) = blast(&system, &client, bodies, args.connections).await;
    let http_elapsed = start.elapsed();
    let cpu_http = system.cpu();
    // A failed request may or may not have been stored; wait for the rest.
    let expected = warmed + (args.updates - failed) as u64;
    let polls = wait_visible(&system, expected).await?;
    let visible_elapsed = start.elapsed();
    let cpu_visible = system.cpu();

    let accepted = (args.updates - failed) as f64 / http_elapsed.as_secs_f64();
    let end_to_end = args.updates as f64 / visible_elapsed.as_secs_f64();
    let peak_rss = system.server_proc.memory_mib("VmHWM");
    report::line(
        "answered 200 / failed",
        format!("{} / {failed}", args.updates - failed),
    );
    report::line(
        "accepted over HTTP",
        format!("{:.0}/s in {:.2} s", accepted, http_elapsed.as_secs_f64()),
    );
    report::line(
        "end to end (first POST → all visible)",
        format!(
            "{end_to_end:.0}/s in {:.2} s ({polls} polls)",
            visible_elapsed.as_secs_f64()
        ),
    );
    report::line("webhook latency", report::latencies(&histogram));
    let (posting, catching_up) = (cpu_start.until(&cpu_http), cpu_http.until(&cpu_visible));
    report::line("CPU while posting", &posting);
    report::line("  server threads (cores)", posting.server_threads());
    report::line("CPU after posting, until visible", &catching_up);
    report::line("  server threads (cores)", catching_up.server_threads());
    report::line(
        "server memory",
        format!(
            "VmRSS {:.1} MiB, VmHWM (peak) {peak_rss:.1} MiB",
            system.server_proc.memory_mib("VmRSS")
        ),
    );
    report::line(
        "nats-server memory",
        format!("VmHWM {:.1} MiB", system.nats_proc.memory_mib("VmHWM")),
    );
    let counted = system.count_messages().await? as u64;
    let sent = (args.warmup + args.updates) as u64;
    report::line(
        "check: ListMessages, all conversations",
        format!("{counted} messages (answered {expected}, sent {sent})"),
    );
    anyhow::ensure!(
        (expected..=sent).contains(&counted),
        "messages missing or doubled"
    );

    Ok(vec![
        Figure::new("webhooks accepted (HTTP 200)", accepted, Unit::PerSecond)
            .ceiling(report::E_PRIME_RATE),
        Figure::new(
            format!("webhooks end to end (visible), {store}"),
            end_to_end,
            Unit::PerSecond,
        )
        .target(Target::AtLeast(3_000.0))
        .ceiling(report::E_PRIME_RATE),
        Figure::new(
            "webhook p50, closed loop",
            report::quantile_ms(&histogram, 0.5),
            Unit::Millis,
        )
        .ceiling(report::E_PRIME_P50),
        Figure::new(
            "webhook p99, closed loop",
            report::quantile_ms(&histogram, 0.99),
            Unit::Millis,
        )
        .ceiling(report::E_PRIME_P99),
        Figure::new("server peak RSS (VmHWM)", peak_rss, Unit::MiB).target(Target::Below(200.0)),
    ])
}

/// Posts every body over `connections` concurrent loops; returns the
/// latency histogram (µs) and the number of requests not answered 2xx.
async fn blast(
    system: &Arc<System>,
    client: &reqwest::Client,
    bodies: Arc<Vec<Bytes>>,
    connections: usize,
) -> (Histogram<u64>, usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut loops = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (system, client, bodies, next) =
            (system.clone(), client.clone(), bodies.clone(), next.clone());
        loops.spawn(async move {
            let (mut histogram, mut failed) = (report::histogram(), 0);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else {
                    return (histogram, failed);
                };
                let sent = Instant::now();
                if !system.post(&client, body.clone()).await {
                    failed += 1;
                }
                report::record(&mut histogram, sent.elapsed());
            }
        });
    }
    let (mut all, mut failed) = (report::histogram(), 0);
    while let Some(result) = loops.join_next().await {
        let (histogram, failures) = result.expect("a load loop panicked");
        all.add(histogram).expect("histograms share bounds");
        failed += failures;
    }
    (all, failed)
}

/// Polls until `expected` messages are visible; returns the number of polls.
async fn wait_visible(system: &System, expected: u64) -> anyhow::Result<u32> {
    let deadline = Instant::now() + VISIBLE_DEADLINE;
    let mut polls = 0;
    loop {
        polls += 1;
        let (_, visible) = system.visible().await?;
        if visible >= expected {
            return Ok(polls);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {visible} of {expected} messages visible after {VISIBLE_DEADLINE:?}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
