//! Orders, flow answers, edits, deletions, and a type Omnibus cannot show:
//! each reaches the operator, and the last is counted in `/metrics`.

use omnibus_proto::{AuthorKind, Message};
use omnibus_testkit::wait_until;
use omnibus_tests::{Sandbox, whatsapp};
use omnibus_whatsapp_standin::StandIn;
use omnibus_whatsapp_standin::shapes;
use omnibus_whatsapp_standin::webhook::{self as meta, Customer, PHONE_NUMBER_ID};
use serde_json::Value;

use super::{WA_ID, now_s};
use crate::support::{PATIENCE, all_messages, wait_for_conversations};

/// `omnibus_ingress_unshown_total{messenger="whatsapp",kind}` now.
async fn unshown(sandbox: &Sandbox, kind: &str) -> u64 {
    let text = reqwest::get(format!("{}/metrics", sandbox.http_url()))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("the metrics");
    let series =
        format!("omnibus_ingress_unshown_total{{kind=\"{kind}\",messenger=\"whatsapp\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .map_or(0, |n| n.trim().parse().expect("a count"))
}

async fn post(sandbox: &Sandbox, channel_id: &str, messages: Vec<Value>) {
    let payload = meta::messages(PHONE_NUMBER_ID, &Customer::default(), messages);
    let status = whatsapp::post_signed(
        &reqwest::Client::new(),
        &sandbox.http_url(),
        channel_id,
        &payload,
    )
    .await;
    assert_eq!(status, 200);
}

async fn listed_until(
    sandbox: &Sandbox,
    conversation_id: &str,
    what: &str,
    done: impl Fn(&[Message]) -> bool,
) -> Vec<Message> {
    wait_until(what, PATIENCE, || async {
        let listed = all_messages(sandbox, conversation_id).await;
        done(&listed).then_some(listed)
    })
    .await
}

fn by_wamid<'a>(listed: &'a [Message], wamid: &str) -> &'a Message {
    listed
        .iter()
        .find(|m| m.provider_message_id == wamid)
        .unwrap_or_else(|| panic!("{wamid} listed"))
}

#[tokio::test]
async fn whatsapp_orders_flows_edits_deletions_and_unknown_types_reach_the_operator() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let channel = whatsapp::channel(&sandbox, &graph).await;
    let at = now_s();
    let polls_before = unshown(&sandbox, "poll").await;
    post(
        &sandbox,
        &channel.id,
        vec![
            meta::text(WA_ID, "wamid.ORIG", at, "A red one, please"),
            meta::text(WA_ID, "wamid.GONE", at, "my card number is 4242"),
            shapes::order(WA_ID, "wamid.ORDER", at),
            shapes::flow_reply(WA_ID, "wamid.FLOW", at),
            shapes::of_unknown_kind(WA_ID, "wamid.POLL", at, "poll"),
        ],
    )
    .await;
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    listed_until(&sandbox, &conversation.id, "five messages", |l| {
        l.len() == 5
    })
    .await;
    // Meta retries the webhook of the poll: counted once.
    post(
        &sandbox,
        &channel.id,
        vec![shapes::of_unknown_kind(WA_ID, "wamid.POLL", at, "poll")],
    )
    .await;
    post(
        &sandbox,
        &channel.id,
        vec![
            shapes::edit(
                WA_ID,
                "wamid.EDIT",
                at + 1,
                "wamid.ORIG",
                "A blue one, please",
            ),
            shapes::revoke(WA_ID, "wamid.REVOKE", at + 1, "wamid.GONE"),
        ],
    )
    .await;
    let listed = listed_until(
        &sandbox,
        &conversation.id,
        "the edit and the deletion",
        |l| l.iter().any(|m| m.edited) && l.iter().any(|m| m.deleted),
    )
    .await;
    assert_eq!(listed.len(), 5, "edits change messages, they add none");
    let edited = by_wamid(&listed, "wamid.ORIG");
    assert_eq!(edited.text, "A blue one, please");
    assert!(edited.edited);
    let deleted = by_wamid(&listed, "wamid.GONE");
    assert!(deleted.deleted);
    assert_eq!(
        deleted.text, "my card number is 4242",
        "kept for the operator"
    );
    let order = by_wamid(&listed, "wamid.ORDER");
    assert!(
        order.text.contains("catalog 194836987003835"),
        "{}",
        order.text
    );
    assert!(
        order.text.contains("2 × mug-blue at 12.5 USD"),
        "{}",
        order.text
    );
    assert!(
        order.text.contains("Note: Please gift-wrap the mug"),
        "{}",
        order.text
    );
    let flow = by_wamid(&listed, "wamid.FLOW");
    assert!(
        flow.text.contains("delivery_date: 2026-12-24"),
        "{}",
        flow.text
    );
    assert!(flow.text.contains("size: M"), "{}", flow.text);
    assert!(!flow.text.contains("flow_token"), "{}", flow.text);
    let poll = by_wamid(&listed, "wamid.POLL");
    assert_eq!(poll.author_kind(), AuthorKind::System);
    assert!(poll.text.contains("poll"), "{}", poll.text);
    assert_eq!(unshown(&sandbox, "poll").await, polls_before + 1);
}
