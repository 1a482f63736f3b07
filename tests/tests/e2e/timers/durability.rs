//! Deadlines survive `kill -9` and downtime, and fire exactly once.

use std::time::{Duration, Instant};

use omnibus_proto::{
    ChannelSettings, CloseReason, ConversationStatus,
    conversation_service_client::ConversationServiceClient,
};
use omnibus_testkit::wait_until;
use omnibus_tests::child::ChildServer;
use omnibus_tests::{Sandbox, SandboxOptions};

use super::{
    conversation_of, create_channel, customer_writes, texts_to, wait_for_status, wait_for_text,
};
use crate::support::PATIENCE;

const BINARY: &str = env!("CARGO_BIN_EXE_omnibus-under-test");

#[tokio::test]
async fn kill_9_while_a_timer_is_armed_fires_it_once_after_restart() {
    let sandbox = Sandbox::start_with(SandboxOptions {
        no_server: true,
        ..Default::default()
    })
    .await;
    let env = sandbox.env();
    let mut server = ChildServer::start(BINARY, &env).await;
    let settings = ChannelSettings {
        inactivity_close_seconds: Some(3),
        closing_message: "Closing after silence.".into(),
        ..Default::default()
    };
    let channel_id = create_channel(&server.grpc_url(), settings).await;
    let chat = 901;
    customer_writes(&server.http_url(), &channel_id, 1, chat, "hi").await;
    let api = ConversationServiceClient::connect(server.grpc_url())
        .await
        .unwrap();
    let id = conversation_of(&api, &channel_id, chat).await;
    server.kill9();

    let server = ChildServer::start(BINARY, &env).await;
    let api = ConversationServiceClient::connect(server.grpc_url())
        .await
        .unwrap();
    let closed = wait_for_status(&api, &id, ConversationStatus::Closed).await;
    assert_eq!(closed.close_reason(), CloseReason::Inactivity);
    wait_for_text(&sandbox.telegram, chat, "Closing after silence.", 1).await;

    // A second round proves the first fired once: reopen, close again, and
    // exactly two closing messages exist.
    customer_writes(&server.http_url(), &channel_id, 2, chat, "again").await;
    wait_for_status(&api, &id, ConversationStatus::Open).await;
    wait_for_status(&api, &id, ConversationStatus::Closed).await;
    wait_for_text(&sandbox.telegram, chat, "Closing after silence.", 2).await;
    let texts = texts_to(&sandbox.telegram, chat);
    assert_eq!(
        texts.len(),
        2,
        "each close sent its message once: {texts:?}"
    );
}

#[tokio::test]
async fn a_timer_that_fell_due_while_down_fires_right_after_start() {
    fires_after_downtime(SandboxOptions::default()).await;
}

#[tokio::test]
async fn a_timer_that_fell_due_while_down_fires_right_after_start_on_postgres() {
    fires_after_downtime(SandboxOptions {
        postgres: true,
        ..Default::default()
    })
    .await;
}

async fn fires_after_downtime(options: SandboxOptions) {
    let mut sandbox = Sandbox::start_with(options).await;
    let settings = ChannelSettings {
        inactivity_close_seconds: Some(3),
        closing_message: "Closed while you were away.".into(),
        ..Default::default()
    };
    let channel_id = create_channel(&sandbox.grpc_url(), settings).await;
    let chat = 1_001;
    customer_writes(&sandbox.http_url(), &channel_id, 1, chat, "hi").await;
    let written = omnibus_core::now_ms();
    let api = sandbox.conversations().await;
    let id = conversation_of(&api, &channel_id, chat).await;
    sandbox.stop_server().await;
    assert!(
        texts_to(&sandbox.telegram, chat).is_empty(),
        "stopped before the deadline"
    );

    wait_until("the deadline to pass while down", PATIENCE, || async {
        (omnibus_core::now_ms() > written + 4_000).then_some(())
    })
    .await;
    sandbox.start_server().await;
    let started = Instant::now();
    let api = sandbox.conversations().await;
    let closed = wait_for_status(&api, &id, ConversationStatus::Closed).await;
    assert_eq!(closed.close_reason(), CloseReason::Inactivity);
    wait_for_text(&sandbox.telegram, chat, "Closed while you were away.", 1).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "overdue timers fire right after start: {:?}",
        started.elapsed()
    );
    assert_eq!(texts_to(&sandbox.telegram, chat).len(), 1);
}
