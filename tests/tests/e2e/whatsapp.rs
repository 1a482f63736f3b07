//! WhatsApp Cloud API end to end: Meta's webhooks in, Graph API calls out,
//! against a Graph stand-in per test.

mod groups;
mod messages;
mod outbound;
mod shapes;
mod statuses;
mod usernames;
mod webhook;

use futures::StreamExt;
use omnibus_bus::{Bus, BusConfig};
use omnibus_proto::Event;
use omnibus_tests::{Sandbox, whatsapp};
use omnibus_whatsapp_standin::StandIn;
use omnibus_whatsapp_standin::webhook::{self as meta, Customer, PHONE_NUMBER_ID};
use prost::Message as _;

use crate::support::wait_for_conversations;

/// The customer of the examples.
pub const WA_ID: &str = "16505551234";

/// Now, in the unix seconds WhatsApp timestamps use.
pub fn now_s() -> i64 {
    omnibus_core::now_ms() / 1000
}

/// A client of the sandbox's stream, as another service would connect.
pub async fn bus(sandbox: &Sandbox) -> Bus {
    Bus::connect(&BusConfig {
        nats_url: sandbox.nats.url(),
        ..BusConfig::default()
    })
    .await
    .expect("connect the bus")
}

/// A channel on `graph` with one conversation: the customer wrote
/// `wamid.FIRST` just now. Returns (channel id, conversation id).
pub async fn conversation(sandbox: &Sandbox, graph: &StandIn) -> (String, String) {
    let channel = whatsapp::channel(sandbox, graph).await;
    let payload = meta::messages(
        PHONE_NUMBER_ID,
        &Customer::default(),
        vec![meta::text(
            WA_ID,
            "wamid.FIRST",
            now_s(),
            "Does it come in blue?",
        )],
    );
    let client = reqwest::Client::new();
    let status = whatsapp::post_signed(&client, &sandbox.http_url(), &channel.id, &payload).await;
    assert_eq!(status, 200);
    let conversation = wait_for_conversations(sandbox, 1).await.remove(0);
    window_open(sandbox, &conversation.id).await;
    (channel.id, conversation.id)
}

/// Waits until the window service saw the customer write in
/// `conversation_id`: it applies the stream on its own, and a reply sent
/// before may find the window still closed.
pub async fn window_open(sandbox: &Sandbox, conversation_id: &str) {
    let windows =
        omnibus_proto::template_service_client::TemplateServiceClient::connect(sandbox.grpc_url())
            .await
            .expect("template service");
    omnibus_testkit::wait_until("the window open", crate::support::PATIENCE, || {
        let request = omnibus_proto::GetWindowRequest {
            conversation_id: conversation_id.to_owned(),
        };
        let mut windows = windows.clone();
        async move {
            let window = windows.get_window(request).await.ok()?.into_inner();
            window.open.then_some(())
        }
    })
    .await;
}

/// Every event stored on `subject` so far, oldest first.
pub async fn events_on(sandbox: &Sandbox, subject: &str) -> Vec<Event> {
    use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
    let client = async_nats::connect(sandbox.nats.url()).await.expect("nats");
    let js = async_nats::jetstream::new(client);
    let stream = js.get_stream("OMNIBUS").await.expect("stream");
    let consumer = stream
        .create_consumer(pull::Config {
            filter_subject: subject.to_owned(),
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::None,
            ..Default::default()
        })
        .await
        .expect("an ephemeral consumer");
    let mut messages = consumer
        .fetch()
        .max_messages(10_000)
        .expires(std::time::Duration::from_millis(500))
        .messages()
        .await
        .expect("fetch");
    let mut events = Vec::new();
    while let Some(Ok(message)) = messages.next().await {
        events.push(Event::decode(message.payload.clone()).expect("an event"));
    }
    events
}
