//! `omnibus-bench`: load benchmarks of Omnibus that print throughput and
//! latency figures next to the bare-stack ceilings of
//! `/work/shared/design/limits.md`. It is a measuring tool, not a test: it
//! asserts only that nothing was lost, and marks missed targets in the report.
//!
//! Run it in release mode (`make bench`). The HTTP benchmarks start the
//! `omnibus-under-test` binary as a child process against a real nats-server
//! and SQLite; the replay benchmark runs the projection in this process.
//!
//! # Layout
//! - [`webhooks`], [`latency`], [`send`], [`replay`], [`timers`], [`notifications`], [`window`],
//!   [`stalled`] — one benchmark each
//! - [`system`] — the system under test and its clients
//! - [`events`] — events published straight onto the stream
//! - [`procs`] — CPU and memory from `/proc`
//! - [`ceiling`] — the bare stack (E, C), measured in the same run
//! - [`report`] — figures, targets, ceilings and the summary table

mod ceiling;
mod events;
mod latency;
mod notifications;
mod procs;
mod replay;
mod report;
mod send;
mod stalled;
mod stalls;
mod system;
mod timers;
mod webhooks;
mod window;

use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(about = "Omnibus load benchmarks (run with --release)")]
struct Cli {
    /// The server binary; default: omnibus-under-test next to this executable.
    #[arg(long, global = true, env = "OMNIBUS_BENCH_SERVER_BIN")]
    server_bin: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Closed-loop webhook throughput until every message is visible.
    Webhooks(webhooks::Args),
    /// Open-loop webhook latency at a fixed rate.
    Latency(latency::Args),
    /// SendMessage (free text, Telegram) latency at a fixed rate.
    Send(send::Args),
    /// Projection rebuild speed from the stream, SQLite and PostgreSQL.
    Replay(replay::Args),
    /// 100,000 armed timers: arm rate, memory, firing lateness.
    Timers(timers::Args),
    /// Webhook → operator notification latency with many subscribers.
    Notifications(notifications::Args),
    /// The 24-hour window check that SendMessage waits for on WhatsApp.
    Window(window::Args),
    /// Honest webhooks while stalled connections hold the listener.
    Stalled(stalled::Args),
    /// The bare stack alone: E (axum → JetStream publish → ack) and C
    /// (durable pull consumer over 100,000 messages).
    Ceiling(webhooks::Args),
    /// The issue-15 figures beside E and C of the same run, then one table.
    Projections,
    /// All of the above with their defaults, then one summary table.
    All,
    /// Internal: serves E for the `ceiling` measurement.
    #[command(hide = true)]
    CeilingE(ceiling::ServeArgs),
}

/// Two workers for two cores: the client shares the machine with the server
/// and nats-server, as wrk did in limits.md.
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::CeilingE(args) = &cli.command {
        return ceiling::serve(args).await;
    }
    let started = Instant::now();
    println!("omnibus-bench");
    report::line("machine", procs::machine());
    report::line("nats-server", procs::nats_version());
    let busy = procs::busy_cores(std::time::Duration::from_millis(500));
    report::line("busy before start", format!("{busy:.2} cores"));
    if busy > 0.2 {
        println!("  WARNING: something else is using the CPU; the figures will be low");
    }
    if cfg!(debug_assertions) {
        println!("  WARNING: a debug build of the bench client; use --release");
    }
    let figures = match cli.command {
        Command::Webhooks(args) => {
            let ceilings = ceiling::measure(
                system::updates(1, args.updates, args.chats),
                args.connections,
            )
            .await?;
            webhooks::run(&system::server_binary(cli.server_bin)?, &args, &ceilings).await?
        }
        Command::Ceiling(args) => ceiling::run(&args).await?,
        Command::Projections => projections(&system::server_binary(cli.server_bin)?).await?,
        Command::CeilingE(_) => unreachable!("served above"),
        Command::Latency(args) => {
            latency::run(&system::server_binary(cli.server_bin)?, &args).await?
        }
        Command::Send(args) => send::run(&system::server_binary(cli.server_bin)?, &args).await?,
        Command::Replay(args) => replay::run(&args).await?,
        Command::Timers(args) => {
            timers::run(&system::server_binary(cli.server_bin)?, &args).await?
        }
        Command::Notifications(args) => {
            notifications::run(&system::server_binary(cli.server_bin)?, &args).await?
        }
        Command::Window(args) => {
            window::run(&system::server_binary(cli.server_bin)?, &args).await?
        }
        Command::Stalled(args) => {
            stalled::run(&system::server_binary(cli.server_bin)?, &args).await?
        }
        Command::All => {
            let binary = system::server_binary(cli.server_bin)?;
            let mut figures = projections(&binary).await?;
            figures.extend(latency::run(&binary, &defaults::<latency::Args>()).await?);
            figures.extend(replay::run(&defaults::<replay::Args>()).await?);
            figures.extend(timers::run(&binary, &defaults::<timers::Args>()).await?);
            figures.extend(window::run(&binary, &defaults::<window::Args>()).await?);
            figures.extend(stalled::run(&binary, &defaults::<stalled::Args>()).await?);
            figures
        }
    };
    report::summary(&figures);
    println!("\n  total time {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The figures of issue 15, each beside E and C measured in the same run:
/// 65,000 updates over 50 chats (then a restart on an empty database), 5,000
/// returning chats with a new customer every other update, notification
/// latency and SendMessage latency, on SQLite and on PostgreSQL.
async fn projections(binary: &std::path::Path) -> anyhow::Result<Vec<report::Figure>> {
    let fifty = webhooks::Args {
        restart: true,
        ..webhooks::Args::load(50, 65_000)
    };
    let bodies = system::updates(1, fifty.updates, fifty.chats);
    let ceilings = ceiling::measure(bodies, fifty.connections).await?;
    let mut figures = vec![
        report::Figure::new("E (bare stack)", ceilings.e.value, report::Unit::PerSecond),
        report::Figure::new("C (bare stack)", ceilings.c.value, report::Unit::PerSecond),
    ];
    let returning = webhooks::Args {
        new_customers: true,
        ..webhooks::Args::load(5_000, 30_000)
    };
    for postgres in [false, true] {
        for load in [&fifty, &returning] {
            let args = webhooks::Args {
                postgres,
                ..load.clone()
            };
            figures.extend(webhooks::run(binary, &args, &ceilings).await?);
        }
        let notifications = notifications::Args {
            postgres,
            ..defaults::<notifications::Args>()
        };
        figures.extend(notifications::run(binary, &notifications).await?);
        let send = send::Args {
            postgres,
            ..defaults::<send::Args>()
        };
        figures.extend(send::run(binary, &send).await?);
    }
    Ok(figures)
}

/// A subcommand's arguments with every default, as clap would parse them.
fn defaults<A: clap::Args + clap::FromArgMatches>() -> A {
    let command = A::augment_args(clap::Command::new("defaults"));
    let matches = command.get_matches_from(["defaults"]);
    A::from_arg_matches(&matches).expect("every argument has a default")
}
