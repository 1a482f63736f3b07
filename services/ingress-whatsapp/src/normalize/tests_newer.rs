//! Normalization of the newer shapes: customers known by a business-scoped
//! user id, orders, flow answers, edits and deletions, groups, and types
//! Omnibus cannot show.

use omnibus_core::ids;
use omnibus_proto::{
    AuthorKind, Event, MessageEdited, MessageReceived, MessageStatus, event::Payload,
};
use omnibus_whatsapp_standin::shapes::{self, GROUP_ID, USER_ID, USERNAME, UserCustomer};
use omnibus_whatsapp_standin::webhook::{self, PHONE_NUMBER_ID};

use super::tests::{CHANNEL, TS, WA_ID, only_event, received, run};
use super::{GROUP_PREFIX, Routed};

fn message_of(event: &Event) -> &MessageReceived {
    match &event.payload {
        Some(Payload::MessageReceived(received)) => received,
        other => panic!("not a MessageReceived: {other:?}"),
    }
}

fn edit_of(event: Event) -> MessageEdited {
    match event.payload {
        Some(Payload::MessageEdited(edited)) => edited,
        other => panic!("not a MessageEdited: {other:?}"),
    }
}

#[test]
fn a_customer_without_a_phone_is_keyed_on_their_user_id() {
    let customer = UserCustomer::default();
    let payload = shapes::from_user(
        PHONE_NUMBER_ID,
        &customer,
        vec![customer.text("wamid.U1", TS, "hi, it's me")],
    );
    let event = only_event(&payload);
    assert_eq!(
        event.conversation_id,
        ids::conversation_id(CHANNEL, USER_ID)
    );
    let m = message_of(&event);
    assert_eq!(m.text, "hi, it's me");
    assert_eq!(m.contact_id, ids::contact_id(CHANNEL, USER_ID));
    assert_eq!(
        m.message_id,
        ids::inbound_message_id(CHANNEL, USER_ID, "wamid.U1")
    );
    let peer = m.peer.clone().unwrap();
    assert_eq!(peer.provider_chat_id, USER_ID);
    assert_eq!(peer.username, USERNAME);
    assert_eq!(peer.first_name, "Sheena Nelson");
    assert_eq!(peer.phone, "", "no phone to show");
    assert_eq!(m.linked_contact_id, "", "nothing to link yet");
}

#[test]
fn with_the_phone_too_the_phone_keys_and_the_user_id_is_linked() {
    let customer = UserCustomer::default().with_phone(WA_ID);
    let payload = shapes::from_user(
        PHONE_NUMBER_ID,
        &customer,
        vec![customer.text("wamid.U2", TS, "now with my number")],
    );
    let event = only_event(&payload);
    assert_eq!(event.conversation_id, ids::conversation_id(CHANNEL, WA_ID));
    let m = message_of(&event);
    assert_eq!(m.contact_id, ids::contact_id(CHANNEL, WA_ID));
    assert_eq!(m.linked_contact_id, ids::contact_id(CHANNEL, USER_ID));
    assert_eq!(m.peer.clone().unwrap().phone, format!("+{WA_ID}"));
}

#[test]
fn a_status_by_recipient_user_id_is_applied_in_the_user_ids_conversation() {
    let payload = webhook::statuses(
        PHONE_NUMBER_ID,
        vec![shapes::user_status("wamid.OUT", "read", TS, USER_ID)],
    );
    let event = only_event(&payload);
    assert_eq!(
        event.conversation_id,
        ids::conversation_id(CHANNEL, USER_ID)
    );
    let Some(Payload::DeliveryStatusChanged(status)) = event.payload else {
        panic!("not a status");
    };
    assert_eq!(status.provider_message_id, "wamid.OUT");
    assert_eq!(status.status(), MessageStatus::Read);
}

#[test]
fn an_order_lists_the_catalog_each_item_and_the_note() {
    let m = received(shapes::order(WA_ID, "wamid.O1", TS));
    assert_eq!(
        m.text,
        "Order from catalog 194836987003835:\n\
         - 2 × mug-blue at 12.5 USD\n\
         - 1 × tee-m at 20 USD\n\
         Note: Please gift-wrap the mug"
    );
    assert_eq!(m.author_kind(), AuthorKind::Contact);
    assert_eq!(m.unshown_kind, "");
}

#[test]
fn flow_answers_are_name_value_pairs_without_the_token() {
    let m = received(shapes::flow_reply(WA_ID, "wamid.F1", TS));
    assert_eq!(
        m.text,
        "delivery_date: 2026-12-24\nsize: M\nwants_newsletter: true"
    );
    let bare = received(webhook::message(
        WA_ID,
        "wamid.F2",
        TS,
        "interactive",
        serde_json::json!({ "type": "nfm_reply", "nfm_reply": { "name": "flow", "body": "Sent", "response_json": "not json" } }),
    ));
    assert_eq!(
        bare.text, "Sent",
        "the body when the answers are unreadable"
    );
}

#[test]
fn an_edit_changes_the_original_message() {
    let payload = webhook::messages(
        PHONE_NUMBER_ID,
        &webhook::Customer::default(),
        vec![shapes::edit(
            WA_ID,
            "wamid.E1",
            TS,
            "wamid.ORIG",
            "blue, not red",
        )],
    );
    let event = only_event(&payload);
    assert_eq!(event.id, "whatsapp:ch_wa1:wamid.E1");
    let edited = edit_of(event);
    assert_eq!(
        edited.message_id,
        ids::inbound_message_id(CHANNEL, WA_ID, "wamid.ORIG")
    );
    assert_eq!(edited.provider_message_id, "wamid.ORIG");
    assert_eq!(edited.text, "blue, not red");
    assert!(!edited.deleted);
}

#[test]
fn a_revoke_marks_the_original_deleted() {
    let payload = webhook::messages(
        PHONE_NUMBER_ID,
        &webhook::Customer::default(),
        vec![shapes::revoke(WA_ID, "wamid.R1", TS, "wamid.ORIG")],
    );
    let edited = edit_of(only_event(&payload));
    assert_eq!(
        edited.message_id,
        ids::inbound_message_id(CHANNEL, WA_ID, "wamid.ORIG")
    );
    assert!(edited.deleted);
    assert_eq!(edited.text, "", "the projection keeps the original text");
}

#[test]
fn an_edit_without_the_original_is_a_notice_not_nothing() {
    let m = received(webhook::message(
        WA_ID,
        "wamid.E2",
        TS,
        "edit",
        serde_json::json!({}),
    ));
    assert_eq!(m.author_kind(), AuthorKind::System);
    assert_eq!(m.unshown_kind, "edit");
}

#[test]
fn group_messages_share_the_groups_conversation_each_author_named() {
    let payload = shapes::group_messages(
        PHONE_NUMBER_ID,
        &[(WA_ID, "Sheena Nelson"), ("16505550000", "Pablo Morales")],
        vec![
            shapes::in_group(webhook::text(WA_ID, "wamid.G1", TS, "hello all"), GROUP_ID),
            shapes::in_group(webhook::text("16505550000", "wamid.G2", TS, "hi"), GROUP_ID),
        ],
    );
    let events: Vec<Event> = run(&payload)
        .events
        .into_iter()
        .map(|routed| match routed {
            Routed::Conversation(event) | Routed::Template(event) => event,
        })
        .collect();
    assert_eq!(events.len(), 2);
    let key = format!("{GROUP_PREFIX}{GROUP_ID}");
    for event in &events {
        assert_eq!(event.conversation_id, ids::conversation_id(CHANNEL, &key));
        let m = message_of(event);
        assert_eq!(
            m.contact_id,
            ids::contact_id(CHANNEL, &key),
            "the group's contact"
        );
        let peer = m.peer.clone().unwrap();
        assert!(peer.is_group);
        assert!(peer.chat_title.starts_with("WhatsApp group"));
    }
    assert_eq!(message_of(&events[0]).author_name, "Sheena Nelson");
    assert_eq!(message_of(&events[1]).author_name, "Pablo Morales");
    assert_eq!(
        message_of(&events[1])
            .peer
            .clone()
            .unwrap()
            .provider_user_id,
        "16505550000"
    );
}

#[test]
fn a_type_omnibus_cannot_show_is_a_notice_naming_it() {
    let m = received(shapes::of_unknown_kind(WA_ID, "wamid.P1", TS, "poll"));
    assert_eq!(m.author_kind(), AuthorKind::System);
    assert_eq!(m.unshown_kind, "poll");
    assert!(m.text.contains("poll"), "{}", m.text);
    let unsupported = received(webhook::sample("unsupported", WA_ID, "wamid.X", TS).unwrap());
    assert_eq!(unsupported.unshown_kind, "poll", "the type WhatsApp names");
    let text = received(webhook::text(WA_ID, "wamid.T", TS, "hi"));
    assert_eq!(text.unshown_kind, "");
}

#[test]
fn a_status_of_a_group_message_lands_in_the_groups_conversation() {
    let mut status = webhook::status("wamid.TOGROUP", "delivered", TS, GROUP_ID);
    status["recipient_type"] = serde_json::json!("group");
    let event = only_event(&webhook::statuses(PHONE_NUMBER_ID, vec![status]));
    let key = format!("{GROUP_PREFIX}{GROUP_ID}");
    assert_eq!(event.conversation_id, ids::conversation_id(CHANNEL, &key));
    let Some(Payload::DeliveryStatusChanged(status)) = event.payload else {
        panic!("not a status");
    };
    assert_eq!(status.status(), MessageStatus::Delivered);
}
