//! A WhatsApp identity and a Telegram identity with the same phone, written
//! differently, are one contact.

use omnibus_proto::{FindContactsRequest, ListContactConversationsRequest};
use omnibus_testkit::wait_until;
use omnibus_tests::{Sandbox, telegram, whatsapp};
use omnibus_whatsapp_standin::StandIn;
use omnibus_whatsapp_standin::webhook::{self as meta, Customer, PHONE_NUMBER_ID};
use serde_json::json;

use super::{SECRET, all_contacts};
use crate::support::{PATIENCE, wait_for_conversations};

#[tokio::test]
async fn one_phone_on_whatsapp_and_telegram_is_one_contact() {
    let mut sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let wa = whatsapp::channel(&sandbox, &graph).await;
    let tg = sandbox.telegram_channel(SECRET).await;
    let client = reqwest::Client::new();
    let customer = Customer {
        wa_id: "79123456789".into(),
        name: "Ivan on WhatsApp".into(),
    };
    let now = omnibus_core::now_ms() / 1000;
    let payload = meta::messages(
        PHONE_NUMBER_ID,
        &customer,
        vec![meta::text(&customer.wa_id, "wamid.1", now, "hi")],
    );
    assert_eq!(
        whatsapp::post_signed(&client, &sandbox.http_url(), &wa.id, &payload).await,
        200
    );
    // A Vietnamese wa_id that looks like a Russian national number stays apart.
    let vietnam = Customer {
        wa_id: "84912345678".into(),
        name: "Minh".into(),
    };
    let payload = meta::messages(
        PHONE_NUMBER_ID,
        &vietnam,
        vec![meta::text(&vietnam.wa_id, "wamid.2", now, "xin chào")],
    );
    assert_eq!(
        whatsapp::post_signed(&client, &sandbox.http_url(), &wa.id, &payload).await,
        200
    );
    // On Telegram, the customer shares their own contact card.
    let mut update = telegram::text_update(1, 4242, "");
    let message = update["message"].as_object_mut().unwrap();
    message.remove("text");
    message.insert(
        "contact".into(),
        json!({ "phone_number": "8 912 345 67 89", "first_name": "Ivan", "user_id": 4242 }),
    );
    assert_eq!(
        telegram::post_update(&client, &sandbox.http_url(), &tg.id, SECRET, &update).await,
        200
    );
    // Someone else's card does not make it theirs.
    let mut other = telegram::text_update(2, 5555, "");
    let message = other["message"].as_object_mut().unwrap();
    message.remove("text");
    message.insert(
        "contact".into(),
        json!({ "phone_number": "+84912345678", "first_name": "Minh", "user_id": 777 }),
    );
    assert_eq!(
        telegram::post_update(&client, &sandbox.http_url(), &tg.id, SECRET, &other).await,
        200
    );
    wait_for_conversations(&sandbox, 4).await;

    let joined = wait_until("the two identities joined", PATIENCE, || async {
        let contacts = all_contacts(&sandbox).await;
        let joined = contacts.iter().any(|c| c.identities.len() == 2);
        (contacts.len() == 3 && joined).then_some(contacts)
    })
    .await;
    let ivan = joined
        .iter()
        .find(|c| c.identities.len() == 2)
        .expect("one contact with both identities");
    assert_eq!(ivan.phones, ["+79123456789"]);
    let mut kinds: Vec<i32> = ivan.identities.iter().map(|i| i.channel_kind).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            omnibus_proto::ChannelKind::Telegram as i32,
            omnibus_proto::ChannelKind::Whatsapp as i32
        ]
    );
    let minh = joined
        .iter()
        .find(|c| c.phones == ["+84912345678"])
        .unwrap();
    assert_eq!(
        minh.identities.len(),
        1,
        "a shared card of someone else is not a phone"
    );

    let mut api = sandbox.contacts().await;
    for written in [
        "+7 (912) 345-67-89",
        "79123456789",
        "89123456789",
        "8 912 345 67 89",
    ] {
        let found = api
            .find_contacts(FindContactsRequest {
                query: written.into(),
                page_size: 0,
            })
            .await
            .unwrap()
            .into_inner()
            .contacts;
        assert_eq!(found.len(), 1, "{written}");
        assert_eq!(found[0].id, ivan.id, "{written}");
    }
    let conversations = api
        .list_contact_conversations(ListContactConversationsRequest {
            contact_id: ivan.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .conversations;
    let mut channels: Vec<&str> = conversations
        .iter()
        .map(|c| c.channel_id.as_str())
        .collect();
    channels.sort();
    let mut expected = vec![wa.id.as_str(), tg.id.as_str()];
    expected.sort();
    assert_eq!(
        channels, expected,
        "replies stay on each conversation's channel"
    );
    assert!(conversations.iter().all(|c| c.contact_id == ivan.id));

    // The join is an event: a rebuild gives the same contacts, and the
    // joiner does not store it twice.
    let events_before = sandbox.stream_messages().await;
    sandbox.stop_server().await;
    sandbox.db.drop_all().await;
    sandbox.start_server().await;
    wait_until("the rebuilt contacts", PATIENCE, || async {
        (all_contacts(&sandbox).await == joined).then_some(())
    })
    .await;
    assert_eq!(
        sandbox.stream_messages().await,
        events_before,
        "no join published again"
    );
}
