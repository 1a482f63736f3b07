//! Outbound messages in the Cloud API's wire format.

use std::collections::HashMap;

use omnibus_proto::{Attachment, AttachmentKind, Location, MessageRequested, TemplateRef};
use serde_json::json;

use super::*;

fn request(text: &str) -> MessageRequested {
    MessageRequested {
        message_id: "msg_1".into(),
        text: text.into(),
        provider_chat_id: "16505551234".into(),
        ..MessageRequested::default()
    }
}

fn link(kind: AttachmentKind, url: &str) -> Attachment {
    Attachment {
        kind: kind.into(),
        url: url.into(),
        ..Attachment::default()
    }
}

#[test]
fn text_with_a_reply_context() {
    let mut message = request("Hi Sheena, yes it also comes in blue.");
    message.reply_to_provider_message_id = "wamid.Q".into();
    assert_eq!(
        plan(&message).unwrap(),
        [json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234",
            "type": "text", "text": {"preview_url": false, "body": "Hi Sheena, yes it also comes in blue."},
            "context": {"message_id": "wamid.Q"}
        })]
    );
}

#[test]
fn media_go_by_link_with_the_text_as_the_first_caption() {
    let mut message = request("Your invoice");
    message.attachments = vec![
        Attachment {
            file_name: "invoice.pdf".into(),
            ..link(
                AttachmentKind::Document,
                "https://cdn.example.com/invoice.pdf",
            )
        },
        link(AttachmentKind::Image, "https://cdn.example.com/box.jpg"),
    ];
    let bodies = plan(&message).unwrap();
    assert_eq!(bodies.len(), 2);
    assert_eq!(
        bodies[0]["document"],
        json!({"link": "https://cdn.example.com/invoice.pdf", "caption": "Your invoice",
               "filename": "invoice.pdf"})
    );
    assert_eq!(bodies[1]["type"], "image");
    assert_eq!(
        bodies[1]["image"],
        json!({"link": "https://cdn.example.com/box.jpg"})
    );
}

#[test]
fn audio_takes_no_caption_so_the_text_goes_first() {
    let mut message = request("Listen");
    message.attachments = vec![link(AttachmentKind::Voice, "https://cdn.example.com/a.ogg")];
    let bodies = plan(&message).unwrap();
    assert_eq!(bodies[0]["type"], "text");
    assert_eq!(
        bodies[1]["audio"],
        json!({"link": "https://cdn.example.com/a.ogg"})
    );
}

#[test]
fn video_and_locations() {
    let mut message = request("");
    message.attachments = vec![
        link(AttachmentKind::Video, "https://cdn.example.com/v.mp4"),
        Attachment {
            kind: AttachmentKind::Location.into(),
            location: Some(Location {
                latitude: 1.5,
                longitude: 2.5,
                title: "Shop".into(),
                address: String::new(),
            }),
            ..Attachment::default()
        },
    ];
    let bodies = plan(&message).unwrap();
    assert_eq!(bodies[0]["video"]["link"], "https://cdn.example.com/v.mp4");
    assert_eq!(
        bodies[1]["location"],
        json!({"latitude": 1.5, "longitude": 2.5, "name": "Shop"})
    );
}

#[test]
fn templates_carry_positional_and_named_body_parameters() {
    let mut message = request("Hello Sheena, order A12345 shipped");
    message.template = Some(TemplateRef {
        name: "order_update_v1".into(),
        language: "en_US".into(),
        parameters: vec!["Sheena".into(), "A12345".into()],
        named_parameters: HashMap::new(),
    });
    let bodies = plan(&message).unwrap();
    assert_eq!(bodies.len(), 1, "the rendered text is not sent separately");
    assert_eq!(
        bodies[0]["template"],
        json!({"name": "order_update_v1", "language": {"code": "en_US"},
               "components": [{"type": "body", "parameters": [
                   {"type": "text", "text": "Sheena"}, {"type": "text", "text": "A12345"}]}]})
    );
    message.template = Some(TemplateRef {
        name: "greeting".into(),
        language: "en".into(),
        parameters: Vec::new(),
        named_parameters: [
            ("order".to_owned(), "A1".to_owned()),
            ("first_name".to_owned(), "Sheena".to_owned()),
        ]
        .into(),
    });
    let named = &plan(&message).unwrap()[0]["template"]["components"][0]["parameters"];
    assert_eq!(
        *named,
        json!([{"type": "text", "parameter_name": "first_name", "text": "Sheena"},
               {"type": "text", "parameter_name": "order", "text": "A1"}])
    );
    message.template.as_mut().unwrap().named_parameters.clear();
    assert!(
        plan(&message).unwrap()[0]["template"]
            .get("components")
            .is_none()
    );
}

#[test]
fn unsendable_messages_are_refused_before_anything_goes_out() {
    assert_eq!(plan(&request("")), Err(ComposeError::Empty));
    let mut nobody = request("hi");
    nobody.provider_chat_id.clear();
    assert_eq!(plan(&nobody), Err(ComposeError::NoRecipient));
    assert_eq!(
        plan(&request(&"x".repeat(4097))),
        Err(ComposeError::TooLong)
    );
    let mut no_url = request("see");
    no_url.attachments = vec![
        link(AttachmentKind::Image, "https://cdn.example.com/ok.jpg"),
        link(AttachmentKind::Image, " "),
    ];
    assert!(matches!(plan(&no_url), Err(ComposeError::NoUrl(_))));
}

#[test]
fn a_customer_without_a_phone_is_addressed_by_recipient_and_a_group_as_a_group() {
    let mut message = request("Thanks!");
    message.provider_chat_id = "US.13491208655302741918".into();
    assert_eq!(
        plan(&message).unwrap(),
        [json!({
            "messaging_product": "whatsapp", "recipient_type": "individual",
            "recipient": "US.13491208655302741918",
            "type": "text", "text": {"preview_url": false, "body": "Thanks!"}
        })]
    );
    message.provider_chat_id = "group:Y2FwaV9ncm91cDox".into();
    assert_eq!(
        plan(&message).unwrap(),
        [json!({
            "messaging_product": "whatsapp", "recipient_type": "group", "to": "Y2FwaV9ncm91cDox",
            "type": "text", "text": {"preview_url": false, "body": "Thanks!"}
        })]
    );
    message.provider_chat_id = "group:".into();
    assert_eq!(plan(&message), Err(ComposeError::NoRecipient));
}
