//! The Graph calls against the stand-in: answers, error classes, paging.

use std::time::Duration;

use omnibus_ingress::retry::send_plan;
use omnibus_ingress::{Call, RetryPolicy};
use omnibus_proto::ChannelState;
use omnibus_whatsapp_standin::{Scripted, StandIn, VERIFIED_NAME};
use serde_json::json;

use super::*;

const TOKEN: &str = "EAAGm0PX4ZCpsBAKjZBcSecret";
const PHONE: &str = "106540352242922";

fn channel() -> ChannelState {
    ChannelState {
        id: "ch_1".into(),
        credentials: [
            ("access_token".to_owned(), TOKEN.to_owned()),
            ("phone_number_id".to_owned(), PHONE.to_owned()),
        ]
        .into(),
        ..ChannelState::default()
    }
}

fn provider(graph: &StandIn) -> Provider {
    Provider::for_channel::<Whatsapp>(reqwest::Client::new(), &graph.base_url(), &channel())
}

fn text() -> Value {
    json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234",
           "type": "text", "text": {"preview_url": false, "body": "Hi"}})
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        ..RetryPolicy::default()
    }
}

async fn send_with_retries(graph: &StandIn) -> Result<(String, u32), (ProviderError, u32)> {
    let (channel, provider) = (channel(), provider(graph));
    let call = Call {
        provider: &provider,
        channel: &channel,
        message_id: "ms_1",
        part: 0,
    };
    send_plan(&Whatsapp, &call, &[text()], &fast()).await
}

#[tokio::test]
async fn a_send_returns_the_wamid_and_carries_the_bearer_token() {
    let graph = StandIn::start().await;
    let wamid = send(&provider(&graph), TOKEN, PHONE, &text())
        .await
        .expect("sent");
    assert!(wamid.starts_with("wamid."));
    let sent = graph.sent();
    assert_eq!(sent[0].path, format!("/{GRAPH_VERSION}/{PHONE}/messages"));
    assert_eq!(
        sent[0].authorization.as_deref(),
        Some(&*format!("Bearer {TOKEN}"))
    );
}

#[tokio::test]
async fn graph_errors_are_classified_by_code() {
    let graph = StandIn::start().await;
    let provider = provider(&graph);
    let cases = [
        (Scripted::re_engagement(), "outside"),
        (Scripted::expired_token(), "unauthorized"),
        (Scripted::rate_limited(), "transient"),
        (Scripted::pair_rate_limited(), "transient"),
        (Scripted::server_error(), "transient"),
        (Scripted::undeliverable(), "rejected"),
    ];
    for (scripted, class) in cases {
        graph.script(scripted.clone());
        let error = send(&provider, TOKEN, PHONE, &text())
            .await
            .expect_err("scripted failure");
        let got = match &error {
            ProviderError::OutsideWindow { .. } => "outside",
            ProviderError::Unauthorized { .. } => "unauthorized",
            ProviderError::Retry { .. } => "transient",
            ProviderError::Fail { .. } => "rejected",
        };
        assert_eq!(got, class, "{scripted:?} → {error:?}");
        assert!(!error.reason().contains(TOKEN));
    }
    graph.script(Scripted::undeliverable());
    let error = send(&provider, TOKEN, PHONE, &text()).await.unwrap_err();
    assert_eq!(error.code(), Some("131026"));
    assert_eq!(
        error.reason(),
        "WhatsApp refused the message: Message Undeliverable: Unable to deliver message. The \
         recipient may not be a WhatsApp user."
    );
}

#[tokio::test]
async fn a_timeout_and_a_dead_server_are_transient() {
    let graph = StandIn::start().await;
    graph.script(Scripted::Delay(Duration::from_secs(5)));
    let slow = provider(&graph).with_timeout(Duration::from_millis(200));
    let error = send(&slow, TOKEN, PHONE, &text()).await.unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    let nowhere =
        Provider::for_channel::<Whatsapp>(reqwest::Client::new(), "http://127.0.0.1:9", &channel());
    let error = send(&nowhere, TOKEN, PHONE, &text()).await.unwrap_err();
    assert!(error.is_transient());
    assert!(!format!("{error:?}").contains(TOKEN));
}

#[tokio::test]
async fn throttling_is_retried_then_sent_and_final_errors_are_not() {
    let graph = StandIn::start().await;
    graph.script(Scripted::rate_limited());
    graph.script(Scripted::pair_rate_limited());
    let (wamid, attempts) = send_with_retries(&graph).await.unwrap();
    assert!(wamid.starts_with("wamid."));
    assert_eq!(attempts, 3);

    graph.script(Scripted::re_engagement());
    let (error, attempts) = send_with_retries(&graph).await.unwrap_err();
    assert!(matches!(error, ProviderError::OutsideWindow { .. }));
    assert_eq!(attempts, 1, "not retried");

    for _ in 0..3 {
        graph.script(Scripted::server_error());
    }
    let (error, attempts) = send_with_retries(&graph).await.unwrap_err();
    assert!(error.is_transient());
    assert_eq!(attempts, 3, "bounded");
}

#[tokio::test]
async fn the_phone_number_check_reads_the_verified_name() {
    let graph = StandIn::start().await;
    let number = phone_number(&provider(&graph), TOKEN, PHONE).await.unwrap();
    assert_eq!(number.verified_name, VERIFIED_NAME);
    graph.only_token("EAA-another");
    let error = phone_number(&provider(&graph), TOKEN, PHONE)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Unauthorized { code: Some(code), .. } if code == "190"),
        "{error:?}"
    );
}

#[tokio::test]
async fn template_pages_are_followed_by_cursor() {
    let graph = StandIn::start().await;
    graph.set_templates(
        (1..=5)
            .map(|i| {
                json!({"name": format!("t{i}"), "language": "en_US", "status": "APPROVED",
                       "category": "UTILITY", "id": i.to_string()})
            })
            .collect(),
    );
    graph.set_page_size(2);
    let provider = provider(&graph);
    let mut names = Vec::new();
    let mut after = None;
    loop {
        let page = templates_page(&provider, TOKEN, "102290129340398", after.as_deref())
            .await
            .unwrap();
        names.extend(
            page.data
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned()),
        );
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(names, ["t1", "t2", "t3", "t4", "t5"]);
}

#[test]
fn answers_without_graphs_envelope_are_still_classified() {
    assert!(
        decode(502, b"<html>Bad Gateway</html>")
            .unwrap_err()
            .is_transient()
    );
    assert!(matches!(
        decode(401, b""),
        Err(GraphError::Unauthorized { .. })
    ));
    assert!(decode(200, b"not json").unwrap_err().is_transient());
    assert!(matches!(
        decode(404, b"{}"),
        Err(GraphError::Rejected { code: 404, .. })
    ));
    assert_eq!(decode(200, br#"{"ok":1}"#).unwrap(), json!({"ok": 1}));
}
