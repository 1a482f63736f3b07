//! Routing: who gets a new conversation — operator groups (round robin,
//! least busy, waiting with nobody online), a bot with its fallback, off
//! hours — and that restarts and replicas never assign twice.

mod bot;
mod channels;
mod durability;
mod groups;

use omnibus_proto::operator_service_client::OperatorServiceClient;
use omnibus_proto::{
    ChannelSettings, Conversation, GetConversationRequest, GroupRule,
    ListConversationEventsRequest, Notification, Presence, PresenceChanged, Routing,
    SubscribeRequest, UpdateChannelRequest, UpsertGroupRequest, event::Payload,
};
use omnibus_testkit::wait_until;
use omnibus_tests::Sandbox;
use prost::Message as _;
use tonic::Streaming;

use crate::support::PATIENCE;

/// Creates or replaces group `id`.
async fn upsert_group(grpc: &str, id: &str, operators: &[&str], rule: GroupRule) {
    let mut client = OperatorServiceClient::connect(grpc.to_owned())
        .await
        .expect("connect");
    client
        .upsert_group(UpsertGroupRequest {
            id: id.into(),
            name: format!("group {id}"),
            operator_ids: operators.iter().map(|s| (*s).to_owned()).collect(),
            rule: rule as i32,
        })
        .await
        .expect("upsert group");
}

/// Sets the channel's settings (routing and the rest).
async fn set_settings(
    sandbox: &Sandbox,
    channel_id: &str,
    settings: ChannelSettings,
) -> Result<(), tonic::Status> {
    sandbox
        .channels()
        .await
        .update_channel(UpdateChannelRequest {
            id: channel_id.into(),
            settings: Some(settings),
            ..Default::default()
        })
        .await
        .map(|_| ())
}

fn routing_settings(routing: Routing) -> ChannelSettings {
    ChannelSettings {
        routing: Some(routing),
        ..Default::default()
    }
}

/// Brings `operator` online (an open notification stream) and waits until
/// the presence change is on the stream, so later events come after it.
async fn online(sandbox: &Sandbox, operator: &str) -> Streaming<Notification> {
    let stream = sandbox
        .notifications()
        .await
        .subscribe(SubscribeRequest {
            operator_id: operator.into(),
            ..Default::default()
        })
        .await
        .expect("subscribe")
        .into_inner();
    wait_presence_recorded(&sandbox.nats.url(), operator, Presence::Online).await;
    stream
}

/// Waits until the last presence event says `operator` is `presence`.
async fn wait_presence_recorded(nats_url: &str, operator: &str, presence: Presence) {
    let client = async_nats::connect(nats_url).await.expect("nats");
    let js = async_nats::jetstream::new(client);
    wait_until("the presence change on the stream", PATIENCE, || {
        let js = js.clone();
        async move {
            let stream = js.get_stream("OMNIBUS").await.ok()?;
            let last = stream
                .get_last_raw_message_by_subject("omnibus.presence")
                .await
                .ok()?;
            let event = omnibus_proto::Event::decode(last.payload).ok()?;
            match event.payload {
                Some(Payload::PresenceChanged(PresenceChanged {
                    operator_id,
                    presence: shown,
                })) if operator_id == operator && shown == presence as i32 => Some(()),
                _ => None,
            }
        }
    })
    .await;
}

/// The customer in `chat` writes (a Telegram channel made by
/// [`crate::timers::create_channel`]); returns the conversation's id.
async fn customer_writes(http: &str, channel_id: &str, update_id: i64, chat: i64) -> String {
    crate::timers::customer_writes(http, channel_id, update_id, chat, "hello, anyone?").await;
    omnibus_core::ids::conversation_id(channel_id, &chat.to_string())
}

/// Waits until the conversation satisfies `done`.
async fn wait_conversation(
    grpc: &str,
    id: &str,
    what: &str,
    done: impl Fn(&Conversation) -> bool,
) -> Conversation {
    let api = omnibus_proto::conversation_service_client::ConversationServiceClient::connect(
        grpc.to_owned(),
    )
    .await
    .expect("connect");
    wait_until(what, PATIENCE, || {
        let mut api = api.clone();
        let id = id.to_owned();
        async move {
            api.get_conversation(GetConversationRequest { id })
                .await
                .ok()
                .map(|r| r.into_inner())
        }
    })
    .await;
    wait_until(what, PATIENCE, || {
        let mut api = api.clone();
        let id = id.to_owned();
        let done = &done;
        async move {
            let conversation = api
                .get_conversation(GetConversationRequest { id })
                .await
                .ok()?
                .into_inner();
            done(&conversation).then_some(conversation)
        }
    })
    .await
}

/// Waits until the conversation is assigned to `operator` (and `group`).
async fn wait_assigned(grpc: &str, id: &str, operator: &str, group: &str) -> Conversation {
    let what = format!("{id} assigned to {operator:?} in group {group:?}");
    wait_conversation(grpc, id, &what, |c| {
        c.assignee_id == operator && c.group_id == group
    })
    .await
}

/// The `(operator, group)` of every assignment of a conversation, in order.
async fn assignments(grpc: &str, id: &str) -> Vec<(String, String)> {
    let mut api = omnibus_proto::conversation_service_client::ConversationServiceClient::connect(
        grpc.to_owned(),
    )
    .await
    .expect("connect");
    let events = api
        .list_conversation_events(ListConversationEventsRequest {
            conversation_id: id.into(),
        })
        .await
        .expect("events")
        .into_inner()
        .events;
    events
        .into_iter()
        .filter(|e| e.kind == "assigned")
        .map(|e| {
            let json: serde_json::Value = serde_json::from_str(&e.json).expect("event json");
            let assigned = &json["conversation_assigned"];
            let field = |name: &str| assigned[name].as_str().unwrap_or("").to_owned();
            (field("operator_id"), field("group_id"))
        })
        .collect()
}
