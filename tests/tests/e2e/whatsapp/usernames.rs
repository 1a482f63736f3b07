//! Customers who took a WhatsApp username: known by their business-scoped
//! user id, with no phone. They get a conversation, replies reach them by
//! `recipient`, statuses by `recipient_user_id` apply, and when their
//! phone arrives later the two identities are one contact.

use omnibus_proto::{Contact, ListContactsRequest, MessageStatus, SendMessageRequest};
use omnibus_testkit::wait_until;
use omnibus_tests::{Sandbox, whatsapp};
use omnibus_whatsapp_standin::StandIn;
use omnibus_whatsapp_standin::shapes::{self, USER_ID, USERNAME, UserCustomer};
use omnibus_whatsapp_standin::webhook::{self as meta, PHONE_NUMBER_ID};

use super::{WA_ID, now_s, window_open};
use crate::support::{PATIENCE, wait_for_conversations, wait_for_message};

#[tokio::test]
async fn whatsapp_a_customer_known_only_by_user_id_is_answered_and_reads_the_reply() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let channel = whatsapp::channel(&sandbox, &graph).await;
    let client = reqwest::Client::new();
    let url = sandbox.http_url();
    let customer = UserCustomer::default();
    let payload = shapes::from_user(
        PHONE_NUMBER_ID,
        &customer,
        vec![customer.text("wamid.U1", now_s(), "Is my order ready?")],
    );
    assert_eq!(
        whatsapp::post_signed(&client, &url, &channel.id, &payload).await,
        200
    );
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    assert_eq!(conversation.title, "Sheena Nelson");
    window_open(&sandbox, &conversation.id).await;

    let sent = sandbox
        .conversations()
        .await
        .send_message(SendMessageRequest {
            conversation_id: conversation.id.clone(),
            text: "Yes, it ships today".into(),
            operator_id: "op-1".into(),
            ..Default::default()
        })
        .await
        .expect("send")
        .into_inner();
    let sent = wait_for_message(&sandbox, &conversation.id, &sent.id, "SENT", |m| {
        m.status() == MessageStatus::Sent
    })
    .await;
    let request = graph.sent().pop().expect("a send").body;
    assert_eq!(request["recipient"], USER_ID, "{request}");
    assert!(
        request.get("to").is_none(),
        "no phone to send to: {request}"
    );

    let read = meta::statuses(
        PHONE_NUMBER_ID,
        vec![shapes::user_status(
            &sent.provider_message_id,
            "read",
            now_s(),
            USER_ID,
        )],
    );
    assert_eq!(
        whatsapp::post_signed(&client, &url, &channel.id, &read).await,
        200
    );
    wait_for_message(&sandbox, &conversation.id, &sent.id, "READ", |m| {
        m.status() == MessageStatus::Read
    })
    .await;
}

async fn contacts(sandbox: &Sandbox) -> Vec<Contact> {
    sandbox
        .contacts()
        .await
        .list_contacts(ListContactsRequest {
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("list contacts")
        .into_inner()
        .contacts
}

#[tokio::test]
async fn whatsapp_the_phone_arriving_later_joins_the_user_id_into_one_contact() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let channel = whatsapp::channel(&sandbox, &graph).await;
    let client = reqwest::Client::new();
    let url = sandbox.http_url();
    let without_phone = UserCustomer::default();
    let first = shapes::from_user(
        PHONE_NUMBER_ID,
        &without_phone,
        vec![without_phone.text("wamid.U1", now_s(), "hi")],
    );
    assert_eq!(
        whatsapp::post_signed(&client, &url, &channel.id, &first).await,
        200
    );
    let with_phone = UserCustomer::default().with_phone(WA_ID);
    let later = shapes::from_user(
        PHONE_NUMBER_ID,
        &with_phone,
        vec![with_phone.text("wamid.U2", now_s(), "here is my number")],
    );
    assert_eq!(
        whatsapp::post_signed(&client, &url, &channel.id, &later).await,
        200
    );
    // Another customer the other way round: the phone first (with the
    // user id beside it), then the user id alone.
    let pablo = UserCustomer {
        user_id: "US.777000111".into(),
        username: "pablo".into(),
        name: "Pablo Morales".into(),
        phone: Some("16505550000".into()),
    };
    let with_phone = shapes::from_user(
        PHONE_NUMBER_ID,
        &pablo,
        vec![pablo.text("wamid.P1", now_s(), "hello")],
    );
    assert_eq!(
        whatsapp::post_signed(&client, &url, &channel.id, &with_phone).await,
        200
    );
    let pablo = UserCustomer {
        phone: None,
        ..pablo
    };
    let alone = shapes::from_user(
        PHONE_NUMBER_ID,
        &pablo,
        vec![pablo.text("wamid.P2", now_s(), "me again, without my number")],
    );
    assert_eq!(
        whatsapp::post_signed(&client, &url, &channel.id, &alone).await,
        200
    );
    wait_for_conversations(&sandbox, 4).await;
    let people = wait_until(
        "two contacts, each with both identities",
        PATIENCE,
        || async {
            let all = contacts(&sandbox).await;
            (all.len() == 2 && all.iter().all(|c| c.identities.len() == 2)).then_some(all)
        },
    )
    .await;
    let sheena = people
        .iter()
        .find(|c| c.identities.iter().any(|i| i.username == USERNAME))
        .expect("Sheena's contact");
    assert_eq!(sheena.phones, vec![format!("+{WA_ID}")]);
    let pablo = people
        .iter()
        .find(|c| c.identities.iter().any(|i| i.username == "pablo"))
        .expect("Pablo's contact");
    assert_eq!(pablo.phones, vec!["+16505550000".to_owned()]);
}
