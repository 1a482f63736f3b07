use omnibus_proto::{Attachment, AttachmentKind, CommentReply, MessageRequested, TemplateRef};
use serde_json::json;

use super::*;
use crate::normalize::comment_chat_id;

fn request(chat: &str, text: &str) -> MessageRequested {
    MessageRequested {
        message_id: "msg_1".into(),
        text: text.into(),
        provider_chat_id: chat.into(),
        ..MessageRequested::default()
    }
}

#[test]
fn a_direct_text_is_one_response_message() {
    let calls = plan(
        &request("6543210987654321", "Yes, we ship!"),
        "17841400000000001",
    )
    .unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].path, "17841400000000001/messages");
    assert_eq!(
        calls[0].body,
        json!({ "recipient": { "id": "6543210987654321" }, "message": { "text": "Yes, we ship!" },
                "messaging_type": "RESPONSE" })
    );
    assert_eq!(plan(&request("1", "x"), "").unwrap()[0].path, "me/messages");
}

#[test]
fn attachments_follow_the_text_and_the_reply_goes_first() {
    let mut message = request("1", "Here it is");
    message.reply_to_provider_message_id = "m_customer".into();
    message.attachments = vec![Attachment {
        kind: AttachmentKind::Image.into(),
        url: "https://cdn.example.com/p.jpg".into(),
        ..Attachment::default()
    }];
    let calls = plan(&message, "acc").unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].body["reply_to"]["mid"], "m_customer");
    assert!(calls[1].body.get("reply_to").is_none());
    assert_eq!(
        calls[1].body["message"],
        json!({ "attachment": { "type": "image", "payload": { "url": "https://cdn.example.com/p.jpg" } } })
    );
}

#[test]
fn the_human_agent_tag_when_asked() {
    let mut message = request("1", "Sorry for the wait");
    message.human_agent_tag = true;
    let body = &plan(&message, "acc").unwrap()[0].body;
    assert_eq!(body["messaging_type"], "MESSAGE_TAG");
    assert_eq!(body["tag"], "HUMAN_AGENT");
}

#[test]
fn comments_are_answered_publicly_or_privately() {
    let chat = comment_chat_id("17887498072083520", "6543210987654321");
    let mut message = request(&chat, "It's $40");
    message.reply_to_provider_message_id = "17865799348089039".into();
    let public = plan(&message, "acc").unwrap();
    assert_eq!(public[0].path, "17865799348089039/replies");
    assert_eq!(public[0].body, json!({ "message": "It's $40" }));
    message.comment_reply = CommentReply::Private.into();
    let private = plan(&message, "acc").unwrap();
    assert_eq!(private[0].path, "acc/messages");
    assert_eq!(
        private[0].body,
        json!({ "recipient": { "comment_id": "17865799348089039" }, "message": { "text": "It's $40" } })
    );
}

#[test]
fn what_cannot_be_sent_is_refused_before_sending() {
    let chat = comment_chat_id("m", "u");
    assert_eq!(
        plan(&request(&chat, "x"), "a"),
        Err(ComposeError::NoComment)
    );
    assert_eq!(plan(&request("", "x"), "a"), Err(ComposeError::NoRecipient));
    assert_eq!(plan(&request("1", ""), "a"), Err(ComposeError::Empty));
    assert_eq!(
        plan(&request("1", &"a".repeat(1001)), "a"),
        Err(ComposeError::TooLong(1000))
    );
    let mut template = request("1", "");
    template.template = Some(TemplateRef {
        name: "hello".into(),
        ..TemplateRef::default()
    });
    assert_eq!(plan(&template, "a"), Err(ComposeError::Template));
    let mut place = request("1", "");
    place.attachments = vec![Attachment {
        kind: AttachmentKind::Location.into(),
        ..Attachment::default()
    }];
    assert!(matches!(
        plan(&place, "a"),
        Err(ComposeError::Unsupported(_))
    ));
    let mut with_file = request(&chat, "x");
    with_file.reply_to_provider_message_id = "c".into();
    with_file.attachments = vec![Attachment::default()];
    assert_eq!(plan(&with_file, "a"), Err(ComposeError::CommentAttachment));
}

#[test]
fn the_sent_id_comes_from_either_answer() {
    assert_eq!(
        sent_id(&json!({ "recipient_id": "1", "message_id": "m_9" })),
        Some("m_9".into())
    );
    assert_eq!(sent_id(&json!({ "id": "1790" })), Some("1790".into()));
    assert_eq!(sent_id(&json!({})), None);
}
