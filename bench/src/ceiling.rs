//! The bare stack, measured in the same run as Omnibus's figures so that
//! every figure has its share (issue 15; `../shared/bench-ceiling` is the
//! reference program):
//! - E: axum `POST /hook` → JetStream publish with `Nats-Msg-Id` → ack →
//!   200, served by this binary as a child process (`ceiling-e`, its own
//!   runtime and allocator, as the Omnibus server is) and loaded by the same
//!   client loop as the webhooks;
//! - C: a durable pull consumer reading and acking 100,000 stored messages.

use std::future::IntoFuture as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream::message::PublishMessage as Publish;
use async_nats::jetstream::{self, consumer, stream};
use axum::extract::State;
use axum::http::StatusCode;
use bytes::Bytes;
use futures::StreamExt as _;
use futures::stream::FuturesOrdered;

use crate::report::{self, Ceiling};

const STREAM: &str = "CEILING";

/// The bare-stack figures of this run.
#[derive(Debug, Clone, Copy)]
pub struct Ceilings {
    /// E, req/s.
    pub e: Ceiling,
    /// C, msgs/s.
    pub c: Ceiling,
}

/// Measures E (with `bodies` over `connections`, the load Omnibus gets) and
/// C (100,000 messages) on a nats-server of their own.
pub async fn measure(bodies: Arc<Vec<Bytes>>, connections: usize) -> anyhow::Result<Ceilings> {
    report::heading("bare stack (E, C), same machine, same run");
    let nats = omnibus_testkit::NatsServer::start().await;
    let e = measure_e(&nats.url(), bodies, connections).await?;
    report::line(
        "E: axum → JetStream publish (msg id) → ack",
        report::format_value(e, report::Unit::PerSecond),
    );
    let c = measure_c(&nats.url(), 100_000).await?;
    report::line(
        "C: durable pull consumer, 100,000 msgs",
        report::format_value(c, report::Unit::PerSecond),
    );
    Ok(Ceilings {
        e: Ceiling {
            label: "E",
            value: e,
        },
        c: Ceiling {
            label: "C",
            value: c,
        },
    })
}

async fn measure_e(
    nats_url: &str,
    bodies: Arc<Vec<Bytes>>,
    connections: usize,
) -> anyhow::Result<f64> {
    let port = omnibus_testkit::free_port();
    let exe = std::env::current_exe()?;
    let mut child = tokio::process::Command::new(&exe)
        .args(["ceiling-e", "--port", &port.to_string(), "--nats", nats_url])
        .kill_on_drop(true)
        .spawn()?;
    let url: Arc<str> = format!("http://127.0.0.1:{port}/hook").into();
    let client = crate::system::http_client(connections);
    wait_listening(&client, &url).await?;
    let post = {
        let (client, url) = (client.clone(), url.clone());
        move |body: Bytes| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let sent = client.post(&*url).body(body).send().await;
                sent.is_ok_and(|r| r.status().is_success())
            }
        }
    };
    let warmup = Arc::new(bodies.iter().take(2_000).cloned().collect::<Vec<_>>());
    crate::webhooks::blast(post.clone(), warmup, connections).await;
    let start = Instant::now();
    let (_, failed) = crate::webhooks::blast(post, bodies.clone(), connections).await;
    let rate = (bodies.len() - failed) as f64 / start.elapsed().as_secs_f64();
    child.kill().await?;
    anyhow::ensure!(failed == 0, "{failed} requests to E failed");
    Ok(rate)
}

async fn wait_listening(client: &reqwest::Client, url: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if client.post(url).body("{}").send().await.is_ok() {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "E did not start listening");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Publishes `count` 1 KiB messages (pipelined), then reads and acks them
/// with a durable pull consumer, fetching 500 at a time: msgs/s of the read.
async fn measure_c(nats_url: &str, count: u64) -> anyhow::Result<f64> {
    let js = jetstream::new(async_nats::connect(nats_url).await?);
    let stream = reset(&js).await?;
    let payload = Bytes::from(vec![b'x'; 1024]);
    let mut inflight = FuturesOrdered::new();
    for i in 0..count {
        if inflight.len() >= 256 {
            let _ = inflight.next().await.expect("an ack is in flight")?;
        }
        let publish = Publish::build()
            .payload(payload.clone())
            .message_id(format!("c-{i}"));
        let ack = js.send_publish("ceiling.c", publish).await?;
        inflight.push_back(ack.into_future());
    }
    while let Some(ack) = inflight.next().await {
        ack?;
    }
    let reader: consumer::PullConsumer = stream
        .create_consumer(consumer::pull::Config {
            durable_name: Some("reader".into()),
            filter_subject: "ceiling.c".into(),
            ack_policy: consumer::AckPolicy::Explicit,
            deliver_policy: consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await?;
    let start = Instant::now();
    let mut read = 0;
    while read < count {
        let mut batch = reader
            .batch()
            .max_messages(500)
            .expires(Duration::from_secs(2))
            .messages()
            .await?;
        while let Some(message) = batch.next().await {
            message
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .ack()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            read += 1;
        }
    }
    Ok(read as f64 / start.elapsed().as_secs_f64())
}

async fn reset(js: &jetstream::Context) -> anyhow::Result<stream::Stream> {
    let _ = js.delete_stream(STREAM).await;
    Ok(js
        .create_stream(stream::Config {
            name: STREAM.into(),
            subjects: vec!["ceiling.>".into()],
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await?)
}

/// `ceiling-e`: serves E until killed.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    #[arg(long)]
    port: u16,
    #[arg(long)]
    nats: String,
}

struct Hook {
    js: jetstream::Context,
    next: AtomicU64,
}

/// Serves `POST /hook` → publish with a message id → ack → 200.
pub async fn serve(args: &ServeArgs) -> anyhow::Result<()> {
    let js = jetstream::new(async_nats::connect(&args.nats).await?);
    reset(&js).await?;
    let state = Arc::new(Hook {
        js,
        next: AtomicU64::new(0),
    });
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

async fn hook(State(hook): State<Arc<Hook>>, body: Bytes) -> StatusCode {
    let id = hook.next.fetch_add(1, Ordering::Relaxed);
    let publish = Publish::build().payload(body).message_id(format!("e-{id}"));
    let Ok(ack) = hook.js.send_publish("ceiling.e", publish).await else {
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    match ack.await {
        Ok(_) => StatusCode::OK,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Runs the bare stack alone (`omnibus-bench ceiling`).
pub async fn run(args: &crate::webhooks::Args) -> anyhow::Result<Vec<report::Figure>> {
    let bodies = crate::system::updates(1, args.updates, args.chats);
    let ceilings = measure(bodies, args.connections).await?;
    Ok(vec![
        report::Figure::new("E (bare stack)", ceilings.e.value, report::Unit::PerSecond),
        report::Figure::new("C (bare stack)", ceilings.c.value, report::Unit::PerSecond),
    ])
}
