//! Instagram's windows through the window service: free text within 24
//! hours of the customer's last message; with the channel's
//! `human_agent_tag` on, an operator's text up to 7 days goes out with the
//! HUMAN_AGENT tag; after that, or once Instagram refused a send as outside
//! the window, it is refused.

use omnibus_instagram_standin::webhook::{self as ig};
use omnibus_instagram_standin::{Scripted, StandIn};
use omnibus_proto::template_service_client::TemplateServiceClient;
use omnibus_proto::{ChannelSettings, GetWindowRequest, MessageStatus, SendMessageRequest, Window};
use omnibus_testkit::wait_until;
use omnibus_tests::Sandbox;
use serde_json::{Value, json};

use super::{APP_SECRET, channel_with, post, send};
use crate::support::{PATIENCE, wait_for_conversations, wait_for_message};

const DAY_MS: i64 = 24 * 3_600_000;

/// A Direct text from customer `igsid`, written `ago_ms` before now.
fn written(igsid: &str, mid: &str, ago_ms: i64) -> Value {
    let at = omnibus_core::now_ms() - ago_ms;
    let mut event = ig::sample("text", mid);
    event["sender"]["id"] = json!(igsid);
    event["timestamp"] = json!(at);
    let mut payload = ig::messaging(vec![event]);
    payload["entry"][0]["time"] = json!(at / 1000);
    payload
}

/// A conversation whose window is as `ready` wants, once the window
/// service shows it; `count` conversations exist by then.
async fn wait_window(
    sandbox: &Sandbox,
    count: usize,
    ready: impl Fn(&Window) -> bool + Copy,
) -> (String, Window) {
    wait_until("the window as expected", PATIENCE, || async move {
        let conversations = wait_for_conversations(sandbox, count).await;
        let mut windows = TemplateServiceClient::connect(sandbox.grpc_url())
            .await
            .ok()?;
        for conversation in conversations {
            let request = GetWindowRequest {
                conversation_id: conversation.id.clone(),
            };
            let window = windows.get_window(request).await.ok()?.into_inner();
            if ready(&window) {
                return Some((conversation.id, window));
            }
        }
        None
    })
    .await
}

fn reply(conversation_id: &str, text: &str) -> SendMessageRequest {
    SendMessageRequest {
        conversation_id: conversation_id.to_owned(),
        text: text.into(),
        operator_id: "op-1".into(),
        ..SendMessageRequest::default()
    }
}

#[tokio::test]
async fn instagram_human_agent_tag_from_24_hours_to_7_days() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let settings = ChannelSettings {
        human_agent_tag: true,
        ..ChannelSettings::default()
    };
    let channel = channel_with(&sandbox, &graph, Some(settings)).await;

    // Wrote an hour ago: the 24-hour window, no tag.
    let fresh = written("1001", "m_fresh", 3_600_000);
    assert_eq!(
        post(&sandbox, &channel.id, &fresh, Some(APP_SECRET)).await,
        200
    );
    let (inside, window) = wait_window(&sandbox, 1, |w| w.open && !w.human_agent).await;
    assert!(window.standard_expires_at.is_some());
    let id = send(&sandbox, reply(&inside, "Within a day")).await;
    wait_for_message(&sandbox, &inside, &id, "SENT", |m| {
        m.status() == MessageStatus::Sent
    })
    .await;
    let body = graph.sent().pop().expect("sent").body;
    assert_eq!(body["messaging_type"], "RESPONSE", "{body}");
    assert!(body.get("tag").is_none(), "{body}");

    // Wrote 3 days ago: open for operators with the tag, until day 7.
    let older = written("1002", "m_older", 3 * DAY_MS);
    assert_eq!(
        post(&sandbox, &channel.id, &older, Some(APP_SECRET)).await,
        200
    );
    let (tagged, window) = wait_window(&sandbox, 2, |w| w.open && w.human_agent).await;
    let expires = window.expires_at.expect("expires_at").seconds * 1000;
    let standard = window.standard_expires_at.expect("standard").seconds * 1000;
    assert!(
        (expires - standard - 6 * DAY_MS).abs() < 2_000,
        "7 days, not 1"
    );
    let id = send(&sandbox, reply(&tagged, "Sorry for the wait")).await;
    wait_for_message(&sandbox, &tagged, &id, "SENT", |m| {
        m.status() == MessageStatus::Sent
    })
    .await;
    let body = graph.sent().pop().expect("sent").body;
    assert_eq!(body["messaging_type"], "MESSAGE_TAG", "{body}");
    assert_eq!(body["tag"], "HUMAN_AGENT", "{body}");

    // Instagram refuses the next one as outside the window: it goes back to
    // the window service, which fails it and closes the window.
    graph.script(Scripted::outside_window());
    let id = send(&sandbox, reply(&tagged, "One more thing")).await;
    let failed = wait_for_message(&sandbox, &tagged, &id, "FAILED", |m| {
        m.status() == MessageStatus::Failed
    })
    .await;
    assert!(failed.failure_reason.contains("window"), "{failed:?}");
    wait_window(&sandbox, 2, |w| !w.open && !w.human_agent && w.windowed).await;

    // Wrote 8 days ago: refused at once, nothing reaches Instagram.
    let old = written("1003", "m_old", 8 * DAY_MS);
    assert_eq!(
        post(&sandbox, &channel.id, &old, Some(APP_SECRET)).await,
        200
    );
    let (closed, _) = wait_window(&sandbox, 3, |w| {
        !w.open
            && w.expires_at
                .as_ref()
                .is_some_and(|t| t.seconds * 1000 < omnibus_core::now_ms() - DAY_MS / 2)
    })
    .await;
    let calls = graph.requests().len();
    let mut api = sandbox.conversations().await;
    let refused = api
        .send_message(reply(&closed, "Hello again"))
        .await
        .expect_err("outside 7 days");
    assert_eq!(
        refused.code(),
        tonic::Code::FailedPrecondition,
        "{refused:?}"
    );
    assert_eq!(graph.requests().len(), calls, "nothing reached Instagram");
}
