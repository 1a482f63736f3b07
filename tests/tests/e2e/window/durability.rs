//! A held message survives `kill -9` and goes out exactly once after the
//! restart, when the customer answers.

use omnibus_proto::MessageStatus;
use omnibus_testkit::wait_until;
use omnibus_tests::child::ChildServer;
use omnibus_tests::{Sandbox, SandboxOptions};
use omnibus_whatsapp_standin::StandIn;

use crate::support::PATIENCE;

use super::{create_channel, customer_writes, send, set_default_template, wait_received};

const BINARY: &str = env!("CARGO_BIN_EXE_omnibus-under-test");

#[tokio::test]
async fn kill_9_with_a_held_message_releases_it_once_after_restart() {
    let sandbox = Sandbox::start_with(SandboxOptions {
        no_server: true,
        ..Default::default()
    })
    .await;
    let graph = StandIn::start().await;
    let env = sandbox.env();
    let mut server = ChildServer::start(BINARY, &env).await;
    let (http, grpc) = (server.http_url(), server.grpc_url());
    let channel_id = create_channel(&grpc, &graph, true).await;
    set_default_template(&grpc, &channel_id, "Hi! Shall we continue?").await;
    let conversation = customer_writes(&http, &grpc, &channel_id, "wamid.old", 26, "hi").await;
    let held = send(&grpc, &conversation, "held through a crash")
        .await
        .unwrap();
    assert_eq!(held.status(), MessageStatus::Held);
    wait_received(&graph, "template:reopen").await;
    // Killed before the template's ack, the next process would hold the
    // released message back until the template came back (30 s ack_wait).
    wait_until("the template acknowledged", PATIENCE, || async {
        (sandbox.unacknowledged("ingress-whatsapp-send").await == 0).then_some(())
    })
    .await;
    server.kill9();

    let server = ChildServer::start(BINARY, &env).await;
    let (http, grpc) = (server.http_url(), server.grpc_url());
    customer_writes(&http, &grpc, &channel_id, "wamid.new", 0, "I'm here").await;
    wait_received(&graph, "held through a crash").await;
    send(&grpc, &conversation, "witness").await.unwrap();
    let got = wait_received(&graph, "witness").await;
    assert_eq!(got, ["template:reopen", "held through a crash", "witness"]);
}
