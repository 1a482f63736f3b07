//! What a Wazzup message says, by its `type`: text, media by `contentUri`,
//! a vCard, a location, a template, or a SYSTEM notice for what a person
//! cannot read as it is (`unsupported`, `missing_call`).

use omnibus_proto::{Attachment, AttachmentKind, AuthorKind, Location, SharedContact};

use crate::wire::Message;

/// The normalized body of one message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Content {
    pub text: String,
    pub attachments: Vec<Attachment>,
    pub author: AuthorKind,
    /// The type of a message Omnibus cannot show (the text is a notice).
    pub unshown: Option<String>,
}

impl Content {
    fn said(text: impl Into<String>, attachments: Vec<Attachment>) -> Self {
        Self {
            text: text.into(),
            attachments,
            author: AuthorKind::Contact,
            unshown: None,
        }
    }

    fn notice(text: impl Into<String>) -> Self {
        Self {
            author: AuthorKind::System,
            ..Self::said(text, Vec::new())
        }
    }
}

/// The content of `message`.
pub(crate) fn of(message: &Message) -> Content {
    let media = |kind: AttachmentKind| {
        let attachment = Attachment {
            kind: kind.into(),
            url: message.content_uri.clone(),
            file_name: file_name(&message.content_uri),
            ..Attachment::default()
        };
        Content::said(message.text.clone(), vec![attachment])
    };
    match message.kind.as_str() {
        "image" if !message.content_uri.is_empty() => media(AttachmentKind::Image),
        "video" if !message.content_uri.is_empty() => media(AttachmentKind::Video),
        "audio" if !message.content_uri.is_empty() => media(AttachmentKind::Audio),
        "document" if !message.content_uri.is_empty() => media(AttachmentKind::Document),
        "vcard" => vcard(&message.text),
        "geo" => geo(&message.text),
        "missing_call" => Content::notice("Missed call from the customer"),
        "unsupported" => Content {
            unshown: Some("unsupported".to_owned()),
            ..Content::notice("The customer sent a message Wazzup does not deliver to Omnibus")
        },
        "text" | "wapi_template" | "" if !message.text.is_empty() => {
            Content::said(message.text.clone(), Vec::new())
        }
        _ if !message.content_uri.is_empty() => media(AttachmentKind::Document),
        _ if !message.text.is_empty() => Content::said(message.text.clone(), Vec::new()),
        other => {
            let unshown = omnibus_ingress::unshown::notice("Wazzup", other);
            Content {
                unshown: Some(unshown.kind),
                ..Content::notice(unshown.text)
            }
        }
    }
}

fn file_name(uri: &str) -> String {
    let path = uri.split(['?', '#']).next().unwrap_or_default();
    path.rsplit('/').next().unwrap_or_default().to_owned()
}

/// A vCard (`FN:` and `TEL…:` lines) as a shared contact.
fn vcard(text: &str) -> Content {
    let value = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find(|line| line.to_ascii_uppercase().starts_with(prefix))
            .and_then(|line| line.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let name = value("FN");
    let phone = value("TEL");
    if name.is_empty() && phone.is_empty() {
        return Content::notice("The customer shared a contact card Omnibus cannot read");
    }
    let attachment = Attachment {
        kind: AttachmentKind::Contact.into(),
        contact: Some(SharedContact {
            name,
            phone,
            provider_user_id: String::new(),
        }),
        ..Attachment::default()
    };
    Content::said(String::new(), vec![attachment])
}

/// `"55.751244, 37.618423"` (Wazzup's text of a location) as a location.
fn geo(text: &str) -> Content {
    let mut numbers = text
        .split([',', ';', ' '])
        .filter(|p| !p.is_empty())
        .map(|p| p.trim().parse::<f64>());
    match (numbers.next(), numbers.next()) {
        (Some(Ok(latitude)), Some(Ok(longitude)))
            if (-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude) =>
        {
            let attachment = Attachment {
                kind: AttachmentKind::Location.into(),
                location: Some(Location {
                    latitude,
                    longitude,
                    ..Location::default()
                }),
                ..Attachment::default()
            };
            Content::said(String::new(), vec![attachment])
        }
        _ if !text.is_empty() => Content::said(format!("(location) {text}"), Vec::new()),
        _ => Content::notice("The customer shared a location Omnibus cannot read"),
    }
}
