use omnibus_proto::{Attachment, AttachmentKind, Location, MessageRequested, TemplateRef};

use super::*;

fn request(chat: &str, text: &str, attachments: Vec<Attachment>) -> MessageRequested {
    MessageRequested {
        message_id: "msg_1".into(),
        text: text.into(),
        attachments,
        provider_chat_id: chat.into(),
        ..MessageRequested::default()
    }
}

#[test]
fn a_dialog_gets_messages_send() {
    let mut message = request("501234567", "Hi, we are checking your order", vec![]);
    message.reply_to_provider_message_id = "4812".into();
    let call = plan(&message, 218765432).expect("a plan");
    assert_eq!(call.method, "messages.send");
    assert_eq!(call.param("peer_id"), Some("501234567"));
    assert_eq!(
        call.param("message"),
        Some("Hi, we are checking your order")
    );
    assert_eq!(call.param("reply_to"), Some("4812"));
    assert_eq!(
        call.param("access_token"),
        None,
        "the client adds credentials"
    );
}

#[test]
fn vk_media_go_as_attachments_and_links_as_text() {
    let attachments = vec![
        Attachment {
            kind: AttachmentKind::Image.into(),
            provider_file_id: "photo-1_457239017".into(),
            ..Attachment::default()
        },
        Attachment {
            kind: AttachmentKind::Document.into(),
            url: "https://cdn.example/a.pdf".into(),
            ..Attachment::default()
        },
        Attachment {
            kind: AttachmentKind::Location.into(),
            location: Some(Location {
                latitude: 55.75,
                longitude: 37.61,
                ..Location::default()
            }),
            ..Attachment::default()
        },
        Attachment {
            kind: AttachmentKind::Sticker.into(),
            provider_file_id: "163".into(),
            ..Attachment::default()
        },
    ];
    let call = plan(&request("7", "see", attachments), 1).expect("a plan");
    assert_eq!(call.param("attachment"), Some("photo-1_457239017"));
    assert_eq!(
        call.param("message"),
        Some("see\nhttps://cdn.example/a.pdf")
    );
    assert_eq!(
        (call.param("lat"), call.param("long")),
        (Some("55.75"), Some("37.61"))
    );
    assert_eq!(call.param("sticker_id"), Some("163"));
}

#[test]
fn comment_threads_are_answered_under_the_post_or_item() {
    let mut wall = request("wall-218765432_12:501234567", "120 rub", vec![]);
    wall.reply_to_provider_message_id = "90".into();
    let call = plan(&wall, 218765432).expect("a plan");
    assert_eq!(call.method, "wall.createComment");
    assert_eq!(
        (call.param("owner_id"), call.param("post_id")),
        (Some("-218765432"), Some("12"))
    );
    assert_eq!(
        (call.param("from_group"), call.param("reply_to_comment")),
        (Some("218765432"), Some("90"))
    );
    let market = plan(
        &request("market-218765432_55:501234567", "yes", vec![]),
        218765432,
    )
    .expect("a plan");
    assert_eq!(market.method, "market.createComment");
    assert_eq!(market.param("item_id"), Some("55"));
}

#[test]
fn what_vk_cannot_take_is_refused_before_sending() {
    assert_eq!(plan(&request("7", " ", vec![]), 1), Err(PlanError::Empty));
    let mut templated = request("7", "x", vec![]);
    templated.template = Some(TemplateRef::default());
    assert_eq!(plan(&templated, 1), Err(PlanError::Template));
    assert_eq!(
        plan(&request("7", &"x".repeat(MAX_TEXT_CHARS + 1), vec![]), 1),
        Err(PlanError::TooLong)
    );
    assert!(matches!(
        plan(&request("abc", "x", vec![]), 1),
        Err(PlanError::BadPeer(_))
    ));
}
