//! Operators writing first, where each messenger allows it.

use omnibus_proto::template_service_client::TemplateServiceClient;
use omnibus_proto::{
    ConversationStatus, DeleteChannelRequest, StartConversationRequest, TemplateRef,
    TemplateStatus, UpsertTemplateRequest,
};
use omnibus_testkit::wait_until;
use omnibus_tests::{Sandbox, whatsapp};
use omnibus_whatsapp_standin::StandIn;
use tonic::Code;

use super::{SECRET, all_contacts, telegram_writes};
use crate::support::PATIENCE;

fn start(channel_id: &str) -> StartConversationRequest {
    StartConversationRequest {
        channel_id: channel_id.to_owned(),
        operator_id: "op-1".into(),
        ..Default::default()
    }
}

fn order_update() -> Option<TemplateRef> {
    Some(TemplateRef {
        name: "order_update".into(),
        parameters: vec!["Ivan".into()],
        ..Default::default()
    })
}

#[tokio::test]
async fn whatsapp_starts_to_any_phone_with_a_template_only() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let wa = whatsapp::channel(&sandbox, &graph).await;
    TemplateServiceClient::connect(sandbox.grpc_url())
        .await
        .unwrap()
        .upsert_template(UpsertTemplateRequest {
            channel_id: wa.id.clone(),
            name: "order_update".into(),
            language: "en_US".into(),
            body: "Hi {{1}}, your order has shipped.".into(),
            category: "UTILITY".into(),
            status: TemplateStatus::Approved as i32,
        })
        .await
        .unwrap();
    let mut api = sandbox.conversations().await;

    let free_text = api
        .start_conversation(StartConversationRequest {
            phone: "8 912 345 67 89".into(),
            text: "Hello!".into(),
            ..start(&wa.id)
        })
        .await
        .unwrap_err();
    assert_eq!(free_text.code(), Code::FailedPrecondition, "{free_text:?}");
    let bad_phone = api
        .start_conversation(StartConversationRequest {
            phone: "call me".into(),
            template: order_update(),
            ..start(&wa.id)
        })
        .await
        .unwrap_err();
    assert_eq!(bad_phone.code(), Code::InvalidArgument);

    let started = api
        .start_conversation(StartConversationRequest {
            phone: "8 912 345 67 89".into(),
            template: order_update(),
            idempotency_key: "k-1".into(),
            ..start(&wa.id)
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(started.status(), ConversationStatus::Open);
    assert_eq!(started.assignee_id, "op-1");
    let sent = wait_until("the template sent", PATIENCE, || async {
        graph.sent().into_iter().next()
    })
    .await;
    assert_eq!(sent.body["to"], "79123456789");
    assert_eq!(sent.body["type"], "template");
    let again = api
        .start_conversation(StartConversationRequest {
            phone: "+79123456789".into(),
            template: order_update(),
            idempotency_key: "k-1".into(),
            ..start(&wa.id)
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.id, started.id, "the open conversation is reused");
    let contacts = all_contacts(&sandbox).await;
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].phones, ["+79123456789"]);
    assert_eq!(started.contact_id, contacts[0].id);
    assert_eq!(graph.sent().len(), 1, "the repeated key sent nothing");

    sandbox
        .channels()
        .await
        .delete_channel(DeleteChannelRequest { id: wa.id.clone() })
        .await
        .unwrap();
    let deleted = api
        .start_conversation(StartConversationRequest {
            contact_id: contacts[0].id.clone(),
            template: order_update(),
            ..start(&wa.id)
        })
        .await
        .unwrap_err();
    assert_eq!(deleted.code(), Code::FailedPrecondition);
    assert!(
        deleted.message().contains("deleted"),
        "{}",
        deleted.message()
    );
}

#[tokio::test]
async fn telegram_starts_only_with_people_who_wrote_to_the_bot() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let wa = whatsapp::channel(&sandbox, &graph).await;
    let tg = sandbox.telegram_channel(SECRET).await;
    let tg_other = sandbox.telegram_channel(SECRET).await;
    telegram_writes(&sandbox, &tg.id, 1, 4242, "Ivan").await;
    let ivan = wait_until("Ivan's contact", PATIENCE, || async {
        all_contacts(&sandbox).await.pop()
    })
    .await;
    let mut api = sandbox.conversations().await;

    let unknown_phone = api
        .start_conversation(StartConversationRequest {
            phone: "+79123456789".into(),
            text: "Hello".into(),
            ..start(&tg.id)
        })
        .await
        .unwrap_err();
    assert_eq!(unknown_phone.code(), Code::FailedPrecondition);
    assert!(
        unknown_phone.message().contains("wrote to this bot"),
        "{}",
        unknown_phone.message()
    );
    let other_bot = api
        .start_conversation(StartConversationRequest {
            contact_id: ivan.id.clone(),
            text: "Hello".into(),
            ..start(&tg_other.id)
        })
        .await
        .unwrap_err();
    assert_eq!(
        other_bot.code(),
        Code::FailedPrecondition,
        "another bot never saw Ivan"
    );
    let no_phone = api
        .start_conversation(StartConversationRequest {
            contact_id: ivan.id.clone(),
            template: order_update(),
            ..start(&wa.id)
        })
        .await
        .unwrap_err();
    assert_eq!(no_phone.code(), Code::FailedPrecondition);
    assert!(
        no_phone.message().contains("phone"),
        "{}",
        no_phone.message()
    );

    let started = api
        .start_conversation(StartConversationRequest {
            contact_id: ivan.id.clone(),
            text: "Your order has shipped".into(),
            ..start(&tg.id)
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(started.channel_id, tg.id);
    assert_eq!(started.contact_id, ivan.id);
    let nobody = api
        .start_conversation(StartConversationRequest {
            contact_id: "ct_nobody".into(),
            ..start(&tg.id)
        })
        .await
        .unwrap_err();
    assert_eq!(nobody.code(), Code::NotFound);
}
