//! Service messages and `web_app_data`, in the Bot API's `Message` shapes.

use omnibus_core::ids;
use omnibus_proto::{AuthorKind, Direction, MessageReceived};

use super::{duration, utc};

fn unshown(kind: &str) -> String {
    omnibus_ingress::unshown::notice("Telegram", kind).text
}
use crate::normalize::tests::{CHANNEL, received};

const ANNA: &str = r#"{"id": 555, "is_bot": false, "first_name": "Anna", "last_name": "Petrova",
    "username": "anna_p"}"#;

/// A forum supergroup's message from Anna with `fields`.
fn group_message(fields: &str) -> String {
    format!(
        r#"{{"update_id": 734512080, "message": {{"message_id": 120, "from": {ANNA},
            "chat": {{"id": -1001234567890, "title": "Acme customers", "type": "supergroup",
                      "is_forum": true}},
            "date": 1631133300, {fields}}}}}"#
    )
}

fn system_line(body: &str) -> MessageReceived {
    let m = received(body);
    assert_eq!(m.author_kind(), AuthorKind::System, "{body}");
    assert_eq!(m.direction(), Direction::Inbound);
    assert!(m.peer.as_ref().is_some_and(|p| p.is_group));
    m
}

#[test]
fn a_pinned_message_quotes_it_and_points_at_it() {
    let m = system_line(&group_message(
        r#""pinned_message": {"message_id": 44, "from": {"id": 9, "is_bot": false, "first_name": "Bob"},
            "chat": {"id": -1001234567890, "title": "Acme customers", "type": "supergroup"},
            "date": 1631132200, "text": "our order is late"}"#,
    ));
    assert_eq!(m.text, "Anna Petrova pinned “our order is late”");
    assert_eq!(
        m.reply_to_message_id,
        ids::inbound_message_id(CHANNEL, "-1001234567890", "44")
    );
    assert_eq!(
        m.message_id,
        ids::inbound_message_id(CHANNEL, "-1001234567890", "120")
    );
    // An inaccessible pinned message (date 0) has no text.
    let stub = system_line(&group_message(
        r#""pinned_message": {"chat": {"id": -1001234567890, "type": "supergroup"}, "message_id": 3, "date": 0}"#,
    ));
    assert_eq!(stub.text, "Anna Petrova pinned a message");
}

#[test]
fn every_group_service_message_is_a_line() {
    let cases = [
        (
            r#""message_thread_id": 120, "is_topic_message": true,
               "forum_topic_created": {"name": "Delivery", "icon_color": 7322096}"#,
            "Anna Petrova created the topic “Delivery”",
        ),
        (
            r#""forum_topic_edited": {"name": "Deliveries"}"#,
            "Anna Petrova renamed the topic to “Deliveries”",
        ),
        (
            r#""forum_topic_closed": {}"#,
            "Anna Petrova closed the topic",
        ),
        (
            r#""forum_topic_reopened": {}"#,
            "Anna Petrova reopened the topic",
        ),
        (
            r#""video_chat_started": {}"#,
            "Anna Petrova started a video chat",
        ),
        (
            r#""video_chat_ended": {"duration": 3720}"#,
            "The video chat ended after 1 h 2 min",
        ),
        (
            r#""video_chat_scheduled": {"start_date": 1700000000}"#,
            "Anna Petrova scheduled a video chat for 2023-11-14 22:13 UTC",
        ),
        (
            r#""video_chat_participants_invited": {"users": [{"id": 9, "is_bot": false, "first_name": "Bob"}]}"#,
            "Anna Petrova invited Bob to the video chat",
        ),
        (
            r#""new_chat_members": [{"id": 777, "is_bot": false, "first_name": "Bob"},
                                     {"id": 778, "is_bot": false, "first_name": "Eve", "username": "eve"}],
               "new_chat_member": {"id": 777, "is_bot": false, "first_name": "Bob"},
               "new_chat_participant": {"id": 777, "is_bot": false, "first_name": "Bob"}"#,
            "Anna Petrova added Bob, Eve",
        ),
        (
            r#""new_chat_members": [{"id": 555, "is_bot": false, "first_name": "Anna", "last_name": "Petrova"}]"#,
            "Anna Petrova joined the group",
        ),
        (
            r#""left_chat_member": {"id": 555, "is_bot": false, "first_name": "Anna"},
               "left_chat_participant": {"id": 555, "is_bot": false, "first_name": "Anna"}"#,
            "Anna Petrova left the group",
        ),
        (
            r#""left_chat_member": {"id": 9, "is_bot": false, "first_name": "Bob"}"#,
            "Anna Petrova removed Bob",
        ),
        (
            r#""new_chat_title": "Acme VIP customers""#,
            "Anna Petrova renamed the group to “Acme VIP customers”",
        ),
        (
            r#""new_chat_photo": [{"file_id": "p", "file_unique_id": "u", "width": 160, "height": 160}]"#,
            "Anna Petrova changed the group photo",
        ),
        (
            r#""delete_chat_photo": true"#,
            "Anna Petrova removed the group photo",
        ),
        (
            r#""group_chat_created": true"#,
            "Anna Petrova created the group",
        ),
        (
            r#""message_auto_delete_timer_changed": {"message_auto_delete_time": 86400}"#,
            "Anna Petrova set messages to be deleted automatically after 1 day",
        ),
    ];
    for (fields, text) in cases {
        assert_eq!(system_line(&group_message(fields)).text, text, "{fields}");
    }
}

#[test]
fn web_app_data_is_a_line_with_the_data() {
    let body = r#"{"update_id": 734512090, "message": {"message_id": 15,
        "from": {"id": 100200300, "is_bot": false, "first_name": "Sojan", "last_name": "Jose"},
        "chat": {"id": 100200300, "first_name": "Sojan", "last_name": "Jose", "type": "private"},
        "date": 1631133400,
        "web_app_data": {"data": "{\"size\":\"M\",\"colour\":\"blue\"}", "button_text": "Choose size"}}}"#;
    let m = received(body);
    assert_eq!(m.author_kind(), AuthorKind::System);
    assert_eq!(
        m.text,
        r#"Sojan Jose sent data from the web app “Choose size”: {"size":"M","colour":"blue"}"#
    );
    assert_eq!(m.contact_id, ids::contact_id(CHANNEL, "100200300"));
}

#[test]
fn a_kind_omnibus_cannot_show_is_a_notice_naming_it() {
    let dice = system_line(&group_message(
        r#""entities": [], "dice": {"emoji": "🎲", "value": 4}"#,
    ));
    assert_eq!(dice.text, unshown("dice"));
    assert!(dice.text.contains("dice"));
    let poll = system_line(&group_message(
        r#""poll": {"id": "1", "question": "Blue or red?", "options": [], "total_voter_count": 0,
            "is_closed": false, "is_anonymous": true, "type": "regular", "allows_multiple_answers": false}"#,
    ));
    assert_eq!(poll.text, unshown("poll"));
    assert_eq!(poll.unshown_kind, "poll", "counted by the kit's metric");
    let nothing = system_line(&group_message(r#""has_protected_content": true"#));
    assert_eq!(nothing.text, unshown("unknown"));
}

#[test]
fn durations_and_dates_read_naturally() {
    assert_eq!(duration(45), "45 s");
    assert_eq!(duration(300), "5 min");
    assert_eq!(duration(7200), "2 h");
    assert_eq!(duration(3 * 86_400), "3 days");
    assert_eq!(utc(0), "1970-01-01 00:00 UTC");
    assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
    // Absurd values neither panic nor overflow.
    let _ = utc(i64::MAX);
    let _ = utc(i64::MIN);
    let _ = duration(i64::MIN);
}
