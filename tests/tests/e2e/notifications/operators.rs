//! Operators: who sees what on their stream, and the dashboard figures.

use omnibus_proto::operator_service_client::OperatorServiceClient;
use omnibus_proto::{
    AssignConversationRequest, ListOperatorsRequest, NotificationKind, Operator, Presence,
    SendMessageRequest, SetPresenceRequest, SubscribeRequest,
};
use omnibus_testkit::wait_until;
use omnibus_tests::{Sandbox, SandboxOptions};

use super::{SECRET, customer_in_chat_writes, next, subscribe};
use crate::support::{PATIENCE, wait_for_conversations};

async fn operator(sandbox: &Sandbox, id: &str) -> Option<Operator> {
    let mut client = OperatorServiceClient::connect(sandbox.grpc_url())
        .await
        .expect("connect");
    client
        .list_operators(ListOperatorsRequest {})
        .await
        .expect("list operators")
        .into_inner()
        .operators
        .into_iter()
        .find(|o| o.id == id)
}

async fn wait_for_operator(
    sandbox: &Sandbox,
    id: &str,
    what: &str,
    done: impl Fn(&Operator) -> bool,
) -> Operator {
    wait_until(what, PATIENCE, || async {
        operator(sandbox, id).await.filter(|o| done(o))
    })
    .await
}

fn for_operator(id: &str) -> SubscribeRequest {
    SubscribeRequest {
        operator_id: id.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn operators_see_their_own_and_unassigned_conversations() {
    let sandbox = Sandbox::start().await;
    let channel = sandbox.telegram_channel(SECRET).await;
    let mut mine = subscribe(&sandbox, for_operator("op-7")).await;
    let mut other = subscribe(&sandbox, for_operator("op-8")).await;

    customer_in_chat_writes(&sandbox, &channel.id, 1, 1, "first customer").await;
    let first = wait_for_conversations(&sandbox, 1).await.remove(0);
    sandbox
        .conversations()
        .await
        .assign_conversation(AssignConversationRequest {
            id: first.id.clone(),
            operator_id: "op-7".into(),
            group_id: String::new(),
        })
        .await
        .expect("assign");
    customer_in_chat_writes(&sandbox, &channel.id, 1, 2, "still me").await;
    customer_in_chat_writes(&sandbox, &channel.id, 2, 3, "second customer").await;

    let kinds = [
        NotificationKind::NewConversation,
        NotificationKind::NewMessage,
        NotificationKind::ConversationAssigned,
        NotificationKind::NewMessage,
        NotificationKind::NewConversation,
    ];
    for kind in kinds {
        assert_eq!(next(&mut mine, PATIENCE).await.kind(), kind);
    }
    // op-8 sees the unassigned first conversation, then nothing of op-7's,
    // then the second (unassigned) customer.
    assert_eq!(next(&mut other, PATIENCE).await.kind(), kinds[0]);
    assert_eq!(next(&mut other, PATIENCE).await.kind(), kinds[1]);
    let after = next(&mut other, PATIENCE).await;
    assert_eq!(after.kind(), NotificationKind::NewConversation);
    assert_ne!(after.conversation_id, first.id);
}

#[tokio::test]
async fn dashboard_shows_presence_handled_and_waiting() {
    dashboard(SandboxOptions::default()).await;
}

#[tokio::test]
async fn dashboard_figures_on_postgres() {
    dashboard(SandboxOptions {
        postgres: true,
        ..SandboxOptions::default()
    })
    .await;
}

async fn dashboard(options: SandboxOptions) {
    let sandbox = Sandbox::start_with(options).await;
    let channel = sandbox.telegram_channel(SECRET).await;
    let stream = subscribe(&sandbox, for_operator("op-7")).await;
    wait_for_operator(&sandbox, "op-7", "op-7 online", |o| {
        o.presence() == Presence::Online
    })
    .await;
    let mut operators = OperatorServiceClient::connect(sandbox.grpc_url())
        .await
        .expect("connect");
    for (chosen, shown) in [
        (Presence::Away, Presence::Away),
        (Presence::Online, Presence::Online),
    ] {
        let operator = operators
            .set_presence(SetPresenceRequest {
                operator_id: "op-7".into(),
                presence: chosen as i32,
            })
            .await
            .expect("set presence")
            .into_inner();
        assert_eq!(operator.presence(), shown);
    }
    let refused = operators
        .set_presence(SetPresenceRequest {
            operator_id: "op-7".into(),
            presence: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);

    customer_in_chat_writes(&sandbox, &channel.id, 1, 1, "help").await;
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    let mut api = sandbox.conversations().await;
    api.assign_conversation(AssignConversationRequest {
        id: conversation.id.clone(),
        operator_id: "op-7".into(),
        group_id: String::new(),
    })
    .await
    .expect("assign");
    wait_for_operator(&sandbox, "op-7", "one waiting", |o| {
        o.waiting == 1 && o.handled_today == 0
    })
    .await;

    api.send_message(SendMessageRequest {
        conversation_id: conversation.id.clone(),
        text: "On it.".into(),
        operator_id: "op-7".into(),
        ..Default::default()
    })
    .await
    .expect("reply");
    wait_for_operator(&sandbox, "op-7", "one handled, none waiting", |o| {
        o.waiting == 0 && o.handled_today == 1
    })
    .await;

    drop(stream);
    let away = wait_for_operator(&sandbox, "op-7", "op-7 away", |o| {
        o.presence() == Presence::Away
    })
    .await;
    assert!(away.last_seen_at.is_some());
}
