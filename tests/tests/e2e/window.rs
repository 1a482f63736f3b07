//! The 24-hour window end to end: WhatsApp webhooks whose `timestamp` is
//! the customer's real time, the conversations API asking the window
//! service, the gate holding and releasing, and a Graph API stand-in that
//! shows what the customer received.
//!
//! Absence ("released once") is shown without sleeping: a witness message
//! sent after the release is awaited, and the gate forwards a conversation's
//! messages in order, so anything doubled would have reached the stand-in
//! before the witness.

mod closed;
mod durability;
mod templates;

use omnibus_proto::{
    ChannelKind, ChannelSettings, CreateChannelRequest, GetWindowRequest, ListConversationsRequest,
    SendMessageRequest, TemplateStatus, UpdateChannelRequest, UpsertTemplateRequest, Window,
    channel_service_client::ChannelServiceClient,
    conversation_service_client::ConversationServiceClient,
    template_service_client::TemplateServiceClient,
};
use omnibus_testkit::wait_until;
use omnibus_tests::whatsapp::{
    ACCESS_TOKEN, APP_SECRET, BUSINESS_ACCOUNT_ID, VERIFY_TOKEN, post_signed,
};
use omnibus_whatsapp_standin::StandIn;
use omnibus_whatsapp_standin::webhook::{self, Customer, PHONE_NUMBER_ID};
use tonic::transport::Channel as Grpc;

use crate::support::PATIENCE;

const HOUR_S: i64 = 3_600;

pub(super) async fn templates_api(grpc: &str) -> TemplateServiceClient<Grpc> {
    TemplateServiceClient::connect(grpc.to_owned())
        .await
        .unwrap()
}

pub(super) async fn conversations_api(grpc: &str) -> ConversationServiceClient<Grpc> {
    ConversationServiceClient::connect(grpc.to_owned())
        .await
        .unwrap()
}

/// A WhatsApp channel on `graph`, with or without a business account id.
pub(super) async fn create_channel(grpc: &str, graph: &StandIn, with_account: bool) -> String {
    let mut credentials: std::collections::HashMap<String, String> = [
        ("access_token", ACCESS_TOKEN),
        ("app_secret", APP_SECRET),
        ("verify_token", VERIFY_TOKEN),
        ("phone_number_id", PHONE_NUMBER_ID),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    if with_account {
        credentials.insert("business_account_id".into(), BUSINESS_ACCOUNT_ID.into());
    }
    let request = CreateChannelRequest {
        kind: ChannelKind::Whatsapp as i32,
        credentials,
        api_base_url: graph.base_url(),
        ..Default::default()
    };
    let mut channels = ChannelServiceClient::connect(grpc.to_owned())
        .await
        .unwrap();
    channels
        .create_channel(request)
        .await
        .unwrap()
        .into_inner()
        .id
}

/// An approved template without parameters, made the channel's default.
pub(super) async fn set_default_template(grpc: &str, channel_id: &str, body: &str) {
    let template = UpsertTemplateRequest {
        channel_id: channel_id.to_owned(),
        name: "reopen".into(),
        language: "en_US".into(),
        body: body.into(),
        category: "UTILITY".into(),
        status: TemplateStatus::Approved as i32,
    };
    templates_api(grpc)
        .await
        .upsert_template(template)
        .await
        .unwrap();
    let update = UpdateChannelRequest {
        id: channel_id.to_owned(),
        settings: Some(ChannelSettings {
            default_template: "reopen".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut channels = ChannelServiceClient::connect(grpc.to_owned())
        .await
        .unwrap();
    channels.update_channel(update).await.unwrap();
}

/// The customer writes `text`, sent `hours_ago` by the provider's clock;
/// returns the conversation once the window service has seen it.
pub(super) async fn customer_writes(
    http: &str,
    grpc: &str,
    channel_id: &str,
    wamid: &str,
    hours_ago: i64,
    text: &str,
) -> String {
    let customer = Customer::default();
    let sent_at = omnibus_core::now_ms() / 1000 - hours_ago * HOUR_S;
    let message = webhook::text(&customer.wa_id, wamid, sent_at, text);
    let payload = webhook::messages(PHONE_NUMBER_ID, &customer, vec![message]);
    let client = reqwest::Client::new();
    let status = post_signed(&client, http, channel_id, &payload).await;
    assert_eq!(status, 200, "webhook accepted");
    let conversation = conversation_of(grpc, channel_id).await;
    wait_until("the window to follow the customer", PATIENCE, || async {
        let window = window_of(grpc, &conversation).await?;
        let at = window.last_customer_message_at?;
        (at.seconds == sent_at).then_some(())
    })
    .await;
    conversation
}

async fn conversation_of(grpc: &str, channel_id: &str) -> String {
    wait_until("the conversation", PATIENCE, || async {
        let request = ListConversationsRequest {
            channel_id: channel_id.to_owned(),
            ..Default::default()
        };
        let page = conversations_api(grpc)
            .await
            .list_conversations(request)
            .await
            .ok()?
            .into_inner();
        page.conversations.first().map(|c| c.id.clone())
    })
    .await
}

pub(super) async fn window_of(grpc: &str, conversation_id: &str) -> Option<Window> {
    let request = GetWindowRequest {
        conversation_id: conversation_id.to_owned(),
    };
    let window = templates_api(grpc).await.get_window(request).await.ok()?;
    Some(window.into_inner())
}

pub(super) async fn send(
    grpc: &str,
    conversation_id: &str,
    text: &str,
) -> Result<omnibus_proto::Message, tonic::Status> {
    let request = SendMessageRequest {
        conversation_id: conversation_id.to_owned(),
        text: text.to_owned(),
        ..Default::default()
    };
    conversations_api(grpc)
        .await
        .send_message(request)
        .await
        .map(|r| r.into_inner())
}

/// Runs `omnictl --json <command>` in-process against `grpc`.
pub(super) async fn omnictl_json(grpc: &str, command: omnictl::Command) -> serde_json::Value {
    let cli = omnictl::Cli {
        addr: grpc.to_owned(),
        token: None,
        json: true,
        command,
    };
    let mut out = Vec::new();
    omnictl::run_with(cli, &mut out)
        .await
        .expect("omnictl succeeds");
    serde_json::from_slice(&out).expect("one JSON document")
}

/// What the customer received, in order: texts as they are, templates as
/// `template:<name>`.
pub(super) fn received(graph: &StandIn) -> Vec<String> {
    graph
        .sent()
        .into_iter()
        .map(|r| match r.body["type"].as_str() {
            Some("template") => format!(
                "template:{}",
                r.body["template"]["name"].as_str().unwrap_or("")
            ),
            _ => r.body["text"]["body"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        })
        .collect()
}

/// Waits until the customer received `what` and returns everything received.
pub(super) async fn wait_received(graph: &StandIn, what: &str) -> Vec<String> {
    wait_until(
        &format!("{what:?} at the Graph stand-in"),
        PATIENCE,
        || async {
            let all = received(graph);
            all.iter().any(|r| r == what).then_some(all)
        },
    )
    .await
}
