use omnibus_proto::{AttachmentKind, AuthorKind, Direction, MessageStatus, event::Payload};
use omnibus_vk_standin::callbacks;
use serde_json::{Value, json};

use super::*;
use crate::wire::parse_notification;

const GROUP: i64 = 218_765_432;
const USER: i64 = 501_234_567;
const CHANNEL: ChannelView<'static> = ChannelView {
    id: "ch_vk",
    group_id: GROUP,
};

fn run(notification: &Value) -> Normalized {
    let body = serde_json::to_vec(notification).expect("json");
    normalize(
        &CHANNEL,
        &parse_notification(&body).expect("a vk notification"),
    )
}

fn n(kind: &str, object: Value) -> Value {
    callbacks::notification(kind, object, GROUP, "ev1", "s")
}

fn received(notification: &Value) -> (Event, MessageReceived) {
    let out = run(notification);
    assert_eq!(out.events.len(), 1, "{:?}", out.skipped);
    let event = out.events[0].clone();
    let Some(Payload::MessageReceived(message)) = event.payload.clone() else {
        panic!("not a message: {event:?}");
    };
    (event, message)
}

fn with_attachment(attachment: Value) -> Value {
    let mut message = callbacks::message(2, USER, USER, "look");
    message["attachments"] = json!([attachment]);
    n("message_new", callbacks::message_new(message))
}

#[test]
fn an_attachment_omnibus_cannot_show_is_marked_and_named() {
    let (_, message) = received(&with_attachment(
        json!({ "type": "poll", "poll": { "id": 1, "question": "Tea?" } }),
    ));
    assert!(message.text.starts_with("look\n"), "{}", message.text);
    assert!(message.text.contains("(poll)"), "{}", message.text);
    assert_eq!(message.unshown_kind, "poll");
    let (_, plain) = received(&n(
        "message_new",
        callbacks::message_new(callbacks::message(3, USER, USER, "hi")),
    ));
    assert_eq!(plain.unshown_kind, "");
}

#[test]
fn a_customer_message_has_stable_ids_whatever_the_event_id() {
    let first = n(
        "message_new",
        callbacks::message_new(callbacks::message(4812, USER, USER, "Hello")),
    );
    let (event, message) = received(&first);
    assert_eq!(event.id, format!("vk:ch_vk:msg:{USER}:4812"));
    assert_eq!(
        event.conversation_id,
        ids::conversation_id("ch_vk", &USER.to_string())
    );
    assert_eq!(event.occurred_at_ms, (1_717_000_000 + 4812) * 1000);
    assert_eq!(
        (message.text.as_str(), message.provider_message_id.as_str()),
        ("Hello", "4812")
    );
    assert_eq!(message.author_kind, AuthorKind::Contact as i32);
    assert_eq!(message.direction, Direction::Inbound as i32);
    assert_eq!(
        message.contact_id,
        ids::contact_id("ch_vk", &USER.to_string())
    );
    assert_eq!(
        message.peer.as_ref().map(|p| p.username.as_str()),
        Some("id501234567")
    );
    let redelivered =
        callbacks::notification("message_new", first["object"].clone(), GROUP, "ev2", "s");
    assert_eq!(
        received(&redelivered).0,
        event,
        "one message, whatever the event id"
    );
}

#[test]
fn every_attachment_kind_is_carried() {
    let cases = [
        (
            callbacks::photo(USER, 457, "https://sun9.example/p.jpg"),
            AttachmentKind::Image,
            "https://sun9.example/p.jpg",
        ),
        (
            callbacks::doc(USER, 6, "invoice.pdf", "https://vk.example/doc6", 2048),
            AttachmentKind::Document,
            "https://vk.example/doc6",
        ),
        (
            callbacks::audio_message(USER, 7, "https://vk.example/v.ogg"),
            AttachmentKind::Voice,
            "https://vk.example/v.ogg",
        ),
        (
            callbacks::sticker(163),
            AttachmentKind::Sticker,
            "https://vk.example/sticker/163-128",
        ),
    ];
    for (attachment, kind, url) in cases {
        let (_, message) = received(&with_attachment(attachment));
        assert_eq!(message.attachments.len(), 1, "{kind:?}");
        assert_eq!(
            (
                message.attachments[0].kind,
                message.attachments[0].url.as_str()
            ),
            (kind as i32, url)
        );
    }
    let (_, photo) = received(&with_attachment(callbacks::photo(
        USER,
        457,
        "https://sun9.example/p.jpg",
    )));
    assert_eq!(
        photo.attachments[0].provider_file_id,
        format!("photo{USER}_457_a1b2c3")
    );
    let (_, link) = received(&with_attachment(callbacks::link(
        "https://example.com/a",
        "A",
    )));
    assert_eq!(link.text, "look\nhttps://example.com/a");
    let (_, repost) = received(&with_attachment(callbacks::wall(-GROUP, 12, "our post")));
    assert!(
        repost
            .text
            .contains(&format!("https://vk.com/wall-{GROUP}_12")),
        "{}",
        repost.text
    );
    let mut located = callbacks::message(3, USER, USER, "");
    located["geo"] = callbacks::geo(55.75, 37.61, "Moscow");
    let (_, place) = received(&n("message_new", callbacks::message_new(located)));
    let location = place.attachments[0].location.clone().expect("a location");
    assert_eq!(
        (
            location.latitude,
            location.longitude,
            location.title.as_str()
        ),
        (55.75, 37.61, "Moscow")
    );
}

#[test]
fn replies_point_at_their_message_and_forwards_are_quoted() {
    let mut message = callbacks::message(10, USER, USER, "and this");
    message["reply_message"] = callbacks::message(9, USER, -GROUP, "our answer");
    message["fwd_messages"] = json!([callbacks::message(3, 42, 42, "forwarded text")]);
    let (_, received) = received(&n("message_new", callbacks::message_new(message)));
    assert_eq!(
        received.reply_to_message_id,
        ids::inbound_message_id("ch_vk", &USER.to_string(), "9")
    );
    assert!(received.text.starts_with("and this"), "{}", received.text);
    assert!(
        received.text.contains("> forwarded text"),
        "{}",
        received.text
    );
}

#[test]
fn group_chats_are_one_conversation_with_the_writer_named() {
    let (event, message) = received(&n(
        "message_new",
        callbacks::message_new(callbacks::message(12, 2_000_000_001, USER, "chat")),
    ));
    assert_eq!(
        event.conversation_id,
        ids::conversation_id("ch_vk", "2000000001")
    );
    let peer = message.peer.expect("a peer");
    assert!(peer.is_group);
    assert_eq!(peer.provider_user_id, USER.to_string());
}

#[test]
fn admin_replies_are_external_and_carry_their_random_id() {
    let (event, admin) = received(&n(
        "message_reply",
        callbacks::reply(13, USER, GROUP, "from the admin", 0),
    ));
    assert_eq!(admin.author_kind, AuthorKind::ExternalDevice as i32);
    assert_eq!(admin.direction, Direction::Outbound as i32);
    assert!(admin.echo_key.is_empty());
    assert_eq!(
        event.conversation_id,
        ids::conversation_id("ch_vk", &USER.to_string())
    );
    let (_, ours) = received(&n(
        "message_reply",
        callbacks::reply(14, USER, GROUP, "sent by omnibus", 123_456),
    ));
    assert_eq!(
        (ours.echo_key.as_str(), ours.provider_message_id.as_str()),
        ("123456", "14")
    );
}

#[test]
fn permissions_are_system_messages() {
    let (_, allowed) = received(&n("message_allow", callbacks::permission(USER)));
    assert_eq!(allowed.author_kind, AuthorKind::System as i32);
    assert!(allowed.text.contains("allowed"));
    let (deny_event, denied) = received(&n("message_deny", callbacks::permission(USER)));
    assert!(
        denied
            .text
            .contains("the customer forbade messages from the community")
    );
    assert_eq!(
        deny_event.conversation_id,
        ids::conversation_id("ch_vk", &USER.to_string())
    );
    assert_eq!(
        received(&n("message_deny", callbacks::permission(USER)))
            .0
            .id,
        deny_event.id,
        "a repeat is one"
    );
}

#[test]
fn reads_mark_our_message() {
    let out = run(&n("message_read", callbacks::read(USER, 4813)));
    let Some(Payload::DeliveryStatusChanged(read)) = &out.events[0].payload else {
        panic!("not a status");
    };
    assert_eq!(
        (read.provider_message_id.as_str(), read.status),
        ("4813", MessageStatus::Read as i32)
    );
}

#[test]
fn edits_change_the_customers_message() {
    let out = run(&n(
        "message_edit",
        callbacks::message(4812, USER, USER, "edited"),
    ));
    let Some(Payload::MessageEdited(edit)) = &out.events[0].payload else {
        panic!("not an edit");
    };
    assert_eq!(
        edit.message_id,
        ids::inbound_message_id("ch_vk", &USER.to_string(), "4812")
    );
    assert_eq!(edit.text, "edited");
}

#[test]
fn comments_open_a_thread_per_user_per_post_or_item() {
    let (wall_event, wall) = received(&n(
        "wall_reply_new",
        callbacks::wall_comment(90, -GROUP, 12, USER, "price?"),
    ));
    let chat = format!("wall-{GROUP}_12:{USER}");
    assert_eq!(
        wall_event.conversation_id,
        ids::conversation_id("ch_vk", &chat)
    );
    let peer = wall.peer.clone().expect("a peer");
    assert_eq!(peer.subject_url, format!("https://vk.com/wall-{GROUP}_12"));
    assert_eq!(
        wall.contact_id,
        ids::contact_id("ch_vk", &USER.to_string()),
        "the same person as in dialogs"
    );
    let (other, _) = received(&n(
        "wall_reply_new",
        callbacks::wall_comment(92, -GROUP, 13, USER, "and here?"),
    ));
    assert_ne!(
        other.conversation_id, wall_event.conversation_id,
        "another post, another thread"
    );
    let (market_event, market) = received(&n(
        "market_comment_new",
        callbacks::market_comment(91, -GROUP, 55, USER, "in stock?"),
    ));
    assert!(
        market
            .peer
            .expect("peer")
            .subject_url
            .contains("product-218765432_55")
    );
    assert_ne!(market_event.conversation_id, wall_event.conversation_id);
    let mut answer = callbacks::wall_comment(93, -GROUP, 12, -GROUP, "120 rub");
    answer["reply_to_user"] = json!(USER);
    let (answer_event, ours) = received(&n("wall_reply_new", answer));
    assert_eq!(answer_event.conversation_id, wall_event.conversation_id);
    assert_eq!(ours.author_kind, AuthorKind::ExternalDevice as i32);
    assert_eq!(
        comments::parse_chat_id(&chat),
        Some(("wall", -GROUP, 12, USER))
    );
}

#[test]
fn every_fixture_normalizes_and_nothing_else_is_stored() {
    for fixture in callbacks::all_kinds(GROUP, "s") {
        let out = run(&fixture);
        let expected = usize::from(fixture["type"] != "confirmation");
        assert_eq!(out.events.len(), expected, "{fixture}");
    }
    assert!(run(&n("message_typing_state", json!({}))).events.is_empty());
    assert!(
        run(&n(
            "message_new",
            json!({ "message": { "text": "no ids" } })
        ))
        .events
        .is_empty()
    );
}
