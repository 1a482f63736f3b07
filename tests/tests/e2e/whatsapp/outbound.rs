//! Operators' replies reach the Graph API, and every outcome is recorded:
//! sent, retried, refused outside the window, or failed with the channel
//! flagged. Also templates: sends, the status webhook, and the fetch the
//! window service's SyncTemplates relies on.

use omnibus_proto::{
    ChannelStatus, Event, GetChannelRequest, MessageRequested, MessageStatus, SendMessageRequest,
    TemplateRef, TemplateStatus, TemplatesFetchReply, TemplatesFetchRequest, event::Payload,
    templates_fetch_reply::Outcome,
};
use omnibus_testkit::wait_until;
use omnibus_tests::{Sandbox, whatsapp};
use omnibus_whatsapp_standin::webhook as meta;
use omnibus_whatsapp_standin::{Scripted, StandIn};
use prost::Message as _;
use serde_json::json;

use super::{WA_ID, bus, conversation, events_on};
use crate::support::{PATIENCE, wait_for_message};

fn reply(conversation_id: &str, text: &str) -> SendMessageRequest {
    SendMessageRequest {
        conversation_id: conversation_id.to_owned(),
        text: text.to_owned(),
        operator_id: "op-1".to_owned(),
        ..Default::default()
    }
}

async fn send(sandbox: &Sandbox, request: SendMessageRequest) -> String {
    let mut api = sandbox.conversations().await;
    api.send_message(request)
        .await
        .expect("send")
        .into_inner()
        .id
}

#[tokio::test]
async fn whatsapp_a_reply_reaches_whatsapp_and_becomes_sent_with_the_wamid() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let (channel_id, conversation_id) = conversation(&sandbox, &graph).await;
    let quoted = omnibus_core::ids::inbound_message_id(&channel_id, WA_ID, "wamid.FIRST");
    let message_id = send(
        &sandbox,
        SendMessageRequest {
            reply_to_message_id: quoted,
            ..reply(&conversation_id, "Yes, in blue too.")
        },
    )
    .await;
    let sent = wait_for_message(&sandbox, &conversation_id, &message_id, "SENT", |m| {
        m.status() == MessageStatus::Sent
    })
    .await;
    let calls = graph.sent();
    assert_eq!(calls.len(), 1);
    let body = &calls[0].body;
    assert_eq!(calls[0].phone_number_id(), Some(meta::PHONE_NUMBER_ID));
    assert_eq!(
        calls[0].authorization.as_deref(),
        Some(&*format!("Bearer {}", whatsapp::ACCESS_TOKEN))
    );
    assert_eq!(body["messaging_product"], "whatsapp");
    assert_eq!(body["to"], WA_ID);
    assert_eq!(body["type"], "text");
    assert_eq!(body["text"]["body"], "Yes, in blue too.");
    assert_eq!(body["context"]["message_id"], "wamid.FIRST");
    assert!(
        sent.provider_message_id.starts_with("wamid."),
        "{}",
        sent.provider_message_id
    );
}

#[tokio::test]
async fn whatsapp_a_rate_limit_is_retried_then_sent() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let (_, conversation_id) = conversation(&sandbox, &graph).await;
    graph.script(Scripted::rate_limited());
    let message_id = send(&sandbox, reply(&conversation_id, "Patience")).await;
    wait_for_message(&sandbox, &conversation_id, &message_id, "SENT", |m| {
        m.status() == MessageStatus::Sent
    })
    .await;
    assert_eq!(graph.send_attempts().len(), 2, "one throttled, one retried");
    assert_eq!(graph.sent().len(), 1);
}

#[tokio::test]
async fn whatsapp_an_expired_token_fails_the_message_and_flags_the_channel() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let (channel_id, conversation_id) = conversation(&sandbox, &graph).await;
    graph.script(Scripted::expired_token());
    let message_id = send(&sandbox, reply(&conversation_id, "Hello?")).await;
    let failed = wait_for_message(&sandbox, &conversation_id, &message_id, "FAILED", |m| {
        m.status() == MessageStatus::Failed
    })
    .await;
    assert!(
        failed.failure_reason.contains("access token"),
        "{}",
        failed.failure_reason
    );
    assert_eq!(graph.send_attempts().len(), 1, "not retried");
    let mut channels = sandbox.channels().await;
    let channel = wait_until("the channel in ERROR", PATIENCE, || {
        let request = GetChannelRequest {
            id: channel_id.clone(),
        };
        let mut channels = channels.clone();
        async move {
            let channel = channels.get_channel(request).await.ok()?.into_inner();
            (channel.status() == ChannelStatus::Error).then_some(channel)
        }
    })
    .await;
    assert_eq!(channel.status(), ChannelStatus::Error);
    let _ = channels
        .list_channels(omnibus_proto::ListChannelsRequest::default())
        .await;
}

#[tokio::test]
async fn whatsapp_131047_is_reported_to_the_window_service_not_failed() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let (_, conversation_id) = conversation(&sandbox, &graph).await;
    graph.script(Scripted::re_engagement());
    let message_id = send(&sandbox, reply(&conversation_id, "Still there?")).await;
    let subject = bus(&sandbox)
        .await
        .subjects()
        .conversation(&conversation_id);
    let outside = wait_until("MessageOutsideWindow", PATIENCE, || async {
        events_on(&sandbox, &subject)
            .await
            .into_iter()
            .find_map(|event| match event.payload {
                Some(Payload::MessageOutsideWindow(outside)) => Some(outside),
                _ => None,
            })
    })
    .await;
    assert_eq!(outside.message_id, message_id);
    assert_eq!(outside.provider_code, "131047");
    assert!(outside.reason.contains("24 hours"), "{}", outside.reason);
    let failed_by_ingress = events_on(&sandbox, &subject)
        .await
        .into_iter()
        .any(|e| e.id == format!("failed:{message_id}"));
    assert!(
        !failed_by_ingress,
        "the ingress leaves the decision to the window service"
    );
}

#[tokio::test]
async fn whatsapp_a_template_goes_out_with_its_body_parameters() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let (channel_id, conversation_id) = conversation(&sandbox, &graph).await;
    let bus = bus(&sandbox).await;
    // What the window service publishes once it approved a template send.
    let requested = MessageRequested {
        message_id: "msg_template1".into(),
        text: "Hi Sheena, your order A12345 shipped".into(),
        author_kind: omnibus_proto::AuthorKind::Operator as i32,
        template: Some(TemplateRef {
            name: "order_update_v1".into(),
            language: "en_US".into(),
            parameters: vec!["Sheena".into(), "A12345".into()],
            named_parameters: Default::default(),
        }),
        provider_chat_id: WA_ID.into(),
        channel_kind: omnibus_proto::ChannelKind::Whatsapp as i32,
        initial_status: MessageStatus::Pending as i32,
        ..Default::default()
    };
    let now = omnibus_core::now_ms();
    let event = Event {
        id: "window:send:msg_template1".into(),
        occurred_at_ms: now,
        recorded_at_ms: now,
        channel_id,
        conversation_id: conversation_id.clone(),
        payload: Some(Payload::MessageRequested(requested)),
    };
    bus.publish(bus.subjects().send("whatsapp", &conversation_id), &event)
        .await
        .expect("publish the send command");
    wait_for_message(&sandbox, &conversation_id, "msg_template1", "SENT", |m| {
        m.status() == MessageStatus::Sent
    })
    .await;
    let body = &graph.sent()[0].body;
    assert_eq!(body["type"], "template");
    assert_eq!(
        body["template"],
        json!({"name": "order_update_v1", "language": {"code": "en_US"},
               "components": [{"type": "body", "parameters": [
                   {"type": "text", "text": "Sheena"}, {"type": "text", "text": "A12345"}]}]})
    );
}

#[tokio::test]
async fn whatsapp_template_status_webhooks_and_fetches_reach_the_window_service() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let channel = whatsapp::channel(&sandbox, &graph).await;
    let client = reqwest::Client::new();
    let update = meta::template_status(1_234_567, "order_update_v1", "en_US", "APPROVED", "NONE");
    let status = whatsapp::post_signed(&client, &sandbox.http_url(), &channel.id, &update).await;
    assert_eq!(status, 200);
    let bus = bus(&sandbox).await;
    let subject = bus.subjects().template(&channel.id);
    let changed = wait_until("TemplateChanged", PATIENCE, || async {
        events_on(&sandbox, &subject)
            .await
            .into_iter()
            .find_map(|e| match e.payload {
                Some(Payload::TemplateChanged(changed)) => Some(changed),
                _ => None,
            })
    })
    .await;
    let template = changed.template.expect("template");
    assert_eq!(template.name, "order_update_v1");
    assert_eq!(template.status(), TemplateStatus::Approved);

    graph.set_templates(
        ["greeting", "order_update_v1", "survey"]
            .iter()
            .enumerate()
            .map(|(i, name)| {
                json!({"name": name, "language": "en_US", "status": "APPROVED",
                "category": "UTILITY", "id": (i + 1).to_string(),
                "components": [{"type": "HEADER", "format": "TEXT", "text": "Acme"},
                               {"type": "BODY", "text": "Hi {{1}}, order {{2}}"}]})
            })
            .collect(),
    );
    graph.set_page_size(2);
    let (_, snapshot) = bus
        .last_event(&bus.subjects().channel(&channel.id))
        .await
        .unwrap()
        .expect("the channel's snapshot");
    let Some(Payload::ChannelChanged(changed)) = snapshot.payload else {
        panic!("not a channel snapshot");
    };
    let request = TemplatesFetchRequest {
        channel: changed.state,
    };
    let answer = bus
        .client()
        .request(
            bus.subjects().rpc("templates.whatsapp"),
            request.encode_to_vec().into(),
        )
        .await
        .expect("an answer");
    let reply = TemplatesFetchReply::decode(answer.payload).expect("a reply");
    assert_eq!(reply.outcome(), Outcome::Ok, "{}", reply.message);
    let names: Vec<&str> = reply.templates.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["greeting", "order_update_v1", "survey"],
        "both pages"
    );
    assert_eq!(reply.templates[0].body, "Hi {{1}}, order {{2}}");
    assert_eq!(reply.templates[0].category, "UTILITY");
    let pages = graph
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/message_templates"))
        .count();
    assert_eq!(pages, 2);
}
