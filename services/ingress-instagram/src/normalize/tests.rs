use omnibus_instagram_standin::webhook::{
    self, ACCOUNT_ID, CUSTOMER_ID, CUSTOMER_USERNAME, DIRECT_KINDS, MEDIA_ID,
};
use omnibus_proto::{
    AttachmentKind, AuthorKind, Direction, MessageEdited, MessageReceived, MessageStatus,
    event::Payload,
};
use serde_json::Value;

use super::*;
use crate::wire::parse_notification;

const CHANNEL: &str = "ch_ig";

fn view() -> ChannelView<'static> {
    ChannelView {
        id: CHANNEL,
        account_id: ACCOUNT_ID,
    }
}

fn run(body: &Value) -> Normalized {
    let notification = parse_notification(&serde_json::to_vec(body).unwrap()).unwrap();
    let permalinks = Permalinks::from([(
        MEDIA_ID.to_owned(),
        "https://www.instagram.com/p/C1a2b3/".to_owned(),
    )]);
    normalize(&view(), &notification, &permalinks)
}

fn only(body: &Value) -> omnibus_proto::Event {
    let out = run(body);
    assert_eq!(out.events.len(), 1, "{out:?}");
    out.events[0].clone()
}

fn received(body: &Value) -> MessageReceived {
    match only(body).payload {
        Some(Payload::MessageReceived(m)) => m,
        other => panic!("expected MessageReceived, got {other:?}"),
    }
}

#[test]
fn a_message_omnibus_cannot_show_is_a_notice_naming_its_type() {
    let odd = serde_json::json!({ "attachments": [{ "type": "poll", "payload": 5 }] });
    let message = received(&webhook::messaging(vec![webhook::from_customer(
        "m.odd", odd,
    )]));
    assert_eq!(message.author_kind(), AuthorKind::System);
    assert_eq!(message.unshown_kind, "poll");
    assert!(message.text.contains("poll"), "{}", message.text);
}

#[test]
fn a_direct_text_lands_in_the_customers_conversation() {
    let event = only(&webhook::messaging(vec![webhook::sample("text", "m_1")]));
    assert_eq!(event.id, "instagram:ch_ig:m_1");
    assert_eq!(
        event.conversation_id,
        ids::conversation_id(CHANNEL, CUSTOMER_ID)
    );
    assert_eq!(event.occurred_at_ms, webhook::T0_MS);
    let Some(Payload::MessageReceived(message)) = event.payload else {
        panic!("not a message");
    };
    assert_eq!(message.text, "Hi! Is this jacket still available?");
    assert_eq!(message.direction(), Direction::Inbound);
    assert_eq!(message.author_kind(), AuthorKind::Contact);
    assert_eq!(message.contact_id, ids::contact_id(CHANNEL, CUSTOMER_ID));
    assert_eq!(
        message.message_id,
        ids::inbound_message_id(CHANNEL, CUSTOMER_ID, "m_1")
    );
}

#[test]
fn every_direct_kind_gives_one_event_and_standby_reads_the_same() {
    for kind in DIRECT_KINDS {
        let sample = webhook::sample(kind, "m_1");
        let direct = run(&webhook::messaging(vec![sample.clone()]));
        assert_eq!(direct.events.len(), 1, "{kind}: {direct:?}");
        assert_eq!(
            run(&webhook::standby(vec![sample.clone()])),
            direct,
            "{kind}"
        );
        if sample.get("message").is_some() {
            assert_eq!(
                run(&webhook::dashboard_test(sample)),
                direct,
                "{kind} test shape"
            );
        }
    }
}

#[test]
fn attachments_keep_their_links_and_kinds() {
    for (kind, expected) in [
        ("image", AttachmentKind::Image),
        ("video", AttachmentKind::Video),
        ("audio", AttachmentKind::Audio),
        ("file", AttachmentKind::Document),
        ("share", AttachmentKind::Unspecified),
        ("story_mention", AttachmentKind::Unspecified),
    ] {
        let message = received(&webhook::messaging(vec![webhook::sample(kind, "m_1")]));
        assert_eq!(message.attachments.len(), 1, "{kind}");
        assert_eq!(message.attachments[0].kind(), expected, "{kind}");
        assert!(
            message.attachments[0].url.starts_with("https://lookaside"),
            "{kind}"
        );
        assert_eq!(message.author_kind(), AuthorKind::Contact, "{kind}");
    }
    let mention = received(&webhook::messaging(vec![webhook::sample(
        "story_mention",
        "m",
    )]));
    assert_eq!(mention.text, "(mentioned you in their story)");
}

#[test]
fn replies_and_story_replies_point_at_what_they_answer() {
    let reply = received(&webhook::messaging(vec![webhook::sample("reply", "m_2")]));
    assert_eq!(
        reply.reply_to_message_id,
        ids::inbound_message_id(CHANNEL, CUSTOMER_ID, "m_earlier")
    );
    let story = received(&webhook::messaging(vec![webhook::sample(
        "story_reply",
        "m_3",
    )]));
    assert_eq!(story.text, "Love this! Do you ship to Almaty?");
    assert_eq!(story.attachments.len(), 1, "the story's link is kept");
    assert_eq!(story.attachments[0].file_name, "story");
}

#[test]
fn reactions_answer_the_message_and_differ_from_their_removal() {
    let react = received(&webhook::messaging(vec![webhook::sample(
        "reaction", "m_1",
    )]));
    let unreact = received(&webhook::messaging(vec![webhook::sample("unreact", "m_1")]));
    assert_eq!(react.text, "\u{2764}");
    assert_eq!(unreact.text, "(removed a reaction)");
    let target = ids::inbound_message_id(CHANNEL, CUSTOMER_ID, "m_1");
    assert_eq!(react.reply_to_message_id, target);
    assert_ne!(react.message_id, unreact.message_id);
}

#[test]
fn an_unsend_marks_the_message_deleted() {
    let event = only(&webhook::messaging(vec![webhook::sample("unsend", "m_1")]));
    assert_eq!(event.id, "instagram:ch_ig:m_1:deleted");
    let Some(Payload::MessageEdited(MessageEdited {
        message_id,
        deleted,
        text,
        ..
    })) = event.payload
    else {
        panic!("not an edit");
    };
    assert!(deleted);
    assert!(text.is_empty(), "the stored text is kept, not overwritten");
    assert_eq!(
        message_id,
        ids::inbound_message_id(CHANNEL, CUSTOMER_ID, "m_1")
    );
}

#[test]
fn a_read_receipt_reads_our_message_and_those_before() {
    let event = only(&webhook::messaging(vec![webhook::sample("read", "m_ours")]));
    let Some(Payload::DeliveryStatusChanged(status)) = event.payload else {
        panic!("not a status");
    };
    assert_eq!(status.provider_message_id, "m_ours");
    assert_eq!(status.status(), MessageStatus::Read);
    assert!(status.and_earlier);
    assert_eq!(
        event.conversation_id,
        ids::conversation_id(CHANNEL, CUSTOMER_ID)
    );
}

#[test]
fn an_echo_is_the_business_writing_to_the_customer() {
    let event = only(&webhook::messaging(vec![webhook::sample("echo", "m_echo")]));
    assert_eq!(
        event.conversation_id,
        ids::conversation_id(CHANNEL, CUSTOMER_ID)
    );
    let Some(Payload::MessageReceived(echo)) = event.payload else {
        panic!("not a message");
    };
    assert_eq!(echo.direction(), Direction::Outbound);
    assert_eq!(echo.author_kind(), AuthorKind::ExternalDevice);
    assert_eq!(echo.provider_message_id, "m_echo", "matched to ours by mid");
}

#[test]
fn a_comment_opens_a_thread_per_user_per_post_about_the_post() {
    for body in [
        webhook::comment("17865799348089039", "What's the price?"),
        webhook::comment_inline("17865799348089039", "What's the price?"),
    ] {
        let event = only(&body);
        let chat = comment_chat_id(MEDIA_ID, CUSTOMER_ID);
        assert_eq!(event.conversation_id, ids::conversation_id(CHANNEL, &chat));
        assert_ne!(
            event.conversation_id,
            ids::conversation_id(CHANNEL, CUSTOMER_ID)
        );
        let Some(Payload::MessageReceived(comment)) = event.payload else {
            panic!("not a message");
        };
        assert_eq!(comment.text, "What's the price?");
        assert_eq!(
            comment.peer.as_ref().unwrap().subject_url,
            "https://www.instagram.com/p/C1a2b3/"
        );
        assert_eq!(comment.provider_message_id, "17865799348089039");
        let peer = comment.peer.unwrap();
        assert_eq!(peer.username, CUSTOMER_USERNAME, "the title");
        assert_eq!(peer.provider_chat_id, chat);
        assert_eq!(
            comment.contact_id,
            ids::contact_id(CHANNEL, CUSTOMER_ID),
            "same person"
        );
    }
}

#[test]
fn the_accounts_own_comments_and_other_accounts_are_skipped() {
    let mut own = webhook::comment("1", "Thanks!");
    own["entry"][0]["changes"][0]["value"]["from"]["id"] = ACCOUNT_ID.into();
    assert!(run(&own).events.is_empty());
    let mut other = webhook::messaging(vec![webhook::sample("text", "m_1")]);
    other["entry"][0]["id"] = "17841499999999999".into();
    assert!(run(&other).events.is_empty());
}

#[test]
fn media_ids_lists_the_posts_to_look_up() {
    let notification =
        parse_notification(&serde_json::to_vec(&webhook::comment("1", "x")).unwrap()).unwrap();
    assert_eq!(media_ids(&notification), vec![MEDIA_ID.to_owned()]);
    assert_eq!(
        parse_comment_chat_id(&comment_chat_id("m", "u")),
        Some(("m", "u"))
    );
    assert_eq!(parse_comment_chat_id(CUSTOMER_ID), None);
}

#[test]
fn the_same_webhook_gives_the_same_events() {
    let body = webhook::messaging(DIRECT_KINDS.iter().map(|k| webhook::sample(k, k)).collect());
    assert_eq!(run(&body), run(&body));
    assert_eq!(run(&body).events.len(), DIRECT_KINDS.len());
}

#[test]
fn null_or_odd_lists_cost_nothing_else() {
    let mut body = webhook::comment("1786", "What's the price?");
    body["entry"][0]["messaging"] = Value::Null;
    body["entry"][0]["standby"] = serde_json::json!({ "odd": true });
    assert_eq!(run(&body).events.len(), 1);
    let mut dm = webhook::messaging(vec![webhook::sample("image", "m_1")]);
    dm["entry"][0]["messaging"][0]["message"]["attachments"] = Value::Null;
    assert_eq!(
        run(&dm).events.len(),
        1,
        "a message without its attachments is still one"
    );
}
