//! Group rules: round robin and least busy over online operators, waiting
//! on the group with nobody online, off hours, and routing validation.

use omnibus_proto::{
    ChannelSettings, CloseConversationRequest, ConversationStatus, GroupRule,
    ListConversationsRequest, NotificationKind, Routing, Schedule,
};
use omnibus_tests::Sandbox;

use super::{
    customer_writes, online, routing_settings, set_settings, upsert_group, wait_assigned,
    wait_conversation,
};
use crate::support::PATIENCE;
use crate::timers::{create_channel, texts_to, wait_for_text};

fn to_group(group: &str) -> ChannelSettings {
    routing_settings(Routing {
        group_id: group.into(),
        ..Default::default()
    })
}

#[tokio::test]
async fn round_robin_takes_the_online_operators_in_turn() {
    let sandbox = Sandbox::start().await;
    let (http, grpc) = (sandbox.http_url(), sandbox.grpc_url());
    upsert_group(
        &grpc,
        "support",
        &["op-a", "op-b", "op-c"],
        GroupRule::RoundRobin,
    )
    .await;
    let channel = create_channel(&grpc, to_group("support")).await;
    // op-b never connects: it is offline and skipped.
    let _a = online(&sandbox, "op-a").await;
    let _c = online(&sandbox, "op-c").await;

    let expected = ["op-a", "op-c", "op-a", "op-c"];
    for (i, operator) in (1..).zip(expected) {
        let id = customer_writes(&http, &channel, i, 500 + i).await;
        wait_assigned(&grpc, &id, operator, "support").await;
    }
    let mut api = sandbox.conversations().await;
    let listed = api
        .list_conversations(ListConversationsRequest {
            group_id: "support".into(),
            assignee_id: "op-a".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .conversations;
    assert_eq!(
        listed.len(),
        2,
        "op-a holds two of the group's conversations"
    );
}

#[tokio::test]
async fn least_busy_takes_the_operator_with_fewest_open_conversations() {
    let sandbox = Sandbox::start().await;
    let (http, grpc) = (sandbox.http_url(), sandbox.grpc_url());
    upsert_group(
        &grpc,
        "sales",
        &["op-c", "op-b", "op-a"],
        GroupRule::LeastBusy,
    )
    .await;
    let channel = create_channel(&grpc, to_group("sales")).await;
    let _a = online(&sandbox, "op-a").await;
    let _c = online(&sandbox, "op-c").await;

    // Ties go to the smaller id: a, then c (a has one), then a again.
    let mut ids = Vec::new();
    for (i, operator) in (1..).zip(["op-a", "op-c", "op-a", "op-c"]) {
        let id = customer_writes(&http, &channel, i, 600 + i).await;
        wait_assigned(&grpc, &id, operator, "sales").await;
        ids.push(id);
    }
    // op-c closes one: it is now the least busy, twice over the tie rule.
    let mut api = sandbox.conversations().await;
    api.close_conversation(CloseConversationRequest {
        id: ids[1].clone(),
        operator_id: "op-c".into(),
    })
    .await
    .expect("close");
    let id = customer_writes(&http, &channel, 10, 610).await;
    wait_assigned(&grpc, &id, "op-c", "sales").await;
    let id = customer_writes(&http, &channel, 11, 611).await;
    wait_assigned(&grpc, &id, "op-a", "sales").await;
}

#[tokio::test]
async fn with_nobody_online_it_waits_on_the_group_for_the_first_to_come() {
    let sandbox = Sandbox::start().await;
    let (http, grpc) = (sandbox.http_url(), sandbox.grpc_url());
    upsert_group(&grpc, "night", &["op-x", "op-y"], GroupRule::RoundRobin).await;
    let channel = create_channel(&grpc, to_group("night")).await;

    let first = customer_writes(&http, &channel, 1, 700).await;
    let second = customer_writes(&http, &channel, 2, 701).await;
    for id in [&first, &second] {
        wait_assigned(&grpc, id, "", "night").await;
    }
    let mut api = sandbox.conversations().await;
    let waiting = api
        .list_conversations(ListConversationsRequest {
            group_id: "night".into(),
            unassigned_only: true,
            status: ConversationStatus::Open as i32,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .conversations;
    assert_eq!(waiting.len(), 2, "both wait on the group");

    let mut stream = online(&sandbox, "op-y").await;
    for id in [&first, &second] {
        wait_assigned(&grpc, id, "op-y", "night").await;
    }
    // op-y is told, on its own stream.
    let mut told = Vec::new();
    while told.len() < 2 {
        let note = crate::notifications::next(&mut stream, PATIENCE).await;
        if note.kind() == NotificationKind::ConversationAssigned {
            told.push(note.conversation_id);
        }
    }
    told.sort();
    let mut expected = vec![first.clone(), second.clone()];
    expected.sort();
    assert_eq!(told, expected);
}

#[tokio::test]
async fn off_hours_conversations_wait_on_the_group_and_get_the_off_hours_reply() {
    let sandbox = Sandbox::start().await;
    let (http, grpc) = (sandbox.http_url(), sandbox.grpc_url());
    upsert_group(&grpc, "day", &["op-d"], GroupRule::RoundRobin).await;
    // A schedule without a single open interval: always off hours.
    let settings = ChannelSettings {
        schedule: Some(Schedule {
            timezone: "Europe/Moscow".into(),
            ..Default::default()
        }),
        off_hours_message: "We are closed.".into(),
        ..to_group("day")
    };
    let channel = create_channel(&grpc, settings).await;
    let _d = online(&sandbox, "op-d").await;

    let id = customer_writes(&http, &channel, 1, 800).await;
    wait_assigned(&grpc, &id, "", "day").await;
    wait_for_text(&sandbox.telegram, 800, "We are closed.", 1).await;
    assert_eq!(texts_to(&sandbox.telegram, 800), ["We are closed."]);
    let still = wait_conversation(&grpc, &id, "still waiting", |c| c.assignee_id.is_empty()).await;
    assert_eq!(still.group_id, "day");
}

#[tokio::test]
async fn routing_to_an_unknown_group_is_refused_with_a_readable_message() {
    let sandbox = Sandbox::start().await;
    let grpc = sandbox.grpc_url();
    let channel = create_channel(&grpc, ChannelSettings::default()).await;
    let refused = set_settings(&sandbox, &channel, to_group("nobody-made-me"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(
        refused.message().contains("not a known operator group"),
        "{}",
        refused.message()
    );
    let two_targets = routing_settings(Routing {
        operator_id: "op-1".into(),
        bot_id: "bot-1".into(),
        ..Default::default()
    });
    let refused = set_settings(&sandbox, &channel, two_targets)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    upsert_group(&grpc, "known", &["op-1"], GroupRule::LeastBusy).await;
    set_settings(&sandbox, &channel, to_group("known"))
        .await
        .expect("a known group is accepted");
}
