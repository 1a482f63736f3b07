//! A webhook that keeps failing is disabled and says why, and is probed
//! with backoff meanwhile, never spun on. Runs the service alone with short
//! delivery settings (the sandbox uses the production defaults).

use std::time::Duration;

use omnibus_bus::{Bus, BusConfig};
use omnibus_notifications::{Config, DeliveryConfig, Notifications};
use omnibus_proto::notification_service_client::NotificationServiceClient;
use omnibus_proto::{
    AuthorKind, CreateWebhookRequest, DeliveryState, Direction, Event, ListWebhooksRequest,
    MessageReceived, WebhookStatus, event::Payload,
};
use omnibus_store::Store;
use omnibus_testkit::{NatsServer, TestDatabase, wait_until};
use tokio_util::sync::CancellationToken;

use super::receiver::Receiver;
use super::webhooks::deliveries_with;
use crate::support::PATIENCE;

fn fast_failing() -> Config {
    Config {
        delivery: DeliveryConfig {
            timeout: Duration::from_secs(2),
            first_retry: Duration::from_millis(100),
            max_retry: Duration::from_millis(300),
            disable_after: Duration::from_secs(2),
            // The receivers listen on loopback.
            egress: omnibus_egress::Egress::new("127.0.0.1/32".parse().expect("allow-list")),
            ..DeliveryConfig::default()
        },
        ..Config::default()
    }
}

/// Serves the service's gRPC API on `127.0.0.1:0`; returns its URL.
async fn serve(service: &Notifications, shutdown: CancellationToken) -> String {
    let mut routes = tonic::service::RoutesBuilder::default();
    service.register(&mut routes);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tonic::transport::Server::builder()
        .add_routes(routes.routes())
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            shutdown.cancelled_owned(),
        );
    tokio::spawn(server);
    url
}

fn customer_message(id: &str) -> Event {
    Event {
        id: id.to_owned(),
        occurred_at_ms: omnibus_core::now_ms(),
        recorded_at_ms: omnibus_core::now_ms(),
        channel_id: "ch_1".into(),
        conversation_id: "cv_1".into(),
        payload: Some(Payload::MessageReceived(MessageReceived {
            message_id: format!("msg_{id}"),
            text: "hello".into(),
            author_kind: AuthorKind::Contact as i32,
            direction: Direction::Inbound as i32,
            ..Default::default()
        })),
    }
}

#[tokio::test]
async fn a_webhook_failing_for_too_long_is_disabled_and_reported() {
    let nats = NatsServer::start().await;
    let db = TestDatabase::sqlite();
    let bus_config = BusConfig {
        nats_url: nats.url(),
        ..BusConfig::default()
    };
    let bus = Bus::connect(&bus_config).await.expect("bus");
    let store = Store::connect(db.url()).await.expect("store");
    let shutdown = CancellationToken::new();
    let service = Notifications::start(fast_failing(), bus.clone(), store, shutdown.clone())
        .await
        .expect("start");
    let url = serve(&service, shutdown.clone()).await;
    let mut api = NotificationServiceClient::connect(url)
        .await
        .expect("connect");

    let receiver = Receiver::start(&[], 500).await;
    let webhook = api
        .create_webhook(CreateWebhookRequest {
            url: receiver.url(),
            secret: "hook-secret-0123456789".into(),
            kinds: vec![],
        })
        .await
        .expect("create")
        .into_inner();
    let subject = bus.subjects().conversation("cv_1");
    bus.publish(subject, &customer_message("m1")).await.unwrap();

    let disabled = wait_until("the webhook disabled", PATIENCE, || async {
        let listed = api
            .clone()
            .list_webhooks(ListWebhooksRequest {})
            .await
            .ok()?;
        let hook = listed.into_inner().webhooks.into_iter().next()?;
        (hook.status() == WebhookStatus::Disabled).then_some(hook)
    })
    .await;
    assert!(
        disabled.status_reason.contains("500"),
        "{}",
        disabled.status_reason
    );
    let all = deliveries_with(&mut api, &webhook.id).await;
    assert!(
        all.iter().all(|d| d.state() == DeliveryState::Abandoned),
        "{all:?}"
    );
    let posts = receiver.received().len();
    assert!(
        (2..20).contains(&posts),
        "probed with backoff: {posts} POSTs"
    );
    shutdown.cancel();
    service.stopped().await;
}
