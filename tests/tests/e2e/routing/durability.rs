//! Decisions are events with deterministic ids: a restart replays them
//! without assigning again, and two router replicas assign once.

use omnibus_proto::{GroupRule, Routing};
use omnibus_tests::Sandbox;
use omnibus_tests::child::ChildServer;

use super::{
    assignments, customer_writes, routing_settings, upsert_group, wait_assigned,
    wait_presence_recorded,
};
use crate::timers::create_channel;

const BINARY: &str = env!("CARGO_BIN_EXE_omnibus-under-test");

fn to_group(group: &str) -> omnibus_proto::ChannelSettings {
    routing_settings(Routing {
        group_id: group.into(),
        ..Default::default()
    })
}

#[tokio::test]
async fn a_restart_replays_the_same_assignments_and_continues_the_turn() {
    let mut sandbox = Sandbox::start().await;
    let grpc = sandbox.grpc_url();
    upsert_group(
        &grpc,
        "rr",
        &["op-1", "op-2", "op-3"],
        GroupRule::RoundRobin,
    )
    .await;
    let channel = create_channel(&grpc, to_group("rr")).await;
    let first_online = super::online(&sandbox, "op-1").await;
    let second_online = super::online(&sandbox, "op-3").await;
    let mut ids = Vec::new();
    for (i, operator) in (1..).zip(["op-1", "op-3", "op-1"]) {
        let id = customer_writes(&sandbox.http_url(), &channel, i, 300 + i).await;
        wait_assigned(&grpc, &id, operator, "rr").await;
        ids.push(id);
    }
    drop((first_online, second_online));
    sandbox.restart_server().await;
    let grpc = sandbox.grpc_url();
    let _op1 = super::online(&sandbox, "op-1").await;
    let _op3 = super::online(&sandbox, "op-3").await;

    // The replayed turn order continues where it was: op-3 is next.
    let id = customer_writes(&sandbox.http_url(), &channel, 10, 310).await;
    wait_assigned(&grpc, &id, "op-3", "rr").await;
    ids.push(id);
    for id in &ids {
        assert_eq!(assignments(&grpc, id).await.len(), 1, "{id} assigned once");
    }
}

#[tokio::test]
async fn two_router_replicas_assign_once_even_when_the_active_one_is_killed() {
    let sandbox = Sandbox::for_processes().await;
    let env = sandbox.env();
    let conversations = ChildServer::start_service(BINARY, "conversations", &env).await;
    let ingress = ChildServer::start_service(BINARY, "ingress-telegram", &env).await;
    let notifications = ChildServer::start_service(BINARY, "notifications", &env).await;
    let mut active = ChildServer::start_service(BINARY, "routing", &env).await;
    let _standby = ChildServer::start_service(BINARY, "routing", &env).await;
    let (http, grpc) = (ingress.http_url(), conversations.grpc_url());
    upsert_group(
        &notifications.grpc_url(),
        "duo",
        &["op-1", "op-2"],
        GroupRule::RoundRobin,
    )
    .await;
    let channel = create_channel(&grpc, to_group("duo")).await;
    let mut streams = Vec::new();
    for operator in ["op-1", "op-2"] {
        let mut client =
            omnibus_proto::notification_service_client::NotificationServiceClient::connect(
                notifications.grpc_url(),
            )
            .await
            .expect("connect");
        let stream = client
            .subscribe(omnibus_proto::SubscribeRequest {
                operator_id: operator.into(),
                ..Default::default()
            })
            .await
            .expect("subscribe")
            .into_inner();
        wait_presence_recorded(
            &sandbox.nats.url(),
            operator,
            omnibus_proto::Presence::Online,
        )
        .await;
        streams.push(stream);
    }
    let turn = ["op-1", "op-2"];
    let mut ids = Vec::new();
    for i in 0..3 {
        let id = customer_writes(&http, &channel, i + 1, 400 + i).await;
        wait_assigned(&grpc, &id, turn[(i % 2) as usize], "duo").await;
        ids.push(id);
    }
    // The first started holds the lease; the standby takes over.
    active.kill9();
    for i in 3..5 {
        let id = customer_writes(&http, &channel, i + 1, 400 + i).await;
        wait_assigned(&grpc, &id, turn[(i % 2) as usize], "duo").await;
        ids.push(id);
    }
    for id in &ids {
        assert_eq!(assignments(&grpc, id).await.len(), 1, "{id} assigned once");
    }
}
