use omnibus_proto::AutoReply;

use super::*;

fn ts(seconds: i64, nanos: i32) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos })
}

fn sample_message() -> Message {
    Message {
        id: "m_1".to_owned(),
        conversation_id: "cv_1".to_owned(),
        direction: Direction::Outbound.into(),
        author_kind: AuthorKind::Operator.into(),
        text: "Your ticket is resolved".to_owned(),
        attachments: vec![Attachment {
            kind: AttachmentKind::Image.into(),
            url: "https://cdn.example/a.png".to_owned(),
            file_name: "a.png".to_owned(),
            ..Default::default()
        }],
        status: MessageStatus::Sent.into(),
        provider_message_id: "3".to_owned(),
        created_at: ts(1_631_132_100, 0),
        updated_at: ts(1_631_132_100, 500_000_000),
        operator_id: "op_1".to_owned(),
        ..Default::default()
    }
}

#[test]
fn timestamps_are_rfc3339_utc() {
    assert_eq!(
        rfc3339(ts(1_631_132_077, 0).as_ref()).unwrap(),
        "2021-09-08T20:14:37Z"
    );
    assert_eq!(
        rfc3339(ts(1_631_132_077, 250_000_000).as_ref()).unwrap(),
        "2021-09-08T20:14:37.25Z"
    );
    assert_eq!(rfc3339(None), None);
}

#[test]
fn a_message_has_short_enum_names_and_timestamps() {
    let value = message(&sample_message());
    assert_eq!(value["direction"], "OUTBOUND");
    assert_eq!(value["author_kind"], "OPERATOR");
    assert_eq!(value["status"], "SENT");
    assert_eq!(value["attachments"][0]["kind"], "IMAGE");
    assert_eq!(value["attachments"][0]["location"], Value::Null);
    assert_eq!(value["created_at"], "2021-09-08T20:15:00Z");
    assert_eq!(value["updated_at"], "2021-09-08T20:15:00.5Z");
    assert_eq!(value["template"], Value::Null);
    assert_eq!(value["operator_id"], "op_1");
}

#[test]
fn a_conversation_nests_its_last_message() {
    let conversation = Conversation {
        id: "cv_1".to_owned(),
        channel_id: "ch_1".to_owned(),
        channel_kind: ChannelKind::Telegram.into(),
        contact_id: "ct_1".to_owned(),
        title: "Sojan Jose".to_owned(),
        status: ConversationStatus::Closed.into(),
        close_reason: CloseReason::Inactivity.into(),
        unread_count: 2,
        unanswered: true,
        last_message: Some(sample_message()),
        created_at: ts(1_631_132_077, 0),
        updated_at: None,
        ..Default::default()
    };
    let value = conversation_json(&conversation);
    assert_eq!(value["channel_kind"], "TELEGRAM");
    assert_eq!(value["status"], "CLOSED");
    assert_eq!(value["close_reason"], "INACTIVITY");
    assert_eq!(value["unread_count"], 2);
    assert_eq!(value["unanswered"], true);
    assert_eq!(value["last_message"]["status"], "SENT");
    assert_eq!(value["created_at"], "2021-09-08T20:14:37Z");
    assert_eq!(value["updated_at"], Value::Null);
}

fn conversation_json(c: &Conversation) -> Value {
    conversation(c)
}

#[test]
fn unknown_enum_numbers_stay_numbers() {
    assert_eq!(message_status(99), "99");
    assert_eq!(channel_kind(0), "UNSPECIFIED");
}

#[test]
fn a_channel_shows_settings_but_no_credentials() {
    let channel = Channel {
        id: "ch_1".to_owned(),
        kind: ChannelKind::Whatsapp.into(),
        status: ChannelStatus::Active.into(),
        credential_keys: vec!["access_token".to_owned()],
        settings: Some(ChannelSettings {
            inactivity_close_seconds: Some(900),
            auto_replies: vec![AutoReply {
                text: "Hi".to_owned(),
                delay_seconds: 5,
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let value = super::channel(&channel);
    assert_eq!(value["kind"], "WHATSAPP");
    assert_eq!(value["status"], "ACTIVE");
    assert_eq!(value["settings"]["inactivity_close_seconds"], 900);
    assert_eq!(value["settings"]["unanswered_after_seconds"], Value::Null);
    assert_eq!(value["settings"]["auto_replies"][0]["delay_seconds"], 5);
    assert_eq!(value["credential_keys"][0], "access_token");
    assert!(value.get("credentials").is_none());
}

#[test]
fn pages_carry_the_next_token() {
    let value = page("channels", vec![json!({"id": "ch_1"})], "t2");
    assert_eq!(
        value,
        json!({"channels": [{"id": "ch_1"}], "next_page_token": "t2"})
    );
}
