//! Outbound webhooks: signatures, retries, refusals, restarts, validation.

use omnibus_notifications::webhooks::sign;
use omnibus_proto::notification_service_client::NotificationServiceClient;
use omnibus_proto::{
    CreateWebhookRequest, DeleteWebhookRequest, Delivery, DeliveryState, ListDeliveriesRequest,
    NotificationKind, Webhook,
};
use omnibus_testkit::wait_until;
use omnibus_tests::{Sandbox, SandboxOptions};
use tonic::transport::Channel;

use super::receiver::Receiver;
use super::{SECRET, customer_writes};
use crate::support::PATIENCE;

pub(super) const HOOK_SECRET: &str = "hook-secret-0123456789";

pub(super) async fn create_webhook(
    sandbox: &Sandbox,
    receiver: &Receiver,
    kinds: &[NotificationKind],
) -> Webhook {
    sandbox
        .notifications()
        .await
        .create_webhook(CreateWebhookRequest {
            url: receiver.url(),
            secret: HOOK_SECRET.into(),
            kinds: kinds.iter().map(|k| *k as i32).collect(),
        })
        .await
        .expect("create webhook")
        .into_inner()
}

pub(super) async fn deliveries(sandbox: &Sandbox, webhook_id: &str) -> Vec<Delivery> {
    deliveries_with(&mut sandbox.notifications().await, webhook_id).await
}

pub(super) async fn deliveries_with(
    api: &mut NotificationServiceClient<Channel>,
    webhook_id: &str,
) -> Vec<Delivery> {
    api.list_deliveries(ListDeliveriesRequest {
        webhook_id: webhook_id.into(),
        limit: 0,
    })
    .await
    .expect("list deliveries")
    .into_inner()
    .deliveries
}

/// Waits until the only delivery of `webhook_id` is in `state`.
async fn wait_for_delivery(sandbox: &Sandbox, webhook_id: &str, state: DeliveryState) -> Delivery {
    wait_until(&format!("a delivery {state:?}"), PATIENCE, || async {
        deliveries(sandbox, webhook_id)
            .await
            .into_iter()
            .find(|d| d.state() == state)
    })
    .await
}

#[tokio::test]
async fn webhook_answering_500_twice_gets_three_signed_posts_with_one_event_id() {
    let sandbox = Sandbox::start().await;
    let receiver = Receiver::start(&[500, 500], 200).await;
    let webhook = create_webhook(&sandbox, &receiver, &[NotificationKind::NewConversation]).await;
    let channel = sandbox.telegram_channel(SECRET).await;
    customer_writes(&sandbox, &channel.id, 1, "Anyone?").await;

    let delivered = wait_for_delivery(&sandbox, &webhook.id, DeliveryState::Delivered).await;
    let got = receiver.received();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(
        got.iter().map(|r| r.answered).collect::<Vec<_>>(),
        [500, 500, 200]
    );
    for request in &got {
        assert_eq!(request.event_id, delivered.notification_id);
        let (secret, at) = (HOOK_SECRET.as_bytes(), &request.timestamp);
        assert!(
            sign::verify(secret, at, &request.body, &request.signature),
            "signature {} of timestamp {at} + body",
            request.signature
        );
        // The timestamp is signed: a replay with a fresh one does not verify.
        let later = (at.parse::<i64>().expect("unix seconds") + 600).to_string();
        assert!(!sign::verify(
            secret,
            &later,
            &request.body,
            &request.signature
        ));
        let now = omnibus_core::now_ms() / 1000;
        let sent: i64 = at.parse().unwrap();
        assert!((now - sent).abs() < 120, "timestamp {sent}, now {now}");
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["kind"], "NEW_CONVERSATION");
        assert_eq!(body["id"], delivered.notification_id);
    }
    assert_eq!(delivered.attempts.len(), 3);
    assert_eq!(delivered.attempts[0].status_code, 500);
    let first_retry = got_at(&delivered, 1) - got_at(&delivered, 0);
    assert!(first_retry < 5_000, "first retry after {first_retry} ms");
}

fn got_at(delivery: &Delivery, attempt: usize) -> i64 {
    let at = delivery.attempts[attempt].at.expect("attempt time");
    at.seconds * 1000 + i64::from(at.nanos / 1_000_000)
}

#[tokio::test]
async fn a_webhook_target_on_a_refused_address_is_never_posted_to() {
    // The sandbox allows 127.0.0.1/32 only (OMNIBUS_OUTBOUND_ALLOW).
    let sandbox = Sandbox::start().await;
    let receiver = Receiver::start_on("127.0.0.2", &[], 200).await;
    let webhook = create_webhook(&sandbox, &receiver, &[NotificationKind::NewConversation]).await;
    let channel = sandbox.telegram_channel(SECRET).await;
    customer_writes(&sandbox, &channel.id, 1, "Anyone?").await;

    let refused = wait_until("a refused attempt", PATIENCE, || async {
        deliveries(&sandbox, &webhook.id)
            .await
            .into_iter()
            .find(|d| !d.attempts.is_empty())
    })
    .await;
    let attempt = &refused.attempts[0];
    assert_eq!(attempt.status_code, 0, "no answer: never connected");
    assert_eq!(
        attempt.error,
        "address 127.0.0.2 is not allowed (OMNIBUS_OUTBOUND_ALLOW)"
    );
    assert!(receiver.received().is_empty(), "never POSTed to");
}

#[tokio::test]
async fn webhook_answering_400_gets_it_once() {
    let sandbox = Sandbox::start().await;
    let receiver = Receiver::start(&[], 400).await;
    let webhook = create_webhook(&sandbox, &receiver, &[NotificationKind::NewConversation]).await;
    let channel = sandbox.telegram_channel(SECRET).await;
    customer_writes(&sandbox, &channel.id, 1, "Anyone?").await;

    let rejected = wait_for_delivery(&sandbox, &webhook.id, DeliveryState::Rejected).await;
    assert_eq!(rejected.attempts.len(), 1);
    assert_eq!(rejected.attempts[0].status_code, 400);
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn restart_resumes_pending_deliveries_without_repeating_delivered_ones() {
    restart_resumes(SandboxOptions::default()).await;
}

#[tokio::test]
async fn restart_resumes_pending_deliveries_on_postgres() {
    restart_resumes(SandboxOptions {
        postgres: true,
        ..SandboxOptions::default()
    })
    .await;
}

async fn restart_resumes(options: SandboxOptions) {
    let mut sandbox = Sandbox::start_with(options).await;
    let receiver = Receiver::start(&[], 200).await;
    let webhook = create_webhook(&sandbox, &receiver, &[NotificationKind::NewMessage]).await;
    let channel = sandbox.telegram_channel(SECRET).await;
    customer_writes(&sandbox, &channel.id, 1, "first").await;
    let first = wait_for_delivery(&sandbox, &webhook.id, DeliveryState::Delivered).await;

    receiver.answer(503);
    customer_writes(&sandbox, &channel.id, 2, "second").await;
    wait_until("the second delivery to fail once", PATIENCE, || async {
        deliveries(&sandbox, &webhook.id)
            .await
            .into_iter()
            .find(|d| {
                d.notification_id != first.notification_id
                    && d.state() == DeliveryState::Pending
                    && !d.attempts.is_empty()
            })
    })
    .await;

    sandbox.stop_server().await;
    receiver.answer(200);
    sandbox.start_server().await;

    wait_until(
        "the second delivery after the restart",
        PATIENCE,
        || async {
            let all = deliveries(&sandbox, &webhook.id).await;
            (all.len() == 2 && all.iter().all(|d| d.state() == DeliveryState::Delivered))
                .then_some(())
        },
    )
    .await;
    let got = receiver.received();
    let accepted = |id: &str| {
        got.iter()
            .filter(|r| r.event_id == id && r.answered == 200)
            .count()
    };
    assert_eq!(accepted(&first.notification_id), 1, "{got:?}");
    assert_eq!(
        got.iter()
            .filter(|r| r.event_id == first.notification_id)
            .count(),
        1,
        "the delivered one is never sent again"
    );
    let second = got.last().unwrap();
    assert_eq!(second.answered, 200);
    assert_eq!(accepted(&second.event_id), 1);
}

#[tokio::test]
async fn webhook_requests_are_checked_and_deleted_webhooks_are_gone() {
    let sandbox = Sandbox::start().await;
    let mut api = sandbox.notifications().await;
    let bad_url = api
        .create_webhook(CreateWebhookRequest {
            url: "crm.internal/hook".into(),
            secret: HOOK_SECRET.into(),
            kinds: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(bad_url.code(), tonic::Code::InvalidArgument);
    assert!(bad_url.message().contains("http"), "{}", bad_url.message());

    let receiver = Receiver::start(&[], 200).await;
    let webhook = create_webhook(&sandbox, &receiver, &[]).await;
    assert_eq!(webhook.status(), omnibus_proto::WebhookStatus::Active);
    let listed = api
        .list_webhooks(omnibus_proto::ListWebhooksRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.webhooks.len(), 1);
    api.delete_webhook(DeleteWebhookRequest {
        id: webhook.id.clone(),
    })
    .await
    .unwrap();
    let listed = api
        .list_webhooks(omnibus_proto::ListWebhooksRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(listed.webhooks.is_empty());
    let gone = api
        .delete_webhook(DeleteWebhookRequest { id: webhook.id })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), tonic::Code::NotFound);
}
