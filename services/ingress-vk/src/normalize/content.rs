//! The text and attachments of a VK message: its own, its attachments by
//! kind, its location, and the messages it forwards.

use omnibus_ingress::unshown;
use omnibus_proto::{Attachment, AttachmentKind, Location};

use crate::wire::{self, Message, Size};

/// What a message says and carries.
#[derive(Debug, Default)]
pub(crate) struct Body {
    pub text: String,
    pub attachments: Vec<Attachment>,
    /// The kind of the first attachment Omnibus cannot show (marked in the
    /// text), counted by the kit.
    pub unshown: Option<String>,
}

/// How deep forwarded messages inside forwarded messages are shown.
const MAX_FORWARD_DEPTH: usize = 3;

/// The body of `message`, forwarded messages included (quoted in the text,
/// their attachments after the message's own).
pub(crate) fn of(message: &Message) -> Body {
    let mut body = Body::default();
    add(&mut body, message, 0);
    body.text = body.text.trim().to_owned();
    body
}

fn add(body: &mut Body, message: &Message, depth: usize) {
    let quote = "> ".repeat(depth);
    let mut lines: Vec<String> = message
        .text
        .lines()
        .map(|l| format!("{quote}{l}"))
        .collect();
    for attachment in &message.attachments {
        match of_attachment(attachment) {
            Some(Part::File(file)) => body.attachments.push(*file),
            Some(Part::Text(text)) if !message.text.contains(&text) => {
                lines.push(format!("{quote}{text}"));
            }
            Some(Part::Text(_)) => {}
            None => {
                let unshown = unshown::marker("VK attachment", &attachment.kind);
                lines.push(format!("{quote}{}", unshown.text));
                body.unshown.get_or_insert(unshown.kind);
            }
        }
    }
    if let Some(geo) = &message.geo {
        body.attachments.push(location(geo));
    }
    if !lines.is_empty() {
        if !body.text.is_empty() {
            body.text.push('\n');
        }
        body.text.push_str(&lines.join("\n"));
    }
    if depth >= MAX_FORWARD_DEPTH {
        return;
    }
    for forwarded in &message.fwd_messages {
        body.text.push_str(&format!(
            "\n{}> forwarded from id{}:",
            quote, forwarded.from_id
        ));
        add(body, forwarded, depth + 1);
    }
}

enum Part {
    File(Box<Attachment>),
    Text(String),
}

fn of_attachment(attachment: &wire::Attachment) -> Option<Part> {
    Some(match attachment.kind.as_str() {
        "photo" => {
            let photo = attachment.photo.as_ref()?;
            Part::File(Box::new(Attachment {
                kind: AttachmentKind::Image.into(),
                url: largest(&photo.sizes),
                provider_file_id: media_id("photo", photo.owner_id, photo.id, &photo.access_key),
                mime_type: "image/jpeg".into(),
                ..Attachment::default()
            }))
        }
        "doc" => {
            let doc = attachment.doc.as_ref()?;
            Part::File(Box::new(Attachment {
                kind: AttachmentKind::Document.into(),
                url: doc.url.clone(),
                provider_file_id: media_id("doc", doc.owner_id, doc.id, &doc.access_key),
                file_name: doc.title.clone(),
                size_bytes: doc.size,
                ..Attachment::default()
            }))
        }
        "audio_message" => {
            let voice = attachment.audio_message.as_ref()?;
            let (url, mime_type) = if voice.link_ogg.is_empty() {
                (voice.link_mp3.clone(), "audio/mpeg")
            } else {
                (voice.link_ogg.clone(), "audio/ogg")
            };
            Part::File(Box::new(Attachment {
                kind: AttachmentKind::Voice.into(),
                url,
                provider_file_id: media_id(
                    "audio_message",
                    voice.owner_id,
                    voice.id,
                    &voice.access_key,
                ),
                mime_type: mime_type.into(),
                ..Attachment::default()
            }))
        }
        "sticker" => {
            let sticker = attachment.sticker.as_ref()?;
            Part::File(Box::new(Attachment {
                kind: AttachmentKind::Sticker.into(),
                url: largest(&sticker.images),
                provider_file_id: sticker.sticker_id.to_string(),
                ..Attachment::default()
            }))
        }
        "link" => Part::Text(attachment.link.as_ref()?.url.clone()),
        "wall" => {
            let post = attachment.wall.as_ref()?;
            let owner = if post.owner_id != 0 {
                post.owner_id
            } else {
                post.to_id
            };
            let excerpt: String = post.text.chars().take(200).collect();
            Part::Text(
                format!(
                    "[wall post] https://vk.com/wall{owner}_{} {excerpt}",
                    post.id
                )
                .trim()
                .to_owned(),
            )
        }
        "video" | "audio" => {
            let media = attachment.video.as_ref().or(attachment.audio.as_ref())?;
            let kind = if attachment.kind == "video" {
                AttachmentKind::Video
            } else {
                AttachmentKind::Audio
            };
            let id = media_id(
                &attachment.kind,
                media.owner_id,
                media.id,
                &media.access_key,
            );
            Part::File(Box::new(Attachment {
                kind: kind.into(),
                url: format!(
                    "https://vk.com/{}{}_{}",
                    attachment.kind, media.owner_id, media.id
                ),
                provider_file_id: id,
                file_name: media.title.clone(),
                ..Attachment::default()
            }))
        }
        _ => return None,
    })
}

/// `photo<owner>_<id>[_<access key>]`: how VK names media in `attachment`.
pub(crate) fn media_id(kind: &str, owner_id: i64, id: i64, access_key: &str) -> String {
    if access_key.is_empty() {
        format!("{kind}{owner_id}_{id}")
    } else {
        format!("{kind}{owner_id}_{id}_{access_key}")
    }
}

fn largest(sizes: &[Size]) -> String {
    sizes
        .iter()
        .max_by_key(|s| s.width.saturating_mul(s.height))
        .map(|s| s.url.clone())
        .unwrap_or_default()
}

fn location(geo: &wire::Geo) -> Attachment {
    let coordinates = geo.coordinates.clone().unwrap_or_default();
    Attachment {
        kind: AttachmentKind::Location.into(),
        location: Some(Location {
            latitude: coordinates.latitude,
            longitude: coordinates.longitude,
            title: geo
                .place
                .as_ref()
                .map(|p| p.title.clone())
                .unwrap_or_default(),
            ..Location::default()
        }),
        ..Attachment::default()
    }
}
