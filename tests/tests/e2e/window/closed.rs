//! Outside the window: refused without a default template, held and
//! released in order with one; inside it: sent at once.

use omnibus_proto::{ListMessagesRequest, MessageStatus};
use omnibus_testkit::wait_until;
use omnibus_tests::{Sandbox, SandboxOptions};
use omnibus_whatsapp_standin::StandIn;

use crate::support::{PATIENCE, all_messages};

use super::{
    conversations_api, create_channel, customer_writes, received, send, set_default_template,
    wait_received, window_of,
};

#[tokio::test]
async fn free_text_25_hours_after_the_customer_wrote_is_refused_without_a_default_template() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let (http, grpc) = (sandbox.http_url(), sandbox.grpc_url());
    let channel_id = create_channel(&grpc, &graph, true).await;
    let conversation = customer_writes(&http, &grpc, &channel_id, "wamid.old", 25, "hi").await;

    let window = window_of(&grpc, &conversation).await.unwrap();
    assert!(window.windowed && !window.open, "{window:?}");
    let shown = super::omnictl_json(
        &grpc,
        omnictl::Command::Window(omnictl::templates::WindowArgs {
            conversation_id: conversation.clone(),
        }),
    )
    .await;
    assert_eq!(shown["open"], false, "omnictl window: {shown}");
    assert_eq!(shown["windowed"], true);
    let expires = window.expires_at.unwrap().seconds;
    let wrote = window.last_customer_message_at.unwrap().seconds;
    assert_eq!(expires - wrote, 24 * 3600);

    let refused = send(&grpc, &conversation, "Sorry for the wait!")
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        tonic::Code::FailedPrecondition,
        "{refused:?}"
    );
    assert!(
        refused.message().contains("24-hour window closed at"),
        "{}",
        refused.message()
    );
    assert!(
        refused.message().contains("default_template"),
        "{}",
        refused.message()
    );
    let messages = conversations_api(&grpc)
        .await
        .list_messages(ListMessagesRequest {
            conversation_id: conversation.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .messages;
    assert_eq!(messages.len(), 1, "only the customer's message is stored");
    assert!(graph.sent().is_empty());
}

#[tokio::test]
async fn held_messages_go_out_once_and_in_order_after_the_customer_answers_the_default_template() {
    held_and_released(SandboxOptions::default()).await;
}

#[tokio::test]
async fn held_messages_go_out_once_and_in_order_after_the_customer_answers_on_postgres() {
    held_and_released(SandboxOptions {
        postgres: true,
        ..Default::default()
    })
    .await;
}

async fn held_and_released(options: SandboxOptions) {
    let sandbox = Sandbox::start_with(options).await;
    let graph = StandIn::start().await;
    let (http, grpc) = (sandbox.http_url(), sandbox.grpc_url());
    let channel_id = create_channel(&grpc, &graph, true).await;
    set_default_template(&grpc, &channel_id, "Hi! Shall we continue here?").await;
    let conversation = customer_writes(&http, &grpc, &channel_id, "wamid.old", 25, "hi").await;

    let first = send(&grpc, &conversation, "first").await.unwrap();
    let second = send(&grpc, &conversation, "second").await.unwrap();
    assert_eq!(first.status(), MessageStatus::Held, "{first:?}");
    assert_eq!(second.status(), MessageStatus::Held);
    // SendMessage answers from the event it stored, not from a query: the
    // same message the history lists.
    let listed = all_messages(&sandbox, &conversation).await;
    for sent in [&first, &second] {
        let stored = listed.iter().find(|m| m.id == sent.id);
        assert_eq!(stored, Some(sent), "as listed");
    }
    let got = wait_received(&graph, "template:reopen").await;
    assert_eq!(got, ["template:reopen"], "one template, no free text yet");
    wait_until("both messages held", PATIENCE, || async {
        let window = window_of(&grpc, &conversation).await?;
        (window.held_messages == 2).then_some(())
    })
    .await;

    customer_writes(&http, &grpc, &channel_id, "wamid.new", 0, "yes").await;
    wait_received(&graph, "second").await;
    send(&grpc, &conversation, "witness").await.unwrap();
    let got = wait_received(&graph, "witness").await;
    assert_eq!(got, ["template:reopen", "first", "second", "witness"]);
    let window = window_of(&grpc, &conversation).await.unwrap();
    assert!(window.open && window.held_messages == 0, "{window:?}");
}

#[tokio::test]
async fn free_text_inside_the_window_is_sent_at_once() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let (http, grpc) = (sandbox.http_url(), sandbox.grpc_url());
    let channel_id = create_channel(&grpc, &graph, true).await;
    let conversation = customer_writes(&http, &grpc, &channel_id, "wamid.1", 23, "hi").await;
    let window = window_of(&grpc, &conversation).await.unwrap();
    assert!(window.open, "{window:?}");
    let message = send(&grpc, &conversation, "Here to help").await.unwrap();
    assert_ne!(message.status(), MessageStatus::Held, "the window is open");
    wait_received(&graph, "Here to help").await;
    assert_eq!(received(&graph), ["Here to help"]);
}
