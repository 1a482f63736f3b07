//! `/metrics`: webhook answers, published events, provider sends and
//! consumer lag show up in the Prometheus text format.
//!
//! The registry is process-wide and other tests may share the process, so
//! counters are checked as "at least", never as exact values.

use omnibus_proto::{MessageStatus, SendMessageRequest};
use omnibus_telegram_standin::Scripted;
use omnibus_tests::{Sandbox, telegram};

use crate::support::{wait_for_conversations, wait_for_message};

const SECRET: &str = "s3cr3t-Value_42";

/// One sample of the text format: name, labels and value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("`series value`");
            let (name, labels) = match series.split_once('{') {
                None => (series, ""),
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
            };
            let labels = labels
                .split(',')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').expect("label=\"value\"");
                    (key.to_owned(), value.trim_matches('"').to_owned())
                })
                .collect();
            Sample {
                name: name.to_owned(),
                labels,
                value: value.parse().expect("a number"),
            }
        })
        .collect()
}

/// The value of the series `name` with (at least) `labels`, summed.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|s| s.value)
        .sum()
}

async fn scrape(sandbox: &Sandbox) -> Vec<Sample> {
    let response = reqwest::get(format!("{}/metrics", sandbox.http_url()))
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    parse(&response.text().await.unwrap())
}

fn reply(conversation_id: &str, text: &str) -> SendMessageRequest {
    SendMessageRequest {
        conversation_id: conversation_id.to_owned(),
        text: text.to_owned(),
        operator_id: "op-1".to_owned(),
        ..Default::default()
    }
}

#[tokio::test]
async fn webhooks_events_sends_and_lag_are_counted() {
    let sandbox = Sandbox::start().await;
    let channel = sandbox.telegram_channel(SECRET).await;
    let client = reqwest::Client::new();
    let url = sandbox.http_url();
    let update = telegram::text_update(1, 100_200_300, "Does it come in blue?");
    assert_eq!(
        telegram::post_update(&client, &url, &channel.id, SECRET, &update).await,
        200
    );
    assert_eq!(
        telegram::post_update(&client, &url, &channel.id, SECRET, &update).await,
        200,
        "a duplicate"
    );
    let refused = telegram::post(
        &client,
        &url,
        &channel.id,
        Some("wrong"),
        update.to_string(),
    );
    assert_eq!(refused.await, 403);
    let conversation_id = wait_for_conversations(&sandbox, 1).await.remove(0).id;

    let mut api = sandbox.conversations().await;
    let sent = api.send_message(reply(&conversation_id, "Yes")).await;
    let sent = sent.unwrap().into_inner();
    wait_for_message(&sandbox, &conversation_id, &sent.id, "SENT", |m| {
        m.status() == MessageStatus::Sent
    })
    .await;
    sandbox.telegram.script("sendMessage", Scripted::Blocked);
    let blocked = api.send_message(reply(&conversation_id, "Hello?")).await;
    let blocked = blocked.unwrap().into_inner();
    wait_for_message(&sandbox, &conversation_id, &blocked.id, "FAILED", |m| {
        m.status() == MessageStatus::Failed
    })
    .await;

    let samples = scrape(&sandbox).await;
    let webhooks = |status| {
        let labels = [("messenger", "telegram"), ("status", status)];
        value(&samples, "omnibus_webhooks_total", &labels)
    };
    assert!(webhooks("200") >= 2.0, "{samples:#?}");
    assert!(webhooks("403") >= 1.0, "{samples:#?}");
    let published = |result| {
        let labels = [("kind", "conv"), ("result", result)];
        value(&samples, "omnibus_events_published_total", &labels)
    };
    assert!(published("stored") >= 1.0, "{samples:#?}");
    assert!(published("duplicate") >= 1.0, "{samples:#?}");
    let sends = |outcome| {
        let labels = [("messenger", "telegram"), ("outcome", outcome)];
        value(
            &samples,
            "omnibus_provider_send_duration_seconds_count",
            &labels,
        )
    };
    assert!(
        sends("sent") >= 1.0 && sends("failed") >= 1.0,
        "{samples:#?}"
    );
    let failures = [("messenger", "telegram"), ("code", "403")];
    let failures = value(&samples, "omnibus_provider_send_failures_total", &failures);
    assert!(failures >= 1.0, "{samples:#?}");
    let lag = [("consumer", "ingress-telegram-send")];
    assert!(
        samples
            .iter()
            .any(|s| s.name == "omnibus_consumer_pending_messages"
                && s.labels
                    .iter()
                    .any(|(k, v)| (k.as_str(), v.as_str()) == lag[0])),
        "the outbound worker's lag is reported: {samples:#?}"
    );
    for gauge in ["omnibus_held_messages", "omnibus_armed_timers"] {
        assert!(
            samples.iter().any(|s| s.name == gauge),
            "{gauge} is exposed"
        );
    }
}
