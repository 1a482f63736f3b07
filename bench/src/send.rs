//! `send`: `SendMessage` (free text, Telegram) in an open loop at a fixed
//! rate, latency from the scheduled time. The call returns once the
//! `MessageRequested` event is stored and the projection shows the message
//! (read your writes), so this is the operator's wait.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use omnibus_proto::SendMessageRequest;

use crate::latency::ticker;
use crate::report::{self, Figure, Target, Unit};
use crate::stalls;
use crate::system::System;

/// What to send.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Offered calls per second.
    #[arg(long, default_value_t = 500)]
    pub rate: u32,
    /// Measured seconds.
    #[arg(long, default_value_t = 10)]
    pub seconds: u32,
    /// Conversations the answers go to (customers who wrote first).
    #[arg(long, default_value_t = 200)]
    pub conversations: usize,
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
        "send: SendMessage at {}/s for {} s over {} conversations, {store}",
        args.rate, args.seconds, args.conversations
    ));
    let system = Arc::new(System::start_on(binary, args.postgres).await?);
    let conversations = Arc::new(system.open_conversations(args.conversations).await?);
    let count = (args.rate * args.seconds) as usize;
    let period = Duration::from_secs(1) / args.rate;
    let mut ticks = ticker(count, period);
    let mut calls = tokio::task::JoinSet::new();
    let cpu_start = system.cpu();
    let started = Instant::now();
    while let Some((k, due)) = ticks.recv().await {
        let mut api = system.api();
        let conversation_id = conversations[k % conversations.len()].clone();
        calls.spawn(async move {
            let request = SendMessageRequest {
                conversation_id,
                text: format!("Your order #{k} ships today."),
                operator_id: "op-bench".into(),
                ..SendMessageRequest::default()
            };
            let ok = api.send_message(request).await.is_ok();
            let call = stalls::Call {
                due: due.duration_since(started),
                took: due.elapsed(),
            };
            (call, ok)
        });
    }
    let outcomes = calls.join_all().await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_start.until(&system.cpu());
    let (mut latency, mut failed) = (report::histogram(), 0);
    let mut calls = Vec::with_capacity(outcomes.len());
    for (call, ok) in outcomes {
        report::record(&mut latency, call.took);
        failed += usize::from(!ok);
        calls.push(call);
    }
    report::line("calls / failed", format!("{count} / {failed}"));
    report::line(
        "offered rate achieved",
        format!("{:.0}/s", count as f64 / elapsed),
    );
    report::line("latency from scheduled time", report::latencies(&latency));
    let target = if args.postgres { 10.0 } else { 5.0 };
    report::line(
        "slow calls (due time)",
        stalls::describe(&calls, Duration::from_secs_f64(target / 1000.0)),
    );
    // A tail that other programs' CPU explains is theirs, not Omnibus's:
    // "others" is what to look at before comparing two runs' p99.
    report::line("CPU while sending", &cpu);
    anyhow::ensure!(failed == 0, "{failed} SendMessage calls failed");
    Ok(vec![
        Figure::new(
            format!("SendMessage p99, {}/s, {store}", args.rate),
            report::quantile_ms(&latency, 0.99),
            Unit::Millis,
        )
        .target(Target::Below(target)),
    ])
}
