//! `stalled`: honest webhooks while attackers hold the listener (issue 11).
//! Each attacker opens a connection, sends the headers of a webhook POST
//! (without the channel's secret) and most of a ~1 MiB body, then stalls.
//! Measured: the server's memory before, during and after the attack, the
//! latency of honest webhooks sent meanwhile (open loop, from the scheduled
//! time), and when the server closed the attackers' connections.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::latency::paced;
use crate::report::{self, Figure, Unit};
use crate::system::{self, System};

/// The attack and the honest traffic.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Attacking connections.
    #[arg(long, default_value_t = 300)]
    pub connections: usize,
    /// Body bytes each attacker sends (of the 1 MiB it announces) before stalling.
    #[arg(long, default_value_t = 1_000_000)]
    pub bytes: usize,
    /// Honest webhooks per second during the attack.
    #[arg(long, default_value_t = 20)]
    pub rate: u32,
    /// Seconds of honest traffic, from when every attacker has stalled.
    #[arg(long, default_value_t = 10)]
    pub seconds: u32,
    /// The server's `OMNIBUS_HTTP_MAX_CONNECTIONS` (its default when unset).
    #[arg(long)]
    pub max_connections: Option<usize>,
}

/// What became of one attacker: how long the server kept it open.
type Closed = Option<Duration>;

pub async fn run(binary: &Path, args: &Args) -> anyhow::Result<Vec<Figure>> {
    report::heading(&format!(
        "stalled: {} connections × {} body bytes stalled, honest webhooks at {}/s for {} s",
        args.connections, args.bytes, args.rate, args.seconds
    ));
    let mut env = Vec::new();
    if let Some(max) = args.max_connections {
        env.push(("OMNIBUS_HTTP_MAX_CONNECTIONS", max.to_string()));
    }
    let system = Arc::new(System::start_with(binary, false, &env).await?);
    let rss = |s: &System| s.server_proc.memory_mib("VmRSS");
    let before = rss(&system);

    let stalled = Arc::new(AtomicUsize::new(0));
    let attack_started = Instant::now();
    let attackers: Vec<_> = (0..args.connections)
        .map(|_| tokio::spawn(attack(system.clone(), args.bytes, stalled.clone())))
        .collect();
    let all_stalled = wait_for(|| stalled.load(Ordering::Relaxed) >= args.connections, 60).await;
    report::line(
        "attackers stalled",
        format!(
            "{} of {} after {:.1} s{}",
            stalled.load(Ordering::Relaxed),
            args.connections,
            attack_started.elapsed().as_secs_f64(),
            if all_stalled {
                ""
            } else {
                " (the rest wait to be accepted)"
            }
        ),
    );

    let peak = Arc::new(std::sync::Mutex::new(rss(&system)));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = tokio::spawn(sample_peak(system.clone(), peak.clone(), sampling.clone()));
    let count = (args.rate * args.seconds) as usize;
    let bodies = system::updates(1, count, 100);
    let client = system::http_client(64);
    let outcomes = paced(&system, &client, bodies, Duration::from_secs(1) / args.rate).await;
    let during = rss(&system);

    let mut closed: Vec<Closed> = Vec::new();
    for attacker in attackers {
        closed.push(attacker.await.unwrap_or(None));
    }
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    let after = rss(&system);
    let peak = *peak.lock().unwrap();

    let (mut latency, mut failed) = (report::histogram(), 0);
    for (from_schedule, _, ok) in &outcomes {
        report::record(&mut latency, *from_schedule);
        failed += usize::from(!ok);
    }
    let mut kept: Vec<f64> = closed.iter().flatten().map(Duration::as_secs_f64).collect();
    kept.sort_by(f64::total_cmp);
    let median_kept = kept.get(kept.len() / 2).copied().unwrap_or(f64::NAN);
    report::line(
        "server RSS",
        format!(
            "before {before:.0} MiB, peak {peak:.0} MiB, end of honest traffic {during:.0} MiB, after the attack {after:.0} MiB"
        ),
    );
    report::line(
        "honest webhooks / failed",
        format!("{} / {failed}", outcomes.len()),
    );
    report::line(
        "honest latency from scheduled time",
        report::latencies(&latency),
    );
    report::line(
        "attackers closed by the server",
        format!(
            "{} of {}, median after {median_kept:.1} s, last after {:.1} s",
            kept.len(),
            closed.len(),
            kept.last().copied().unwrap_or(f64::NAN)
        ),
    );
    Ok(vec![
        Figure::new("stalled attack: server RSS peak", peak, Unit::MiB),
        Figure::new(
            "stalled attack: server RSS growth",
            peak - before,
            Unit::MiB,
        ),
        Figure::new("stalled attack: server RSS after", after, Unit::MiB),
        Figure::new(
            "stalled attack: honest webhook p50",
            report::quantile_ms(&latency, 0.5),
            Unit::Millis,
        ),
        Figure::new(
            "stalled attack: honest webhook p99",
            report::quantile_ms(&latency, 0.99),
            Unit::Millis,
        ),
    ])
}

/// One attacker: headers, most of the body, then nothing; returns how long
/// the server kept the connection (`None`: still open after 120 s).
async fn attack(system: Arc<System>, bytes: usize, stalled: Arc<AtomicUsize>) -> Closed {
    let address = system.http_url.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(address).await.ok()?;
    let head = format!(
        "POST /webhooks/telegram/{} HTTP/1.1\r\nhost: omnibus\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        system.channel_id,
        1024 * 1024
    );
    let started = Instant::now();
    let mut body = vec![b' '; bytes];
    body[0] = b'{';
    let sent = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await
    };
    let ok = tokio::time::timeout(Duration::from_secs(60), sent)
        .await
        .is_ok_and(|r| r.is_ok());
    stalled.fetch_add(1, Ordering::Relaxed);
    if !ok {
        return Some(started.elapsed());
    }
    let mut buf = [0u8; 1024];
    let until_closed = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(120), until_closed)
        .await
        .ok()
}

async fn sample_peak(
    system: Arc<System>,
    peak: Arc<std::sync::Mutex<f64>>,
    sampling: Arc<AtomicBool>,
) {
    while sampling.load(Ordering::Relaxed) {
        let now = system.server_proc.memory_mib("VmRSS");
        {
            let mut max = peak.lock().unwrap();
            *max = max.max(now);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Polls `done` every 50 ms for up to `seconds`; true when it became true.
async fn wait_for(done: impl Fn() -> bool, seconds: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}
