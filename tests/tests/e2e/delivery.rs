//! What the conversations view makes of delivery facts that other services
//! report: statuses that overtake the send call, messages held by the window
//! service, and channels flagged by their ingress.

use omnibus_bus::{Bus, BusConfig};
use omnibus_proto::{
    AuthorKind, ChannelFlagged, ChannelStatus, CloseConversationRequest, ConversationStatus,
    DeliveryStatusChanged, Direction, Event, GetChannelRequest, GetConversationRequest,
    MessageDispatched, MessageHeld, MessageReceived, MessageRequested, MessageStatus, Peer,
    UpdateChannelRequest, event::Payload,
};
use omnibus_testkit::wait_until;
use omnibus_tests::{Sandbox, telegram};

use crate::support::{PATIENCE, wait_for_conversations, wait_for_message};

const SECRET: &str = "delivery-Secret_1";

async fn bus(sandbox: &Sandbox) -> Bus {
    Bus::connect(&BusConfig {
        nats_url: sandbox.nats.url(),
        ..BusConfig::default()
    })
    .await
    .expect("connect the bus")
}

/// A channel with one conversation; returns (channel id, conversation id).
async fn conversation(sandbox: &Sandbox) -> (String, String) {
    let channel = sandbox.telegram_channel(SECRET).await;
    let update = telegram::text_update(1, 700_100, "Hi there");
    let client = reqwest::Client::new();
    let status =
        telegram::post_update(&client, &sandbox.http_url(), &channel.id, SECRET, &update).await;
    assert_eq!(status, 200);
    (
        channel.id,
        wait_for_conversations(sandbox, 1).await.remove(0).id,
    )
}

fn event(id: &str, channel_id: &str, conversation_id: &str, payload: Payload) -> Event {
    let now = omnibus_core::now_ms();
    Event {
        id: id.to_owned(),
        occurred_at_ms: now,
        recorded_at_ms: now,
        channel_id: channel_id.to_owned(),
        conversation_id: conversation_id.to_owned(),
        payload: Some(payload),
    }
}

/// Publishes on the conversation's subject, which no ingress sends from.
async fn record(bus: &Bus, channel_id: &str, conversation_id: &str, id: &str, payload: Payload) {
    let subject = bus.subjects().conversation(conversation_id);
    bus.publish(subject, &event(id, channel_id, conversation_id, payload))
        .await
        .expect("publish");
}

fn requested(message_id: &str) -> Payload {
    Payload::MessageRequested(MessageRequested {
        message_id: message_id.to_owned(),
        text: "Your order ships today".to_owned(),
        initial_status: MessageStatus::Pending as i32,
        ..Default::default()
    })
}

#[tokio::test]
async fn a_status_that_arrives_before_the_dispatch_is_applied_when_the_id_is_known() {
    let sandbox = Sandbox::start().await;
    let (channel, conv) = conversation(&sandbox).await;
    let bus = bus(&sandbox).await;
    record(&bus, &channel, &conv, "e1", requested("m-early")).await;
    // WhatsApp may report `delivered` for a wamid before our send call returned.
    let delivered = DeliveryStatusChanged {
        provider_message_id: "wamid.EARLY".to_owned(),
        status: MessageStatus::Delivered as i32,
        ..Default::default()
    };
    record(
        &bus,
        &channel,
        &conv,
        "e2",
        Payload::DeliveryStatusChanged(delivered),
    )
    .await;
    let pending = wait_for_message(&sandbox, &conv, "m-early", "the message", |_| true).await;
    assert_eq!(pending.status, MessageStatus::Pending as i32);

    let dispatched = MessageDispatched {
        message_id: "m-early".to_owned(),
        provider_message_id: "wamid.EARLY".to_owned(),
        attempts: 1,
    };
    record(
        &bus,
        &channel,
        &conv,
        "e3",
        Payload::MessageDispatched(dispatched),
    )
    .await;
    let message = wait_for_message(&sandbox, &conv, "m-early", "DELIVERED", |m| {
        m.status == MessageStatus::Delivered as i32
    })
    .await;
    assert_eq!(message.provider_message_id, "wamid.EARLY");
}

#[tokio::test]
async fn a_held_message_shows_why_and_moves_on_when_sent() {
    let sandbox = Sandbox::start().await;
    let (channel, conv) = conversation(&sandbox).await;
    let bus = bus(&sandbox).await;
    record(&bus, &channel, &conv, "h1", requested("m-held")).await;
    let held = MessageHeld {
        message_id: "m-held".to_owned(),
        reason: "held until the customer answers the template".to_owned(),
        ..Default::default()
    };
    record(&bus, &channel, &conv, "h2", Payload::MessageHeld(held)).await;
    let message = wait_for_message(&sandbox, &conv, "m-held", "HELD", |m| {
        m.status == MessageStatus::Held as i32
    })
    .await;
    assert_eq!(
        message.failure_reason,
        "held until the customer answers the template"
    );

    let dispatched = MessageDispatched {
        message_id: "m-held".to_owned(),
        provider_message_id: "p-1".to_owned(),
        attempts: 1,
    };
    record(
        &bus,
        &channel,
        &conv,
        "h3",
        Payload::MessageDispatched(dispatched),
    )
    .await;
    wait_for_message(&sandbox, &conv, "m-held", "SENT", |m| {
        m.status == MessageStatus::Sent as i32
    })
    .await;
}

#[tokio::test]
async fn a_flagged_channel_shows_the_reason_until_it_is_updated() {
    let sandbox = Sandbox::start().await;
    let (channel, _) = conversation(&sandbox).await;
    let bus = bus(&sandbox).await;
    let flagged = ChannelFlagged {
        status: ChannelStatus::Error as i32,
        reason: "the access token expired (190); update the channel's access_token".to_owned(),
    };
    let subject = bus.subjects().channel_health(&channel);
    bus.publish(
        subject,
        &event("f1", &channel, "", Payload::ChannelFlagged(flagged)),
    )
    .await
    .expect("publish");
    let mut channels = sandbox.channels().await;
    let shown = wait_until("the channel in ERROR", PATIENCE, || {
        let mut channels = channels.clone();
        let id = channel.clone();
        async move {
            let got = channels
                .get_channel(GetChannelRequest { id })
                .await
                .ok()?
                .into_inner();
            (got.status == ChannelStatus::Error as i32).then_some(got)
        }
    })
    .await;
    assert!(shown.status_reason.contains("access token expired"));

    let updated = channels
        .update_channel(UpdateChannelRequest {
            id: channel.clone(),
            name: Some("renamed".to_owned()),
            ..Default::default()
        })
        .await
        .expect("update")
        .into_inner();
    assert_eq!(updated.status, ChannelStatus::Active as i32);
    assert!(updated.status_reason.is_empty());
}

#[tokio::test]
async fn an_echo_from_the_business_phone_neither_reopens_nor_renames() {
    let sandbox = Sandbox::start().await;
    let (channel, conv) = conversation(&sandbox).await;
    let mut api = sandbox.conversations().await;
    let before = api
        .close_conversation(CloseConversationRequest {
            id: conv.clone(),
            ..Default::default()
        })
        .await
        .expect("close")
        .into_inner();
    assert_eq!(before.status(), ConversationStatus::Closed);
    // Sent from the business's own phone: the provider names no one.
    let echo = MessageReceived {
        message_id: "m-echo".to_owned(),
        provider_message_id: "p-echo".to_owned(),
        peer: Some(Peer {
            provider_chat_id: "700100".to_owned(),
            provider_user_id: "700100".to_owned(),
            phone: "+15550100".to_owned(),
            ..Default::default()
        }),
        text: "Sent from the shop's phone".to_owned(),
        author_kind: AuthorKind::ExternalDevice as i32,
        direction: Direction::Outbound as i32,
        contact_id: omnibus_core::ids::contact_id(&channel, "700100"),
        ..Default::default()
    };
    let bus = bus(&sandbox).await;
    record(
        &bus,
        &channel,
        &conv,
        "echo-1",
        Payload::MessageReceived(echo),
    )
    .await;
    wait_for_message(&sandbox, &conv, "m-echo", "the echo in the history", |_| {
        true
    })
    .await;
    let after = api
        .get_conversation(GetConversationRequest { id: conv.clone() })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(after.status(), ConversationStatus::Closed, "still closed");
    assert_eq!(after.title, before.title, "still named after the customer");
}
