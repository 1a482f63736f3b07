//! Templates: parameters checked before anything is stored, sent with
//! their values, and synced from the provider across pages.

use omnibus_proto::{
    ListMessagesRequest, ListTemplatesRequest, SendMessageRequest, SyncTemplatesRequest,
    TemplateRef, TemplateStatus, UpsertTemplateRequest,
};
use omnibus_tests::Sandbox;
use omnibus_whatsapp_standin::StandIn;
use serde_json::json;

use super::{conversations_api, create_channel, customer_writes, templates_api, wait_received};

async fn send_template(
    grpc: &str,
    conversation_id: &str,
    parameters: &[&str],
) -> Result<omnibus_proto::Message, tonic::Status> {
    let request = SendMessageRequest {
        conversation_id: conversation_id.to_owned(),
        template: Some(TemplateRef {
            name: "order_update".into(),
            parameters: parameters.iter().map(|p| (*p).to_owned()).collect(),
            ..Default::default()
        }),
        ..Default::default()
    };
    conversations_api(grpc)
        .await
        .send_message(request)
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn a_template_with_wrong_parameters_is_refused_and_nothing_is_stored() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let (http, grpc) = (sandbox.http_url(), sandbox.grpc_url());
    let channel_id = create_channel(&grpc, &graph, true).await;
    let upsert = UpsertTemplateRequest {
        channel_id: channel_id.clone(),
        name: "order_update".into(),
        language: "en_US".into(),
        body: "Hi {{1}}, order {{2}} has shipped.".into(),
        category: "UTILITY".into(),
        status: TemplateStatus::Approved as i32,
    };
    let template = templates_api(&grpc)
        .await
        .upsert_template(upsert)
        .await
        .unwrap();
    assert_eq!(template.into_inner().parameters, ["1", "2"]);
    let conversation = customer_writes(&http, &grpc, &channel_id, "wamid.old", 30, "hi").await;

    let missing = send_template(&grpc, &conversation, &["Sheena"])
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::InvalidArgument);
    assert!(
        missing.message().contains("{{2}} missing"),
        "{}",
        missing.message()
    );
    let extra = send_template(&grpc, &conversation, &["a", "b", "c"])
        .await
        .unwrap_err();
    assert_eq!(extra.code(), tonic::Code::InvalidArgument);
    assert!(extra.message().contains("{{3}}"), "{}", extra.message());
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
    assert_eq!(messages.len(), 1, "nothing stored: {messages:?}");

    // Right values go out even though the window closed hours ago.
    let sent = send_template(&grpc, &conversation, &["Sheena", "A-7"])
        .await
        .unwrap();
    assert_eq!(sent.text, "Hi Sheena, order A-7 has shipped.");
    wait_received(&graph, "template:order_update").await;
    let call = graph.sent().pop().unwrap();
    assert_eq!(call.body["template"]["language"]["code"], "en_US");
    assert_eq!(
        call.body["template"]["components"][0]["parameters"][1]["text"],
        "A-7"
    );
}

fn graph_template(id: u64, name: &str, status: &str, body: &str) -> serde_json::Value {
    json!({
        "id": id.to_string(),
        "name": name,
        "language": "en_US",
        "status": status,
        "category": "UTILITY",
        "components": [{ "type": "BODY", "text": body }],
    })
}

#[tokio::test]
async fn template_sync_follows_every_page_and_mirrors_the_provider() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let grpc = sandbox.grpc_url();
    let channel_id = create_channel(&grpc, &graph, true).await;
    graph.set_page_size(2);
    graph.set_templates(vec![
        graph_template(1, "welcome", "APPROVED", "Welcome!"),
        graph_template(2, "order_update", "APPROVED", "Order {{1}} shipped"),
        graph_template(3, "promo", "REJECTED", "Sale"),
    ]);
    let mut api = templates_api(&grpc).await;
    let request = SyncTemplatesRequest {
        channel_id: channel_id.clone(),
    };
    let synced = api
        .sync_templates(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!((synced.added, synced.updated, synced.removed), (3, 0, 0));
    let listed = api
        .list_templates(ListTemplatesRequest {
            channel_id: channel_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .templates;
    let names: Vec<_> = listed.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["order_update", "promo", "welcome"],
        "read your writes"
    );
    let pages = graph
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/message_templates"))
        .count();
    assert_eq!(pages, 2, "two pages followed");
    let listed = super::omnictl_json(
        &grpc,
        omnictl::Command::Templates(omnictl::templates::TemplatesCmd::List {
            channel_id: channel_id.clone(),
            status: Some(TemplateStatus::Approved),
        }),
    )
    .await;
    let approved = listed["templates"].as_array().unwrap();
    assert_eq!(
        approved.len(),
        2,
        "omnictl templates list --status approved: {listed}"
    );
    assert_eq!(approved[0]["parameters"], json!(["1"]));

    graph.set_templates(vec![
        graph_template(1, "welcome", "APPROVED", "Welcome!"),
        graph_template(3, "promo", "APPROVED", "Sale"),
    ]);
    let synced = api.sync_templates(request).await.unwrap().into_inner();
    assert_eq!((synced.added, synced.updated, synced.removed), (0, 1, 1));
    assert_eq!(synced.templates.len(), 2);
}

#[tokio::test]
async fn template_sync_without_a_business_account_says_what_to_set() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let grpc = sandbox.grpc_url();
    let channel_id = create_channel(&grpc, &graph, false).await;
    let err = templates_api(&grpc)
        .await
        .sync_templates(SyncTemplatesRequest { channel_id })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    assert!(
        err.message().contains("business_account_id"),
        "{}",
        err.message()
    );
    let unknown = templates_api(&grpc)
        .await
        .sync_templates(SyncTemplatesRequest {
            channel_id: "ch_nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
}
