//! A provider id holding a CR or LF never reaches a NATS header as is: the
//! webhook is stored (once, however often it is retried) and answered.

use futures::StreamExt as _;
use omnibus_bus::header_safe;
use omnibus_tests::{Sandbox, whatsapp};
use omnibus_whatsapp_standin::webhook::{self, Customer, PHONE_NUMBER_ID};

use crate::support::{all_messages, wait_for_conversations};

/// How many events on the stream carry `msg_id` as their `Nats-Msg-Id`.
async fn stored_with_msg_id(sandbox: &Sandbox, msg_id: &str) -> usize {
    use async_nats::jetstream::{self, consumer::pull};
    let client = async_nats::connect(sandbox.nats.url()).await.expect("nats");
    let stream = jetstream::new(client)
        .get_stream("OMNIBUS")
        .await
        .expect("stream");
    let consumer = stream
        .create_consumer(pull::Config::default())
        .await
        .expect("an ephemeral consumer");
    let mut messages = consumer
        .fetch()
        .max_messages(10_000)
        .messages()
        .await
        .expect("fetch");
    let mut count = 0;
    while let Some(Ok(message)) = messages.next().await {
        let id = message.headers.as_ref().and_then(|h| h.get("Nats-Msg-Id"));
        count += usize::from(id.map(|v| v.as_str()) == Some(msg_id));
    }
    count
}

#[tokio::test]
async fn a_message_id_with_a_line_break_is_stored_once_and_answered() {
    let sandbox = Sandbox::start().await;
    let graph = omnibus_whatsapp_standin::StandIn::start().await;
    let channel = whatsapp::channel(&sandbox, &graph).await;
    let client = reqwest::Client::new();
    let customer = Customer::default();
    let evil = "wamid.HBgL\r\nX-Injected: 1";
    let now = omnibus_core::now_ms() / 1000;
    let payload = webhook::messages(
        PHONE_NUMBER_ID,
        &customer,
        vec![webhook::text(&customer.wa_id, evil, now, "hello there")],
    );
    let msg_id = header_safe(&format!("whatsapp:{}:{evil}", channel.id)).into_owned();
    assert!(msg_id.starts_with("sha256:"));

    let status = whatsapp::post_signed(&client, &sandbox.http_url(), &channel.id, &payload).await;
    assert_eq!(status, 200, "stored and answered, not a dropped connection");
    assert_eq!(stored_with_msg_id(&sandbox, &msg_id).await, 1);
    // The provider retries: the escaped id is stable, so it is a duplicate.
    let again = whatsapp::post_signed(&client, &sandbox.http_url(), &channel.id, &payload).await;
    assert_eq!(again, 200);
    assert_eq!(
        stored_with_msg_id(&sandbox, &msg_id).await,
        1,
        "the retry is a duplicate"
    );

    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    let messages = all_messages(&sandbox, &conversation.id).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].provider_message_id, evil,
        "the id itself is kept"
    );
}
