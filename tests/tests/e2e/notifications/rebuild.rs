//! Dropped and rebuilt from the stream, the notifications come back with
//! the same ids, webhooks come back, and nothing is POSTed again.

use omnibus_proto::{DeliveryState, ListWebhooksRequest, NotificationKind, SubscribeRequest};
use omnibus_testkit::wait_until;
use omnibus_tests::Sandbox;

use super::receiver::Receiver;
use super::webhooks::{create_webhook, deliveries};
use super::{SECRET, customer_writes, next, subscribe};
use crate::support::PATIENCE;

/// (id, kind, text) of the first `count` notifications ever.
async fn history(sandbox: &Sandbox, count: usize) -> Vec<(String, i32, String)> {
    let request = SubscribeRequest {
        after_id: "0-0".into(),
        ..Default::default()
    };
    let mut stream = subscribe(sandbox, request).await;
    let mut notes = Vec::new();
    for _ in 0..count {
        let note = next(&mut stream, PATIENCE).await;
        notes.push((note.id, note.kind, note.text));
    }
    notes
}

async fn wait_delivered(sandbox: &Sandbox, webhook_id: &str, count: usize) {
    wait_until(&format!("{count} deliveries"), PATIENCE, || async {
        let all = deliveries(sandbox, webhook_id).await;
        let done = all.len() == count && all.iter().all(|d| d.state() == DeliveryState::Delivered);
        done.then_some(())
    })
    .await;
}

#[tokio::test]
async fn rebuilt_notifications_keep_their_ids_and_are_not_posted_again() {
    let mut sandbox = Sandbox::start().await;
    let receiver = Receiver::start(&[], 200).await;
    let webhook = create_webhook(&sandbox, &receiver, &[NotificationKind::NewMessage]).await;
    let channel = sandbox.telegram_channel(SECRET).await;
    customer_writes(&sandbox, &channel.id, 1, "one").await;
    customer_writes(&sandbox, &channel.id, 2, "two").await;
    wait_delivered(&sandbox, &webhook.id, 2).await;
    let before = history(&sandbox, 3).await;

    sandbox.stop_server().await;
    sandbox.db.drop_all().await;
    sandbox.start_server().await;

    assert_eq!(history(&sandbox, 3).await, before);
    let webhooks = wait_until("the webhook rebuilt", PATIENCE, || async {
        let listed = sandbox
            .notifications()
            .await
            .list_webhooks(ListWebhooksRequest {})
            .await
            .ok()?
            .into_inner()
            .webhooks;
        (!listed.is_empty()).then_some(listed)
    })
    .await;
    assert_eq!(webhooks[0].id, webhook.id);

    customer_writes(&sandbox, &channel.id, 3, "three").await;
    wait_delivered(&sandbox, &webhook.id, 1).await;
    let got = receiver.received();
    assert_eq!(got.len(), 3, "one POST per message, none repeated: {got:?}");
    let mut ids: Vec<&str> = got.iter().map(|r| r.event_id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);
}
