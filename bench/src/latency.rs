//! `latency`: open-loop webhooks at a fixed rate. Requests are sent on a
//! schedule, each in its own task, whether or not earlier ones have answered,
//! and latency is measured from the *scheduled* send time: a stalled server
//! (or a late client timer) then shows up as latency instead of silently
//! lowering the offered rate (coordinated omission).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::report::{self, Figure, Target, Unit};
use crate::system::{self, System};

/// What to send.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Offered webhooks per second.
    #[arg(long, default_value_t = 1_000)]
    pub rate: u32,
    /// Measured seconds.
    #[arg(long, default_value_t = 10)]
    pub seconds: u32,
    /// Unmeasured seconds at the same rate first.
    #[arg(long, default_value_t = 1)]
    pub warmup_seconds: u32,
    /// Distinct Telegram chats.
    #[arg(long, default_value_t = 1_000)]
    pub chats: usize,
}

/// One request's outcome: from its scheduled time, from its actual send, success.
type Outcome = (Duration, Duration, bool);

pub async fn run(binary: &Path, args: &Args) -> anyhow::Result<Vec<Figure>> {
    report::heading(&format!(
        "latency: open loop at {}/s for {} s (after {} s warm-up)",
        args.rate, args.seconds, args.warmup_seconds
    ));
    let system = Arc::new(System::start(binary).await?);
    let client = system::http_client(256);
    let warmup_count = (args.rate * args.warmup_seconds) as usize;
    let count = (args.rate * args.seconds) as usize;
    let warmup = system::updates(1, warmup_count, args.chats);
    let bodies = system::updates(1 + warmup_count as i64, count, args.chats);
    let period = Duration::from_secs(1) / args.rate;

    paced(&system, &client, warmup, period).await;
    let cpu_start = system.cpu();
    let started = Instant::now();
    let outcomes = paced(&system, &client, bodies, period).await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_start.until(&system.cpu());

    let (mut scheduled, mut service, mut failed) = (report::histogram(), report::histogram(), 0);
    for (from_schedule, from_send, ok) in outcomes {
        report::record(&mut scheduled, from_schedule);
        report::record(&mut service, from_send);
        failed += usize::from(!ok);
    }
    report::line("requests / failed", format!("{count} / {failed}"));
    report::line(
        "offered rate achieved",
        format!("{:.0}/s", count as f64 / elapsed),
    );
    report::line("latency from scheduled time", report::latencies(&scheduled));
    report::line("latency from actual send", report::latencies(&service));
    report::line("CPU", &cpu);
    report::line("server threads (cores)", cpu.server_threads());
    report::line(
        "server memory",
        format!(
            "VmHWM (peak) {:.1} MiB",
            system.server_proc.memory_mib("VmHWM")
        ),
    );

    let quantile = |q| report::quantile_ms(&scheduled, q);
    let rate = args.rate;
    Ok(vec![
        Figure::new(
            format!("webhook p50, open loop {rate}/s"),
            quantile(0.5),
            Unit::Millis,
        ),
        Figure::new(
            format!("webhook p99, open loop {rate}/s"),
            quantile(0.99),
            Unit::Millis,
        )
        .target(Target::Below(25.0)),
        Figure::new(
            format!("webhook p99.9, open loop {rate}/s"),
            quantile(0.999),
            Unit::Millis,
        ),
    ])
}

/// Sends body `k` at `start + k × period`, never waiting for answers.
pub(crate) async fn paced(
    system: &Arc<System>,
    client: &reqwest::Client,
    bodies: Arc<Vec<Bytes>>,
    period: Duration,
) -> Vec<Outcome> {
    let mut ticks = ticker(bodies.len(), period);
    let mut requests = tokio::task::JoinSet::new();
    while let Some((k, due)) = ticks.recv().await {
        let (system, client, body) = (system.clone(), client.clone(), bodies[k].clone());
        requests.spawn(async move {
            let sent = Instant::now();
            let ok = system.post(&client, body).await;
            let done = Instant::now();
            (done - due, done - sent, ok)
        });
    }
    requests.join_all().await
}

/// Yields `(k, due time)` at each due time, from a plain thread: tokio's
/// timer has 1 ms resolution, which alone would add up to 1 ms to every
/// latency measured from the schedule; `thread::sleep` wakes within ~0.1 ms.
pub(crate) fn ticker(count: usize, period: Duration) -> mpsc::UnboundedReceiver<(usize, Instant)> {
    let (ticks, receiver) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let start = Instant::now();
        for k in 0..count {
            let due = start + period * k as u32;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            if ticks.send((k, due)).is_err() {
                return;
            }
        }
    });
    receiver
}
