use omnibus_proto::{
    Attachment, AttachmentKind, Location, MessageRequested, SharedContact, TemplateRef,
};

use super::*;

fn request(text: &str, attachments: Vec<Attachment>) -> MessageRequested {
    MessageRequested {
        message_id: "msg_1".into(),
        text: text.into(),
        attachments,
        provider_chat_id: "01234567890A=".into(),
        ..MessageRequested::default()
    }
}

fn attachment(kind: AttachmentKind, url: &str, size: u64) -> Attachment {
    Attachment {
        kind: kind.into(),
        url: url.into(),
        size_bytes: size,
        ..Attachment::default()
    }
}

#[test]
fn text_goes_to_the_customer_from_the_bot() {
    let bodies = plan(
        &request("Hello! How can we help?", vec![]),
        "Acme Support",
        "",
    )
    .expect("a plan");
    assert_eq!(bodies.len(), 1);
    let body = &bodies[0];
    assert_eq!(body["receiver"], "01234567890A=");
    assert_eq!(body["type"], "text");
    assert_eq!(body["text"], "Hello! How can we help?");
    assert_eq!(body["sender"]["name"], "Acme Support");
    assert_eq!(body["min_api_version"], 1);
    assert_eq!(body["tracking_data"], "msg_1");
    assert!(body["sender"].get("avatar").is_none());
}

#[test]
fn the_sender_name_fits_viber() {
    let long = "A very long support team name that Viber refuses";
    let name = sender(long, "https://cdn.example/bot.jpg");
    assert_eq!(
        name["name"].as_str().map(|n| n.chars().count()),
        Some(MAX_SENDER_NAME_CHARS)
    );
    assert_eq!(name["avatar"], "https://cdn.example/bot.jpg");
    assert_eq!(sender(" ", "")["name"], "Support");
}

#[test]
fn a_picture_with_a_short_text_is_one_captioned_picture() {
    let picture = attachment(AttachmentKind::Image, "https://cdn.example/p.jpg", 0);
    let bodies = plan(&request("the new box", vec![picture]), "Bot", "").expect("a plan");
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        (bodies[0]["type"].as_str(), bodies[0]["text"].as_str()),
        (Some("picture"), Some("the new box"))
    );
    assert_eq!(bodies[0]["media"], "https://cdn.example/p.jpg");
}

#[test]
fn attachments_follow_the_text_one_by_one() {
    let attachments = vec![
        attachment(
            AttachmentKind::Document,
            "https://cdn.example/invoice.pdf?sig=1",
            2048,
        ),
        attachment(AttachmentKind::Video, "https://cdn.example/v.mp4", 1000),
        attachment(
            AttachmentKind::Document,
            "https://cdn.example/unsized.pdf",
            0,
        ),
        Attachment {
            kind: AttachmentKind::Location.into(),
            location: Some(Location {
                latitude: 1.5,
                longitude: 2.5,
                ..Location::default()
            }),
            ..Attachment::default()
        },
        Attachment {
            kind: AttachmentKind::Contact.into(),
            contact: Some(SharedContact {
                name: "Holly".into(),
                phone: "+1555".into(),
                ..SharedContact::default()
            }),
            ..Attachment::default()
        },
        Attachment {
            kind: AttachmentKind::Sticker.into(),
            provider_file_id: "46105".into(),
            ..Attachment::default()
        },
    ];
    let bodies = plan(&request("here you go", attachments), "Bot", "").expect("a plan");
    let kinds: Vec<_> = bodies
        .iter()
        .map(|b| b["type"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        kinds,
        [
            "text", "file", "video", "url", "location", "contact", "sticker"
        ]
    );
    assert_eq!(bodies[1]["file_name"], "invoice.pdf");
    assert_eq!(bodies[1]["size"], 2048);
    assert_eq!(bodies[4]["location"]["lon"], 2.5);
    assert_eq!(bodies[5]["contact"]["phone_number"], "+1555");
    assert_eq!(bodies[6]["sticker_id"], 46105);
}

#[test]
fn what_viber_cannot_take_is_refused_before_sending() {
    assert_eq!(
        plan(&request("  ", vec![]), "Bot", ""),
        Err(PlanError::Empty)
    );
    let mut templated = request("x", vec![]);
    templated.template = Some(TemplateRef::default());
    assert_eq!(plan(&templated, "Bot", ""), Err(PlanError::Template));
    let long = "x".repeat(MAX_TEXT_CHARS + 1);
    assert_eq!(
        plan(&request(&long, vec![]), "Bot", ""),
        Err(PlanError::TooLong)
    );
    let urlless = attachment(AttachmentKind::Image, "", 0);
    assert_eq!(
        plan(&request("", vec![urlless]), "Bot", ""),
        Err(PlanError::NoUrl(0))
    );
    let sticker = Attachment {
        kind: AttachmentKind::Sticker.into(),
        provider_file_id: "abc".into(),
        ..Attachment::default()
    };
    assert!(matches!(
        plan(&request("", vec![sticker]), "Bot", ""),
        Err(PlanError::Unsupported(_))
    ));
}
