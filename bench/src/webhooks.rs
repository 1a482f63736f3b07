//! `webhooks`: closed-loop throughput. A fixed number of connections post
//! Telegram updates back to back, like wrk -c64 in limits.md E′, and the run
//! ends when every message is visible through the gRPC API.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;

use crate::ceiling::Ceilings;
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
    /// Every other update from a customer who never wrote before; the rest
    /// from the `chats` returning ones.
    #[arg(long)]
    pub new_customers: bool,
    /// Then restart `serve all` on an empty database and time the rebuild
    /// until every message is visible again.
    #[arg(long)]
    pub restart: bool,
}

impl Args {
    /// The loads: `chats` returning chats, `updates` updates.
    pub fn load(chats: usize, updates: usize) -> Self {
        Self {
            chats,
            updates,
            ..crate::defaults::<Self>()
        }
    }

    fn describe(&self) -> String {
        let store = if self.postgres {
            "PostgreSQL"
        } else {
            "SQLite"
        };
        let customers = if self.new_customers {
            format!(
                "{} returning chats + a new customer every other update",
                self.chats
            )
        } else {
            format!("{} chats", self.chats)
        };
        format!("{customers}, {store}")
    }
}

pub async fn run(binary: &Path, args: &Args, ceilings: &Ceilings) -> anyhow::Result<Vec<Figure>> {
    let load = args.describe();
    report::heading(&format!(
        "webhooks: {} Telegram updates, {load}, {} connections (closed loop)",
        args.updates, args.connections
    ));
    let mut system = Arc::new(System::start_on(binary, args.postgres).await?);
    let client = system::http_client(args.connections);

    let warmup = system::updates_from(1, args.warmup, args.chats, args.new_customers);
    let (_, warmup_failed) = blast(poster(&system, &client), warmup, args.connections).await;
    let warmed = (args.warmup - warmup_failed) as u64;
    wait_visible(&system, warmed).await?;

    let first = 1 + args.warmup as i64;
    let bodies = system::updates_from(first, args.updates, args.chats, args.new_customers);
    let cpu_start = system.cpu();
    let start = Instant::now();
    let (histogram, failed) = blast(poster(&system, &client), bodies, args.connections).await;
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

    // The targets, as shares of this run's bare stack.
    let share = match (args.postgres, args.new_customers) {
        (false, false) => 0.12,
        (true, false) => 0.16,
        (false, true) => 0.06,
        (true, true) => 0.08,
    };
    let mut figures = vec![
        Figure::new(
            format!("webhooks accepted (HTTP 200), {load}"),
            accepted,
            Unit::PerSecond,
        )
        .ceiling(ceilings.e),
        Figure::new(
            format!("end to end (all visible), {load}"),
            end_to_end,
            Unit::PerSecond,
        )
        .target(Target::AtLeast(share * ceilings.e.value))
        .ceiling(ceilings.e),
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
        Figure::new(
            format!("server peak RSS (VmHWM), {load}"),
            peak_rss,
            Unit::MiB,
        )
        .target(Target::Below(100.0)),
    ];
    if args.restart {
        let system = Arc::get_mut(&mut system).expect("the load loops are done");
        figures.push(restart(system, counted, &load, ceilings).await?);
    }
    Ok(figures)
}

/// Restarts `serve all` on an empty database and times it from the new
/// process's start until all `messages` are visible again (every
/// projection rebuilt from the stream).
async fn restart(
    system: &mut System,
    messages: u64,
    load: &str,
    ceilings: &Ceilings,
) -> anyhow::Result<Figure> {
    let events = system.stream_messages().await?;
    system.stop_and_empty().await;
    let start = Instant::now();
    system.start_again().await?;
    let ready = start.elapsed();
    wait_visible(system, messages).await?;
    let elapsed = start.elapsed();
    let rate = events as f64 / elapsed.as_secs_f64();
    report::line(
        "restart on an empty database → all visible",
        format!(
            "{rate:.0} events/s ({events} events in {:.2} s, ready after {:.2} s)",
            elapsed.as_secs_f64(),
            ready.as_secs_f64()
        ),
    );
    Ok(Figure::new(
        format!("restart, empty database → all visible, {load}"),
        rate,
        Unit::PerSecond,
    )
    .target(Target::AtLeast(0.17 * ceilings.c.value))
    .ceiling(ceilings.c))
}

/// Posts through the system's webhook URL.
pub fn poster(
    system: &Arc<System>,
    client: &reqwest::Client,
) -> impl Fn(Bytes) -> futures::future::BoxFuture<'static, bool> + Clone + Send + Sync + 'static {
    let (system, client) = (system.clone(), client.clone());
    move |body| {
        let (system, client) = (system.clone(), client.clone());
        Box::pin(async move { system.post(&client, body).await })
    }
}

/// Posts every body over `connections` concurrent loops; returns the
/// latency histogram (µs) and the number of requests not answered 2xx.
pub async fn blast<P, F>(
    post: P,
    bodies: Arc<Vec<Bytes>>,
    connections: usize,
) -> (Histogram<u64>, usize)
where
    P: Fn(Bytes) -> F + Clone + Send + 'static,
    F: std::future::Future<Output = bool> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let mut loops = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (post, bodies, next) = (post.clone(), bodies.clone(), next.clone());
        loops.spawn(async move {
            let (mut histogram, mut failed) = (report::histogram(), 0);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else {
                    return (histogram, failed);
                };
                let sent = Instant::now();
                if !post(body.clone()).await {
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
