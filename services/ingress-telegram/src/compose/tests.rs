use omnibus_proto::{Attachment, AttachmentKind};
use serde_json::json;

use super::*;
use crate::errors::ApiError;

fn text(text: &str) -> OutboundMessage {
    OutboundMessage {
        chat_id: "100200300".into(),
        text: text.into(),
        ..OutboundMessage::default()
    }
}

fn attachment(kind: AttachmentKind, url: &str) -> Attachment {
    Attachment {
        kind: kind.into(),
        url: url.into(),
        ..Attachment::default()
    }
}

#[test]
fn text_goes_through_send_message_with_a_numeric_chat_id_and_reply() {
    let msg = OutboundMessage {
        reply_to_provider_message_id: Some(2),
        ..text("Hello!")
    };
    let calls = plan(&msg).expect("plan");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].method, "sendMessage");
    assert_eq!(
        calls[0].body,
        json!({"chat_id": 100200300, "text": "Hello!",
               "reply_parameters": {"message_id": 2, "allow_sending_without_reply": true}})
    );
}

#[test]
fn non_numeric_chat_ids_stay_strings() {
    let msg = OutboundMessage {
        chat_id: "@acme_news".into(),
        ..text("hi")
    };
    assert_eq!(plan(&msg).expect("plan")[0].body["chat_id"], "@acme_news");
    let group = OutboundMessage {
        chat_id: "-1001234567890".into(),
        ..text("hi")
    };
    assert_eq!(
        plan(&group).expect("plan")[0].body["chat_id"],
        -1001234567890_i64
    );
}

#[test]
fn an_image_goes_as_a_photo_with_the_text_as_caption() {
    let msg = OutboundMessage {
        attachments: vec![attachment(AttachmentKind::Image, "https://cdn.test/a.png")],
        ..text("see attached")
    };
    let calls = plan(&msg).expect("plan");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].method, "sendPhoto");
    assert_eq!(
        calls[0].body,
        json!({"chat_id": 100200300, "photo": "https://cdn.test/a.png", "caption": "see attached"})
    );
}

#[test]
fn other_files_go_as_documents_in_order_captioning_only_the_first() {
    let msg = OutboundMessage {
        reply_to_provider_message_id: Some(7),
        attachments: vec![
            attachment(AttachmentKind::Document, "https://cdn.test/invoice.pdf"),
            attachment(AttachmentKind::Video, "https://cdn.test/howto.mp4"),
            attachment(AttachmentKind::Image, "https://cdn.test/b.png"),
        ],
        ..text("your documents")
    };
    let calls = plan(&msg).expect("plan");
    let methods: Vec<&str> = calls.iter().map(|c| c.method).collect();
    assert_eq!(methods, ["sendDocument", "sendDocument", "sendPhoto"]);
    assert_eq!(calls[0].body["document"], "https://cdn.test/invoice.pdf");
    assert_eq!(calls[0].body["caption"], "your documents");
    assert_eq!(calls[0].body["reply_parameters"]["message_id"], 7);
    for call in &calls[1..] {
        assert_eq!(call.body.get("caption"), None);
        assert_eq!(call.body.get("reply_parameters"), None);
    }
}

#[test]
fn text_too_long_for_a_caption_goes_first_on_its_own() {
    let long = "x".repeat(MAX_CAPTION_CHARS + 1);
    let msg = OutboundMessage {
        attachments: vec![attachment(AttachmentKind::Image, "https://cdn.test/a.png")],
        ..text(&long)
    };
    let calls = plan(&msg).expect("plan");
    assert_eq!(calls[0].method, "sendMessage");
    assert_eq!(calls[1].method, "sendPhoto");
    assert_eq!(calls[1].body.get("caption"), None);
}

#[test]
fn files_without_url_use_the_telegram_file_id_or_are_refused() {
    let resend = Attachment {
        provider_file_id: "BQAD-file".into(),
        ..attachment(AttachmentKind::Document, "")
    };
    let msg = OutboundMessage {
        attachments: vec![resend],
        ..text("")
    };
    assert_eq!(plan(&msg).expect("plan")[0].body["document"], "BQAD-file");

    let location = OutboundMessage {
        attachments: vec![
            attachment(AttachmentKind::Image, "https://cdn.test/a.png"),
            attachment(AttachmentKind::Location, ""),
        ],
        ..text("")
    };
    let error = plan(&location).expect_err("refused");
    assert!(matches!(&error, ApiError::Rejected { code: 0, description }
        if description.contains("ATTACHMENT_KIND_LOCATION")));
    assert_eq!(error.provider_code(), None);
}
