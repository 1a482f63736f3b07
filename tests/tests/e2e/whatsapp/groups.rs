//! A WhatsApp group the business is in: one conversation for the group,
//! each message's author named, and a reply goes to the group.

use omnibus_proto::{MessageStatus, SendMessageRequest};
use omnibus_testkit::wait_until;
use omnibus_tests::{Sandbox, whatsapp};
use omnibus_whatsapp_standin::StandIn;
use omnibus_whatsapp_standin::shapes::{self, GROUP_ID};
use omnibus_whatsapp_standin::webhook::{self as meta, PHONE_NUMBER_ID};

use super::{WA_ID, now_s, window_open};
use crate::support::{PATIENCE, all_messages, wait_for_conversations, wait_for_message};

const PABLO: &str = "16505550000";

#[tokio::test]
async fn whatsapp_a_group_is_one_conversation_and_replies_go_to_the_group() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let channel = whatsapp::channel(&sandbox, &graph).await;
    let client = reqwest::Client::new();
    let at = now_s();
    let payload = shapes::group_messages(
        PHONE_NUMBER_ID,
        &[(WA_ID, "Sheena Nelson"), (PABLO, "Pablo Morales")],
        vec![
            shapes::in_group(
                meta::text(WA_ID, "wamid.G1", at, "Is the shop open?"),
                GROUP_ID,
            ),
            shapes::in_group(meta::text(PABLO, "wamid.G2", at, "Asking too"), GROUP_ID),
        ],
    );
    assert_eq!(
        whatsapp::post_signed(&client, &sandbox.http_url(), &channel.id, &payload).await,
        200
    );
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    assert!(conversation.is_group);
    assert!(
        conversation.title.starts_with("WhatsApp group"),
        "{}",
        conversation.title
    );
    let listed = wait_until("both messages", PATIENCE, || async {
        let listed = all_messages(&sandbox, &conversation.id).await;
        (listed.len() == 2).then_some(listed)
    })
    .await;
    let author = |wamid: &str| {
        listed
            .iter()
            .find(|m| m.provider_message_id == wamid)
            .map(|m| m.author_name.clone())
    };
    assert_eq!(author("wamid.G1").as_deref(), Some("Sheena Nelson"));
    assert_eq!(author("wamid.G2").as_deref(), Some("Pablo Morales"));

    window_open(&sandbox, &conversation.id).await;
    let sent = sandbox
        .conversations()
        .await
        .send_message(SendMessageRequest {
            conversation_id: conversation.id.clone(),
            text: "Open until 8 pm".into(),
            operator_id: "op-1".into(),
            ..Default::default()
        })
        .await
        .expect("send")
        .into_inner();
    wait_for_message(&sandbox, &conversation.id, &sent.id, "SENT", |m| {
        m.status() == MessageStatus::Sent
    })
    .await;
    let request = graph.sent().pop().expect("a send").body;
    assert_eq!(request["recipient_type"], "group", "{request}");
    assert_eq!(request["to"], GROUP_ID, "not to the last author: {request}");
}
