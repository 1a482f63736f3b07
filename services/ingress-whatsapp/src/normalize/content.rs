//! What a message says: its text, attachments and who is speaking, for
//! every Cloud API message type. Types a person cannot read as they are
//! (`unsupported`, error-carrying, unknown and system messages) become
//! SYSTEM notices in the conversation rather than being dropped, so an
//! operator sees that the customer tried to say something.

use omnibus_proto::{Attachment, AttachmentKind, AuthorKind, Location, SharedContact};

use omnibus_ingress::unshown;

use super::forms;
use crate::wire::{Card, GraphErrorObject, Media, Message};

/// The normalized body of one message.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Content {
    pub text: String,
    pub attachments: Vec<Attachment>,
    pub author: AuthorKind,
    /// The message a reaction is about (replies use `context`).
    pub reply_to_wamid: Option<String>,
    /// The type of a message Omnibus cannot show (the text is a notice).
    pub unshown: Option<String>,
}

impl Content {
    fn said(text: impl Into<String>, attachments: Vec<Attachment>) -> Self {
        Self {
            text: text.into(),
            attachments,
            author: AuthorKind::Contact,
            reply_to_wamid: None,
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

/// The content of `message`, by its `type`.
pub(super) fn of(message: &Message) -> Content {
    if !message.errors.is_empty() || message.kind == "unsupported" {
        return failed(message);
    }
    let media = |media: &Option<Media>, kind| {
        media
            .as_ref()
            .map(|m| Content::said(m.caption.clone(), vec![file(kind, m)]))
    };
    let content = match message.kind.as_str() {
        "text" => message
            .text
            .as_ref()
            .map(|t| Content::said(t.body.clone(), Vec::new())),
        "image" => media(&message.image, AttachmentKind::Image),
        "video" => media(&message.video, AttachmentKind::Video),
        "document" => media(&message.document, AttachmentKind::Document),
        "sticker" => media(&message.sticker, AttachmentKind::Sticker),
        "audio" => message.audio.as_ref().map(|audio| {
            let kind = if audio.voice {
                AttachmentKind::Voice
            } else {
                AttachmentKind::Audio
            };
            Content::said(String::new(), vec![file(kind, audio)])
        }),
        "location" => message.location.as_ref().map(|place| {
            let location = Location {
                latitude: place.latitude,
                longitude: place.longitude,
                title: place.name.clone(),
                address: place.address.clone(),
            };
            let attachment = Attachment {
                kind: AttachmentKind::Location.into(),
                location: Some(location),
                ..Attachment::default()
            };
            Content::said(String::new(), vec![attachment])
        }),
        "contacts" => message
            .contacts
            .as_ref()
            .map(|cards| Content::said(String::new(), cards.iter().map(card).collect())),
        "interactive" => interactive(message),
        "button" => message.button.as_ref().map(|b| {
            let text = if b.text.is_empty() {
                &b.payload
            } else {
                &b.text
            };
            Content::said(text.clone(), Vec::new())
        }),
        "reaction" => message.reaction.as_ref().map(|r| {
            let text = if r.emoji.is_empty() {
                "(removed a reaction)".to_owned()
            } else {
                r.emoji.clone()
            };
            Content {
                reply_to_wamid: Some(r.message_id.clone()).filter(|id| !id.is_empty()),
                ..Content::said(text, Vec::new())
            }
        }),
        "system" => Some(system(message)),
        "order" => message
            .order
            .as_ref()
            .map(|order| Content::said(forms::order(order), Vec::new())),
        _ => None,
    };
    content.unwrap_or_else(|| unknown(message))
}

fn interactive(message: &Message) -> Option<Content> {
    let interactive = message.interactive.as_ref()?;
    let choice = interactive
        .button_reply
        .as_ref()
        .or(interactive.list_reply.as_ref());
    if let Some(choice) = choice {
        let text = if choice.title.is_empty() {
            &choice.id
        } else {
            &choice.title
        };
        return Some(Content::said(text.clone(), Vec::new()));
    }
    let flow = interactive.nfm_reply.as_ref()?;
    Some(Content::said(forms::flow(flow), Vec::new()))
}

fn system(message: &Message) -> Content {
    let body = message
        .system
        .as_ref()
        .map(|s| s.body.as_str())
        .unwrap_or("");
    if body.is_empty() {
        Content::notice("WhatsApp sent a system notice about this customer")
    } else {
        Content::notice(body)
    }
}

/// `unsupported` messages and messages carrying `errors`.
fn failed(message: &Message) -> Content {
    let sub_kind = message
        .unsupported
        .as_ref()
        .and_then(|u| u["type"].as_str())
        .unwrap_or("");
    let errors = describe(&message.errors);
    let call = sub_kind.contains("call") || errors.to_lowercase().contains("call");
    let mut text = if call {
        "The customer tried to call on WhatsApp; calls do not reach Omnibus".to_owned()
    } else if message.kind == "unsupported" {
        let what = if sub_kind.is_empty() {
            String::from("a message")
        } else {
            format!("a message of type {sub_kind}")
        };
        format!("The customer sent {what} that WhatsApp does not deliver to Omnibus")
    } else {
        "A message from the customer could not be received".to_owned()
    };
    if !errors.is_empty() {
        text.push_str(&format!(" ({errors})"));
    }
    let kind = if sub_kind.is_empty() {
        &message.kind
    } else {
        sub_kind
    };
    Content {
        unshown: Some(unshown::kind_label(kind)),
        ..Content::notice(text)
    }
}

/// A type this code does not know (or a known one without its content).
fn unknown(message: &Message) -> Content {
    let unshown = unshown::notice("WhatsApp", &message.kind);
    Content {
        unshown: Some(unshown.kind),
        ..Content::notice(unshown.text)
    }
}

/// `"131051 Message type unknown: details"`, joined for every error.
pub(crate) fn describe(errors: &[GraphErrorObject]) -> String {
    errors
        .iter()
        .map(|e| {
            let title = if e.title.is_empty() {
                &e.message
            } else {
                &e.title
            };
            let mut line = format!("{} {title}", e.code).trim().to_owned();
            if !e.error_data.details.is_empty() {
                line.push_str(&format!(": {}", e.error_data.details));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// An inbound file, known by WhatsApp's media id (downloaded on demand).
fn file(kind: AttachmentKind, media: &Media) -> Attachment {
    Attachment {
        kind: kind.into(),
        url: media.url.clone(),
        provider_file_id: media.id.clone(),
        mime_type: media.mime_type.clone(),
        file_name: media.filename.clone(),
        ..Attachment::default()
    }
}

fn card(card: &Card) -> Attachment {
    let name = if card.name.formatted_name.is_empty() {
        format!("{} {}", card.name.first_name, card.name.last_name)
            .trim()
            .to_owned()
    } else {
        card.name.formatted_name.clone()
    };
    let phone = card.phones.first();
    Attachment {
        kind: AttachmentKind::Contact.into(),
        contact: Some(SharedContact {
            name,
            phone: phone.map(|p| p.phone.clone()).unwrap_or_default(),
            provider_user_id: phone.map(|p| p.wa_id.clone()).unwrap_or_default(),
        }),
        ..Attachment::default()
    }
}
