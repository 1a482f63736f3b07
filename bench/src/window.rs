//! `window`: what the 24-hour window adds to a send. `SendMessage` on a
//! windowed channel asks the window service (`window.check`, NATS
//! request/reply) before it stores the message; the gate's own decision
//! afterwards is asynchronous and adds nothing to the call. So the added
//! latency is this round trip, measured open loop at a fixed rate against
//! the running server, for free text in an open window and for a template
//! whose parameters are validated and rendered.

use std::path::Path;
use std::time::{Duration, Instant};

use omnibus_proto::{
    ChannelKind, CreateChannelRequest, TemplateRef, TemplateStatus, UpsertTemplateRequest,
    WindowCheckReply, WindowCheckRequest, channel_service_client::ChannelServiceClient,
    template_service_client::TemplateServiceClient, window_check_reply::Outcome,
};
use omnibus_tests::whatsapp::{ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN, post_signed};
use omnibus_whatsapp_standin::StandIn;
use omnibus_whatsapp_standin::webhook::{self, Customer, PHONE_NUMBER_ID};
use prost::Message as _;

use crate::latency::ticker;
use crate::report::{self, Figure, Target, Unit};
use crate::system::System;

/// What to send.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Offered window checks per second.
    #[arg(long, default_value_t = 1_000)]
    pub rate: u32,
    /// Measured seconds.
    #[arg(long, default_value_t = 10)]
    pub seconds: u32,
}

pub async fn run(binary: &Path, args: &Args) -> anyhow::Result<Vec<Figure>> {
    report::heading(&format!(
        "window: the 24-hour window check added to SendMessage, open loop at {}/s for {} s",
        args.rate, args.seconds
    ));
    let system = System::start(binary).await?;
    let graph = StandIn::start().await;
    let channel_id = whatsapp_channel(&system.grpc_url, &graph).await?;
    approved_template(&system.grpc_url, &channel_id).await?;
    let conversation_id = customer_writes(&system, &channel_id).await?;
    let nats = async_nats::connect(system.nats_url.as_str()).await?;
    let subject = format!("_{}_rpc.window.check", "omnibus");
    let free_text = request(&conversation_id, &channel_id, None);
    let template = request(&conversation_id, &channel_id, Some(order_template()));
    wait_open(&nats, &subject, &free_text).await?;

    let period = Duration::from_secs(1) / args.rate;
    let count = (args.rate * args.seconds) as usize;
    paced(&nats, &subject, &free_text, args.rate as usize, period).await?;
    let cpu_start = system.cpu();
    let free = paced(&nats, &subject, &free_text, count, period).await?;
    let templated = paced(&nats, &subject, &template, count, period).await?;
    let cpu = cpu_start.until(&system.cpu());
    report::line("free text, window open", report::latencies(&free));
    report::line("template with 2 parameters", report::latencies(&templated));
    report::line("CPU", &cpu);
    let target = Target::Below(2.0);
    Ok(vec![
        Figure::new(
            "window check p99 (free text) at 1,000/s",
            report::quantile_ms(&free, 0.99),
            Unit::Millis,
        )
        .target(target),
        Figure::new(
            "window check p99 (template) at 1,000/s",
            report::quantile_ms(&templated, 0.99),
            Unit::Millis,
        )
        .target(target),
    ])
}

fn request(conversation_id: &str, channel_id: &str, template: Option<TemplateRef>) -> Vec<u8> {
    WindowCheckRequest {
        conversation_id: conversation_id.to_owned(),
        channel_id: channel_id.to_owned(),
        channel_kind: ChannelKind::Whatsapp as i32,
        template,
        ..Default::default()
    }
    .encode_to_vec()
}

fn order_template() -> TemplateRef {
    TemplateRef {
        name: "order_update".into(),
        parameters: vec!["Ann".into(), "#1042".into()],
        ..Default::default()
    }
}

/// `count` checks on a schedule, each in its own task; latency from the
/// scheduled time. Every answer must allow the send.
async fn paced(
    nats: &async_nats::Client,
    subject: &str,
    payload: &[u8],
    count: usize,
    period: Duration,
) -> anyhow::Result<hdrhistogram::Histogram<u64>> {
    let mut ticks = ticker(count, period);
    let mut checks = tokio::task::JoinSet::new();
    let payload = bytes::Bytes::copy_from_slice(payload);
    while let Some((_, due)) = ticks.recv().await {
        let (nats, subject, payload) = (nats.clone(), subject.to_owned(), payload.clone());
        checks.spawn(async move {
            let answer = nats.request(subject, payload).await;
            let elapsed = due.elapsed();
            let allowed = answer
                .ok()
                .and_then(|m| WindowCheckReply::decode(m.payload).ok());
            let allowed =
                allowed.is_some_and(|r| matches!(r.outcome(), Outcome::Open | Outcome::Template));
            (elapsed, allowed)
        });
    }
    let mut histogram = report::histogram();
    let mut refused = 0;
    for (elapsed, allowed) in checks.join_all().await {
        report::record(&mut histogram, elapsed);
        refused += usize::from(!allowed);
    }
    anyhow::ensure!(refused == 0, "{refused} checks did not allow the send");
    Ok(histogram)
}

async fn whatsapp_channel(grpc: &str, graph: &StandIn) -> anyhow::Result<String> {
    let credentials = [
        ("access_token", ACCESS_TOKEN),
        ("app_secret", APP_SECRET),
        ("verify_token", VERIFY_TOKEN),
        ("phone_number_id", PHONE_NUMBER_ID),
    ];
    let request = CreateChannelRequest {
        kind: ChannelKind::Whatsapp as i32,
        credentials: credentials
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        api_base_url: graph.base_url(),
        ..Default::default()
    };
    let mut channels = ChannelServiceClient::connect(grpc.to_owned()).await?;
    Ok(channels.create_channel(request).await?.into_inner().id)
}

async fn approved_template(grpc: &str, channel_id: &str) -> anyhow::Result<()> {
    let mut templates = TemplateServiceClient::connect(grpc.to_owned()).await?;
    templates
        .upsert_template(UpsertTemplateRequest {
            channel_id: channel_id.to_owned(),
            name: "order_update".into(),
            language: "en_US".into(),
            body: "Hi {{1}}, your order {{2}} is on its way.".into(),
            category: "UTILITY".into(),
            status: TemplateStatus::Approved as i32,
        })
        .await?;
    Ok(())
}

/// A customer message a minute ago opens the window; returns the conversation.
async fn customer_writes(system: &System, channel_id: &str) -> anyhow::Result<String> {
    let customer = Customer::default();
    let sent_at = omnibus_core::now_ms() / 1000 - 60;
    let message = webhook::text(
        &customer.wa_id,
        "wamid.bench",
        sent_at,
        "Where is my order?",
    );
    let payload = webhook::messages(PHONE_NUMBER_ID, &customer, vec![message]);
    let status = post_signed(
        &reqwest::Client::new(),
        &system.http_url,
        channel_id,
        &payload,
    )
    .await;
    anyhow::ensure!(
        status == 200,
        "the customer's webhook was answered {status}"
    );
    Ok(omnibus_core::ids::conversation_id(
        channel_id,
        &customer.wa_id,
    ))
}

/// Waits until the window service has seen the customer's message.
async fn wait_open(nats: &async_nats::Client, subject: &str, payload: &[u8]) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = nats
            .request(subject.to_owned(), bytes::Bytes::copy_from_slice(payload))
            .await
            .ok()
            .and_then(|m| WindowCheckReply::decode(m.payload).ok());
        if answer.is_some_and(|r| r.outcome() == Outcome::Open) {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "the window never opened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
