//! The command line of the `omnibus` binary: `omnibus serve <service>`.
//! Reads the environment, binds the listeners, runs until SIGTERM or Ctrl-C.

use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

use crate::{Listeners, ServerConfig, Service, run};

#[derive(Parser)]
#[command(
    name = "omnibus",
    version,
    about = "Omnichannel messaging backend for customer support"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs one service, or `all` of them in one process.
    Serve {
        #[arg(value_enum)]
        service: Service,
    },
}

/// The binary's entry point. Exits 64 on invalid configuration.
pub fn main() -> anyhow::Result<()> {
    let Command::Serve { service } = Cli::parse().command;
    let config = match ServerConfig::from_lookup(service, |name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("omnibus: invalid configuration: {err}");
            std::process::exit(64);
        }
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve(config))
}

async fn serve(config: ServerConfig) -> anyhow::Result<()> {
    let telemetry = omnibus_telemetry::init(&config.telemetry)?;
    let listeners = Listeners {
        http: TcpListener::bind(config.http_addr).await?,
        grpc: TcpListener::bind(config.grpc_addr).await?,
    };
    let result = run(config, listeners, shutdown_signal()).await;
    telemetry.shutdown();
    Ok(result?)
}

/// Resolves on SIGTERM (Kubernetes) or Ctrl-C.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
