//! The text and attachments of a Viber `message`, by its `type`.

use omnibus_proto::{Attachment, AttachmentKind, Location, SharedContact};

use crate::wire::Message;

/// What a message says and carries.
#[derive(Debug, Default)]
pub(super) struct Body {
    pub text: String,
    pub attachments: Vec<Attachment>,
    /// The type of a message Omnibus cannot show (the text is a notice).
    pub unshown: Option<String>,
}

/// The body of `message` (`None`: the message object was unreadable).
pub(super) fn of(message: Option<&Message>) -> Body {
    let Some(message) = message else {
        return unsupported("unreadable");
    };
    let text = message.text.clone();
    let attachment = match message.kind.as_str() {
        "text" => {
            return Body {
                text,
                ..Body::default()
            };
        }
        // A shared link: its URL is the message.
        "url" => {
            let text = [message.media.as_str(), message.text.as_str()]
                .iter()
                .find(|s| !s.is_empty())
                .map(|s| (*s).to_owned())
                .unwrap_or_default();
            return Body {
                text,
                ..Body::default()
            };
        }
        "picture" => media(AttachmentKind::Image, message),
        "video" => media(AttachmentKind::Video, message),
        "file" => media(AttachmentKind::Document, message),
        "sticker" => Attachment {
            kind: AttachmentKind::Sticker.into(),
            url: message.media.clone(),
            provider_file_id: message.sticker_id.clone(),
            ..Attachment::default()
        },
        "contact" => contact(message),
        "location" => location(message),
        other => return unsupported(other),
    };
    Body {
        text,
        attachments: vec![attachment],
        unshown: None,
    }
}

fn media(kind: AttachmentKind, message: &Message) -> Attachment {
    Attachment {
        kind: kind.into(),
        url: message.media.clone(),
        file_name: message.file_name.clone(),
        size_bytes: message.size,
        ..Attachment::default()
    }
}

fn contact(message: &Message) -> Attachment {
    let card = message.contact.clone().unwrap_or_default();
    Attachment {
        kind: AttachmentKind::Contact.into(),
        contact: Some(SharedContact {
            name: card.name,
            phone: card.phone_number,
            provider_user_id: String::new(),
        }),
        ..Attachment::default()
    }
}

fn location(message: &Message) -> Attachment {
    let place = message.location.clone().unwrap_or_default();
    Attachment {
        kind: AttachmentKind::Location.into(),
        location: Some(Location {
            latitude: place.lat,
            longitude: place.lon,
            ..Location::default()
        }),
        ..Attachment::default()
    }
}

/// A kind Omnibus cannot show still tells the operator the customer wrote
/// (the kit's notice, counted by type).
fn unsupported(kind: &str) -> Body {
    let unshown = omnibus_ingress::unshown::notice("Viber", kind);
    Body {
        text: unshown.text,
        attachments: Vec::new(),
        unshown: Some(unshown.kind),
    }
}
