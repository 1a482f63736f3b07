//! Delivery statuses from WhatsApp, in any order, only move forward.

use omnibus_proto::{MessageStatus, SendMessageRequest};
use omnibus_tests::{Sandbox, whatsapp};
use omnibus_whatsapp_standin::StandIn;
use omnibus_whatsapp_standin::webhook::{self as meta, PHONE_NUMBER_ID};

use super::{WA_ID, conversation, now_s};
use crate::support::wait_for_message;

#[tokio::test]
async fn whatsapp_statuses_out_of_order_never_move_back() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let (channel_id, conversation_id) = conversation(&sandbox, &graph).await;
    let message = sandbox
        .conversations()
        .await
        .send_message(SendMessageRequest {
            conversation_id: conversation_id.clone(),
            text: "It ships today".into(),
            operator_id: "op-1".into(),
            ..Default::default()
        })
        .await
        .expect("send")
        .into_inner();
    let sent = wait_for_message(&sandbox, &conversation_id, &message.id, "SENT", |m| {
        m.status() == MessageStatus::Sent
    })
    .await;
    let wamid = sent.provider_message_id.clone();
    assert!(wamid.starts_with("wamid."), "{wamid}");

    let client = reqwest::Client::new();
    let url = sandbox.http_url();
    let at = now_s();
    // `read` overtakes `delivered`, then a late `sent` arrives as well.
    for status in ["read", "delivered", "sent"] {
        let payload = meta::statuses(
            PHONE_NUMBER_ID,
            vec![meta::status(&wamid, status, at, WA_ID)],
        );
        assert_eq!(
            whatsapp::post_signed(&client, &url, &channel_id, &payload).await,
            200
        );
    }
    wait_for_message(&sandbox, &conversation_id, &message.id, "READ", |m| {
        m.status() == MessageStatus::Read
    })
    .await;
    // A message after them proves every status was applied: READ stays.
    let marker = meta::messages(
        PHONE_NUMBER_ID,
        &meta::Customer::default(),
        vec![meta::text(WA_ID, "wamid.MARK", now_s(), "thanks")],
    );
    assert_eq!(
        whatsapp::post_signed(&client, &url, &channel_id, &marker).await,
        200
    );
    let marker_id = omnibus_core::ids::inbound_message_id(&channel_id, WA_ID, "wamid.MARK");
    wait_for_message(&sandbox, &conversation_id, &marker_id, "the marker", |_| {
        true
    })
    .await;
    let after = wait_for_message(
        &sandbox,
        &conversation_id,
        &message.id,
        "still READ",
        |_| true,
    )
    .await;
    assert_eq!(after.status(), MessageStatus::Read);
}

#[tokio::test]
async fn whatsapp_a_failed_status_fails_the_message_with_code_and_title() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let (channel_id, conversation_id) = conversation(&sandbox, &graph).await;
    let message = sandbox
        .conversations()
        .await
        .send_message(SendMessageRequest {
            conversation_id: conversation_id.clone(),
            text: "Are you there?".into(),
            operator_id: "op-1".into(),
            ..Default::default()
        })
        .await
        .expect("send")
        .into_inner();
    let sent = wait_for_message(&sandbox, &conversation_id, &message.id, "SENT", |m| {
        m.status() == MessageStatus::Sent
    })
    .await;
    let failed = meta::failed_status(
        &sent.provider_message_id,
        now_s(),
        WA_ID,
        131026,
        "Message Undeliverable",
        "The recipient may not be a WhatsApp user.",
    );
    let payload = meta::statuses(PHONE_NUMBER_ID, vec![failed]);
    let client = reqwest::Client::new();
    let status = whatsapp::post_signed(&client, &sandbox.http_url(), &channel_id, &payload).await;
    assert_eq!(status, 200);
    let failed = wait_for_message(&sandbox, &conversation_id, &message.id, "FAILED", |m| {
        m.status() == MessageStatus::Failed
    })
    .await;
    assert!(
        failed.failure_reason.contains("131026") && failed.failure_reason.contains("Undeliverable"),
        "{}",
        failed.failure_reason
    );
}
