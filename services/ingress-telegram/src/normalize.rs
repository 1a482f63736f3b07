//! Turns a Telegram [`Update`] into an Omnibus [`Event`], or says why not.
//!
//! Normalization is pure and deterministic: the same update on the same
//! channel always gives the same event, with ids derived from Telegram's own
//! (`omnibus_core::ids`), so a redelivered webhook or a replayed stream lands
//! on the same conversation, contact and message.
//!
//! In a private chat the customer is the user; in a group the conversation
//! and the contact are the group, and `author_name` tells which member wrote.
//!
//! Besides messages and edits, what the customer does is shown too:
//! button presses ([`actions`]: `callback_query`), reactions
//! (`message_reaction`), blocking the bot or adding it to a group
//! (`my_chat_member`), and service messages and `web_app_data`
//! ([`service`]). A message Omnibus cannot show becomes a notice naming
//! its kind (the kit's `unshown::notice`), never nothing.

mod actions;
mod service;

use omnibus_core::ids;
use omnibus_proto::{
    Attachment, AttachmentKind, AuthorKind, Direction, Event, Location, MessageEdited,
    MessageReceived, Peer, SharedContact, event::Payload,
};

use crate::wire::{self, Chat, Message, Update, User};

/// The outcome of normalizing one update.
#[derive(Debug, Clone, PartialEq)]
// The event is built once per webhook and moved on at once; boxing it would
// only make callers' matches noisier.
#[allow(clippy::large_enum_variant)]
pub enum Normalized {
    /// An event to publish; `recorded_at_ms` is 0 and left to the caller.
    Event(Event),
    /// Nothing to publish; the reason is for logs.
    Ignored(&'static str),
}

/// Normalizes an update received on `channel_id`.
///
/// New messages become `MessageReceived` and edits `MessageEdited`, keyed so
/// that an edit carries the same `message_id` as the original. Button
/// presses and reactions become the customer's messages, membership changes
/// and service messages SYSTEM lines. Channel posts, other members' changes
/// and update kinds without a chat are ignored.
pub fn normalize(channel_id: &str, update: &Update) -> Normalized {
    if update.malformed.is_some() {
        return Normalized::Ignored("malformed update");
    }
    let id = update.update_id;
    if let Some(message) = &update.message {
        return received(channel_id, id, message);
    }
    if let Some(message) = &update.edited_message {
        return edited(channel_id, id, message);
    }
    if let Some(query) = &update.callback_query {
        return actions::pressed(channel_id, id, query);
    }
    if let Some(change) = &update.my_chat_member {
        return actions::membership(channel_id, id, change);
    }
    if let Some(reaction) = &update.message_reaction {
        return actions::reaction(channel_id, id, reaction);
    }
    Normalized::Ignored(ignored_kind(update))
}

/// Names the kind of an update Omnibus does not handle.
fn ignored_kind(update: &Update) -> &'static str {
    if update.channel_post.is_some() {
        "channel post"
    } else if update.edited_channel_post.is_some() {
        "edited channel post"
    } else if update.chat_member.is_some() {
        "chat member change"
    } else {
        "unsupported update kind"
    }
}

// === message and edit ===

fn received(channel_id: &str, update_id: i64, message: &Message) -> Normalized {
    let context = match Context::of(channel_id, message) {
        Ok(context) => context,
        Err(reason) => return Normalized::Ignored(reason),
    };
    let (text, attachments) = content(message);
    let said = if text.is_empty() && attachments.is_empty() {
        service::line(message)
    } else {
        Said {
            text,
            attachments,
            ..Said::by_customer(message)
        }
    };
    context.said(update_id, message.date, said)
}

fn edited(channel_id: &str, update_id: i64, message: &Message) -> Normalized {
    let context = match Context::of(channel_id, message) {
        Ok(context) => context,
        Err(reason) => return Normalized::Ignored(reason),
    };
    let (text, attachments) = content(message);
    if text.is_empty() && attachments.is_empty() {
        return Normalized::Ignored("edit without text or media");
    }
    let payload = Payload::MessageEdited(MessageEdited {
        message_id: context.message_id(message.message_id),
        provider_message_id: message.message_id.to_string(),
        text,
        attachments,
        peer: Some(context.peer.clone()),
        contact_id: context.contact_id.clone(),
        deleted: false,
    });
    let at = message.edit_date.unwrap_or(message.date);
    Normalized::Event(context.event(update_id, at, payload))
}

/// One message in the conversation, as normalization decided it.
#[derive(Debug, Clone, PartialEq)]
struct Said {
    /// Unique in the chat: Telegram's message id, or a key derived from
    /// the update for what has none (a button press, a reaction).
    key: String,
    /// Telegram's message id; empty for what is not a Telegram message.
    provider_message_id: String,
    text: String,
    attachments: Vec<Attachment>,
    author: AuthorKind,
    author_name: String,
    /// Telegram's id of the message this one answers or is about.
    reply_to: Option<i64>,
    /// The kind of a message Omnibus cannot show (the kit counts it).
    unshown_kind: String,
}

impl Said {
    /// The customer's message `message`, with no content yet.
    fn by_customer(message: &Message) -> Self {
        Self {
            key: message.message_id.to_string(),
            provider_message_id: message.message_id.to_string(),
            text: String::new(),
            attachments: Vec::new(),
            author: AuthorKind::Contact,
            author_name: author_name(message),
            reply_to: message.reply_to_message.as_ref().map(|r| r.message_id),
            unshown_kind: String::new(),
        }
    }

    /// A SYSTEM line about `message` (a service message).
    fn notice(message: &Message, text: String) -> Self {
        Self {
            text,
            author: AuthorKind::System,
            reply_to: None,
            ..Self::by_customer(message)
        }
    }

    /// The notice for a message Omnibus cannot show, naming its kind.
    fn unshown(message: &Message) -> Self {
        let unshown = omnibus_ingress::unshown::notice("Telegram", crate::unshown::kind(message));
        Self {
            unshown_kind: unshown.kind,
            ..Self::notice(message, unshown.text)
        }
    }
}

/// What every event of one chat shares: ids and the peer.
struct Context<'a> {
    channel_id: &'a str,
    chat_id: String,
    peer: Peer,
    contact_id: String,
}

impl<'a> Context<'a> {
    /// Fails with a log reason for messages Omnibus does not take.
    fn of(channel_id: &'a str, message: &Message) -> Result<Self, &'static str> {
        let chat = message.chat.as_ref().ok_or("message without chat")?;
        Self::for_chat(channel_id, chat, message.from.as_ref())
    }

    /// The context of `chat`, where `from` acted (the sender, the presser).
    fn for_chat(
        channel_id: &'a str,
        chat: &Chat,
        from: Option<&User>,
    ) -> Result<Self, &'static str> {
        if chat.kind == wire::ChatKind::Channel {
            return Err("channel chat");
        }
        let peer = peer(chat, from);
        // The group is the contact in group chats; the user in private ones.
        let contact_key = if peer.is_group {
            &peer.provider_chat_id
        } else {
            &peer.provider_user_id
        };
        Ok(Self {
            channel_id,
            chat_id: chat.id.to_string(),
            contact_id: ids::contact_id(channel_id, contact_key),
            peer,
        })
    }

    fn message_id(&self, provider_message_id: i64) -> String {
        ids::inbound_message_id(
            self.channel_id,
            &self.chat_id,
            &provider_message_id.to_string(),
        )
    }

    /// `said` as a `MessageReceived` from the customer's side.
    fn said(&self, update_id: i64, unix_seconds: i64, said: Said) -> Normalized {
        let payload = Payload::MessageReceived(MessageReceived {
            message_id: ids::inbound_message_id(self.channel_id, &self.chat_id, &said.key),
            provider_message_id: said.provider_message_id,
            peer: Some(self.peer.clone()),
            text: said.text,
            attachments: said.attachments,
            reply_to_message_id: said
                .reply_to
                .map(|id| self.message_id(id))
                .unwrap_or_default(),
            reply_to_provider_message_id: said
                .reply_to
                .map(|id| id.to_string())
                .unwrap_or_default(),
            author_kind: said.author.into(),
            direction: Direction::Inbound.into(),
            author_name: said.author_name,
            contact_id: self.contact_id.clone(),
            unshown_kind: said.unshown_kind,
            ..MessageReceived::default()
        });
        Normalized::Event(self.event(update_id, unix_seconds, payload))
    }

    fn event(&self, update_id: i64, unix_seconds: i64, payload: Payload) -> Event {
        Event {
            id: format!("telegram:{}:{update_id}", self.channel_id),
            occurred_at_ms: unix_seconds.saturating_mul(1000),
            recorded_at_ms: 0,
            channel_id: self.channel_id.to_owned(),
            conversation_id: ids::conversation_id(self.channel_id, &self.chat_id),
            payload: Some(payload),
        }
    }
}

/// The customer side: the sender in a private chat, the group otherwise.
fn peer(chat: &Chat, from: Option<&User>) -> Peer {
    let is_group = chat.kind.is_group();
    let provider_user_id = from.map_or(chat.id, |user| user.id).to_string();
    let mut peer = Peer {
        provider_chat_id: chat.id.to_string(),
        provider_user_id,
        is_group,
        ..Peer::default()
    };
    if is_group {
        peer.chat_title = chat.title.clone().unwrap_or_default();
        peer.username = chat.username.clone().unwrap_or_default();
    } else if let Some(user) = from {
        peer.first_name = user.first_name.clone();
        peer.last_name = user.last_name.clone().unwrap_or_default();
        peer.username = user.username.clone().unwrap_or_default();
    } else {
        peer.first_name = chat.first_name.clone().unwrap_or_default();
        peer.last_name = chat.last_name.clone().unwrap_or_default();
        peer.username = chat.username.clone().unwrap_or_default();
    }
    peer
}

/// The writer's display name: "first last", else the username, else the
/// chat that sent on its own behalf (anonymous group admins).
fn author_name(message: &Message) -> String {
    if let Some(user) = &message.from {
        let full = join_name(&user.first_name, user.last_name.as_deref());
        if !full.is_empty() {
            return full;
        }
        return user.username.clone().unwrap_or_default();
    }
    let chat = message.sender_chat.as_ref().or(message.chat.as_ref());
    chat.map(chat_name).unwrap_or_default()
}

/// A user's display name: "first last", else the username, else the id.
fn user_name(user: &User) -> String {
    let full = join_name(&user.first_name, user.last_name.as_deref());
    if !full.is_empty() {
        return full;
    }
    match user.username.as_deref().filter(|u| !u.is_empty()) {
        Some(username) => format!("@{username}"),
        None => format!("user {}", user.id),
    }
}

fn chat_name(chat: &Chat) -> String {
    if let Some(title) = &chat.title {
        return title.clone();
    }
    let first = chat.first_name.as_deref().unwrap_or_default();
    let full = join_name(first, chat.last_name.as_deref());
    if full.is_empty() {
        chat.username.clone().unwrap_or_default()
    } else {
        full
    }
}

fn join_name(first: &str, last: Option<&str>) -> String {
    match last.map(str::trim).filter(|l| !l.is_empty()) {
        Some(last) => format!("{} {last}", first.trim()).trim().to_owned(),
        None => first.trim().to_owned(),
    }
}

// === content ===

/// The text (or caption) and the attachments of a message.
fn content(message: &Message) -> (String, Vec<Attachment>) {
    let text = message
        .text
        .as_ref()
        .or(message.caption.as_ref())
        .cloned()
        .unwrap_or_default();
    (text, attachments(message))
}

fn attachments(message: &Message) -> Vec<Attachment> {
    let mut out = Vec::new();
    // The last size is the largest one.
    if let Some(photo) = message.photo.last() {
        out.push(file(AttachmentKind::Image, &photo.file_id, photo.file_size).mime("image/jpeg"));
    }
    if let Some(animation) = &message.animation {
        // Telegram mirrors animations in `document`; take the animation only.
        out.push(
            file(
                AttachmentKind::Animation,
                &animation.file_id,
                animation.file_size,
            )
            .named(animation.file_name.as_deref())
            .mime_opt(animation.mime_type.as_deref()),
        );
    } else if let Some(document) = &message.document {
        out.push(
            file(
                AttachmentKind::Document,
                &document.file_id,
                document.file_size,
            )
            .named(document.file_name.as_deref())
            .mime_opt(document.mime_type.as_deref()),
        );
    }
    out.extend(audio_and_video(message));
    if let Some(sticker) = &message.sticker {
        out.push(
            file(AttachmentKind::Sticker, &sticker.file_id, sticker.file_size)
                .mime(sticker_mime(sticker)),
        );
    }
    out.extend(place(message));
    if let Some(contact) = &message.contact {
        out.push(shared_contact(contact));
    }
    out
}

fn audio_and_video(message: &Message) -> Vec<Attachment> {
    let mut out = Vec::new();
    if let Some(voice) = &message.voice {
        out.push(
            file(AttachmentKind::Voice, &voice.file_id, voice.file_size)
                .mime_opt(voice.mime_type.as_deref()),
        );
    }
    if let Some(audio) = &message.audio {
        out.push(
            file(AttachmentKind::Audio, &audio.file_id, audio.file_size)
                .named(audio.file_name.as_deref())
                .mime_opt(audio.mime_type.as_deref()),
        );
    }
    if let Some(video) = &message.video {
        out.push(
            file(AttachmentKind::Video, &video.file_id, video.file_size)
                .named(video.file_name.as_deref())
                .mime_opt(video.mime_type.as_deref()),
        );
    }
    if let Some(note) = &message.video_note {
        out.push(file(
            AttachmentKind::VideoNote,
            &note.file_id,
            note.file_size,
        ));
    }
    out
}

/// A venue, or else a bare location (Telegram fills both for venues).
fn place(message: &Message) -> Option<Attachment> {
    let location = match (&message.venue, &message.location) {
        (Some(venue), _) => Location {
            latitude: venue.location.latitude,
            longitude: venue.location.longitude,
            title: venue.title.clone(),
            address: venue.address.clone(),
        },
        (None, Some(point)) => Location {
            latitude: point.latitude,
            longitude: point.longitude,
            ..Location::default()
        },
        (None, None) => return None,
    };
    Some(Attachment {
        kind: AttachmentKind::Location.into(),
        location: Some(location),
        ..Attachment::default()
    })
}

fn shared_contact(contact: &wire::Contact) -> Attachment {
    Attachment {
        kind: AttachmentKind::Contact.into(),
        contact: Some(SharedContact {
            name: join_name(&contact.first_name, contact.last_name.as_deref()),
            phone: contact.phone_number.clone(),
            provider_user_id: contact.user_id.map(|id| id.to_string()).unwrap_or_default(),
        }),
        ..Attachment::default()
    }
}

fn sticker_mime(sticker: &wire::Sticker) -> &'static str {
    if sticker.is_animated {
        "application/x-tgsticker"
    } else if sticker.is_video {
        "video/webm"
    } else {
        "image/webp"
    }
}

/// An inbound file, known by Telegram's file id (no URL until downloaded).
fn file(kind: AttachmentKind, file_id: &str, size: Option<u64>) -> Attachment {
    Attachment {
        kind: kind.into(),
        provider_file_id: file_id.to_owned(),
        size_bytes: size.unwrap_or_default(),
        ..Attachment::default()
    }
}

/// Small builders so each media kind reads as one expression.
trait AttachmentExt {
    fn named(self, file_name: Option<&str>) -> Self;
    fn mime(self, mime_type: &str) -> Self;
    fn mime_opt(self, mime_type: Option<&str>) -> Self;
}

impl AttachmentExt for Attachment {
    fn named(mut self, file_name: Option<&str>) -> Self {
        self.file_name = file_name.unwrap_or_default().to_owned();
        self
    }

    fn mime(mut self, mime_type: &str) -> Self {
        self.mime_type = mime_type.to_owned();
        self
    }

    fn mime_opt(self, mime_type: Option<&str>) -> Self {
        self.mime(mime_type.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::parse_update;

    pub(super) const CHANNEL: &str = "ch_tg1";

    pub(super) fn event(body: &str) -> Event {
        let update = parse_update(body.as_bytes()).expect("valid update");
        match normalize(CHANNEL, &update) {
            Normalized::Event(event) => event,
            Normalized::Ignored(why) => panic!("ignored: {why}"),
        }
    }

    pub(super) fn received(body: &str) -> MessageReceived {
        match event(body).payload {
            Some(Payload::MessageReceived(received)) => received,
            other => panic!("not a MessageReceived: {other:?}"),
        }
    }

    pub(super) fn ignored(body: &str) -> &'static str {
        let update = parse_update(body.as_bytes()).expect("valid update");
        match normalize(CHANNEL, &update) {
            Normalized::Ignored(why) => why,
            Normalized::Event(event) => panic!("not ignored: {event:?}"),
        }
    }

    /// A private-chat message from Sojan with `fields` merged into `message`.
    fn private_message(fields: &str) -> String {
        format!(
            r#"{{"update_id": 734512009, "message": {{
                "message_id": 9,
                "from": {{"id": 100200300, "is_bot": false, "first_name": "Sojan", "username": "sojan"}},
                "chat": {{"id": 100200300, "first_name": "Sojan", "username": "sojan", "type": "private"}},
                "date": 1631132100, {fields}}}}}"#
        )
    }

    fn only_attachment(body: &str) -> Attachment {
        let mut attachments = received(body).attachments;
        assert_eq!(attachments.len(), 1, "{attachments:?}");
        attachments.remove(0)
    }

    // providers.md §2.2
    const TEXT: &str = r#"{
      "update_id": 734512001,
      "message": {
        "message_id": 1,
        "from": { "id": 100200300, "is_bot": false, "first_name": "Sojan", "last_name": "Jose",
                  "username": "sojan", "language_code": "en" },
        "chat": { "id": 100200300, "first_name": "Sojan", "last_name": "Jose", "username": "sojan",
                  "type": "private" },
        "date": 1631132077,
        "text": "test"
      }
    }"#;

    // providers.md §2.3
    const PHOTO: &str = r#"{
      "update_id": 734512002,
      "message": {
        "message_id": 2,
        "from": { "id": 100200300, "is_bot": false, "first_name": "Sojan", "username": "sojan", "language_code": "en" },
        "chat": { "id": 100200300, "first_name": "Sojan", "username": "sojan", "type": "private" },
        "date": 1631132090,
        "photo": [
          { "file_id": "AgACAgUAAxkBAAODYV3aGZlD6vhzKsE2WNmblsr6zKwAAi-tMRvCoeBWNQ1ENVBzJdwBAAMCAANzAAMhBA",
            "file_unique_id": "AQADL60xG8Kh4FZ4", "file_size": 1883, "width": 90, "height": 67 },
          { "file_id": "AgACAgUAAxkBAAODYV3aGZlD6vhzKsE2WNmblsr6zKwAAi-tMRvCoeBWNQ1ENVBzJdwBAAMCAAN4AAMhBA",
            "file_unique_id": "AQADL60xG8Kh4FZ9", "file_size": 48211, "width": 800, "height": 600 }
        ],
        "caption": "Screenshot of the error"
      }
    }"#;

    const GROUP: &str = r#"{"update_id": 734512020, "message": {
        "message_id": 44,
        "from": {"id": 555, "is_bot": false, "first_name": "Anna", "last_name": "Petrova", "username": "anna_p"},
        "chat": {"id": -1001234567890, "title": "Acme customers", "type": "supergroup"},
        "date": 1631132200, "text": "our order is late"}}"#;

    #[test]
    fn text_message_becomes_message_received() {
        let event = event(TEXT);
        assert_eq!(event.id, "telegram:ch_tg1:734512001");
        assert_eq!(event.occurred_at_ms, 1_631_132_077_000);
        assert_eq!(event.recorded_at_ms, 0);
        assert_eq!(event.channel_id, CHANNEL);
        assert_eq!(
            event.conversation_id,
            ids::conversation_id(CHANNEL, "100200300")
        );
        let Some(Payload::MessageReceived(received)) = event.payload else {
            panic!("not a MessageReceived");
        };
        assert_eq!(
            received.message_id,
            ids::inbound_message_id(CHANNEL, "100200300", "1")
        );
        assert_eq!(received.provider_message_id, "1");
        assert_eq!(received.text, "test");
        assert!(received.attachments.is_empty());
        assert_eq!(received.reply_to_message_id, "");
        assert_eq!(received.author_kind(), AuthorKind::Contact);
        assert_eq!(received.direction(), Direction::Inbound);
        assert_eq!(received.author_name, "Sojan Jose");
        assert_eq!(received.contact_id, ids::contact_id(CHANNEL, "100200300"));
        let peer = received.peer.expect("peer");
        assert_eq!(peer.provider_chat_id, "100200300");
        assert_eq!(peer.provider_user_id, "100200300");
        assert_eq!(
            (peer.first_name.as_str(), peer.last_name.as_str()),
            ("Sojan", "Jose")
        );
        assert_eq!(peer.username, "sojan");
        assert!(!peer.is_group);
        assert_eq!(peer.chat_title, "");
    }

    #[test]
    fn photo_takes_the_largest_size_and_the_caption() {
        let received = received(PHOTO);
        assert_eq!(received.text, "Screenshot of the error");
        let [photo] = received.attachments.as_slice() else {
            panic!("one attachment expected: {:?}", received.attachments);
        };
        assert_eq!(photo.kind(), AttachmentKind::Image);
        assert_eq!(
            photo.provider_file_id,
            "AgACAgUAAxkBAAODYV3aGZlD6vhzKsE2WNmblsr6zKwAAi-tMRvCoeBWNQ1ENVBzJdwBAAMCAAN4AAMhBA"
        );
        assert_eq!(photo.size_bytes, 48211);
        assert_eq!(photo.url, "");
    }

    #[test]
    fn document_keeps_name_type_and_size() {
        let document = only_attachment(&private_message(
            r#""document": {"file_id": "BQAD", "file_unique_id": "u", "file_name": "invoice.pdf",
                "mime_type": "application/pdf", "file_size": 12345}"#,
        ));
        assert_eq!(document.kind(), AttachmentKind::Document);
        assert_eq!(document.provider_file_id, "BQAD");
        assert_eq!(document.file_name, "invoice.pdf");
        assert_eq!(document.mime_type, "application/pdf");
        assert_eq!(document.size_bytes, 12345);
    }

    #[test]
    fn voice_audio_video_and_video_note_map_to_their_kinds() {
        let cases = [
            (
                r#""voice": {"file_id": "v1", "duration": 3, "mime_type": "audio/ogg", "file_size": 900}"#,
                AttachmentKind::Voice,
                "v1",
            ),
            (
                r#""audio": {"file_id": "a1", "duration": 180, "file_name": "song.mp3"}"#,
                AttachmentKind::Audio,
                "a1",
            ),
            (
                r#""video": {"file_id": "vd1", "width": 640, "height": 480, "duration": 10}"#,
                AttachmentKind::Video,
                "vd1",
            ),
            (
                r#""video_note": {"file_id": "vn1", "length": 240, "duration": 5}"#,
                AttachmentKind::VideoNote,
                "vn1",
            ),
        ];
        for (fields, kind, file_id) in cases {
            let attachment = only_attachment(&private_message(fields));
            assert_eq!(attachment.kind(), kind, "{fields}");
            assert_eq!(attachment.provider_file_id, file_id);
        }
        let voice = only_attachment(&private_message(cases[0].0));
        assert_eq!(
            (voice.mime_type.as_str(), voice.size_bytes),
            ("audio/ogg", 900)
        );
    }

    #[test]
    fn animation_is_not_repeated_as_a_document() {
        let animation = only_attachment(&private_message(
            r#""animation": {"file_id": "gif1", "file_name": "fun.mp4", "mime_type": "video/mp4"},
               "document": {"file_id": "gif1", "file_name": "fun.mp4", "mime_type": "video/mp4"}"#,
        ));
        assert_eq!(animation.kind(), AttachmentKind::Animation);
        assert_eq!(animation.file_name, "fun.mp4");
    }

    #[test]
    fn sticker_keeps_only_the_file_and_no_text() {
        let body = private_message(
            r#""sticker": {"file_id": "st1", "emoji": "👍", "is_animated": false}"#,
        );
        let received = received(&body);
        assert_eq!(received.text, "");
        let [sticker] = received.attachments.as_slice() else {
            panic!("one attachment expected");
        };
        assert_eq!(sticker.kind(), AttachmentKind::Sticker);
        assert_eq!(sticker.provider_file_id, "st1");
        assert_eq!(sticker.file_name, "");
    }

    #[test]
    fn location_and_venue_become_a_location() {
        let point = only_attachment(&private_message(
            r#""location": {"latitude": 55.7558, "longitude": 37.6173}"#,
        ));
        assert_eq!(point.kind(), AttachmentKind::Location);
        let location = point.location.expect("location");
        assert_eq!((location.latitude, location.longitude), (55.7558, 37.6173));

        let venue = only_attachment(&private_message(
            r#""location": {"latitude": 1.5, "longitude": 2.5},
               "venue": {"location": {"latitude": 1.5, "longitude": 2.5},
                         "title": "Acme HQ", "address": "1 Main St"}"#,
        ));
        let location = venue.location.expect("location");
        assert_eq!(
            (location.title.as_str(), location.address.as_str()),
            ("Acme HQ", "1 Main St")
        );
        assert_eq!(location.latitude, 1.5);
    }

    #[test]
    fn shared_contact_keeps_name_phone_and_user() {
        let card = only_attachment(&private_message(
            r#""contact": {"phone_number": "+15550001111", "first_name": "Ivan", "last_name": "Ivanov",
                           "user_id": 424242}"#,
        ));
        assert_eq!(card.kind(), AttachmentKind::Contact);
        let contact = card.contact.expect("contact");
        assert_eq!(contact.name, "Ivan Ivanov");
        assert_eq!(contact.phone, "+15550001111");
        assert_eq!(contact.provider_user_id, "424242");
    }

    #[test]
    fn reply_points_at_the_deterministic_id_of_the_original() {
        let body = private_message(
            r#""text": "yes, that one", "reply_to_message": {"message_id": 3,
                "chat": {"id": 100200300, "type": "private"}, "date": 1631132000, "text": "which?"}"#,
        );
        let received = received(&body);
        assert_eq!(
            received.reply_to_message_id,
            ids::inbound_message_id(CHANNEL, "100200300", "3")
        );
    }

    #[test]
    fn edit_keeps_the_original_message_id() {
        let original = received(TEXT);
        let edit = TEXT
            .replace("\"message\"", "\"edited_message\"")
            .replace(
                "\"text\": \"test\"",
                "\"text\": \"test, fixed\", \"edit_date\": 1631132999",
            )
            .replace("734512001", "734512005");
        let event = event(&edit);
        assert_eq!(event.id, "telegram:ch_tg1:734512005");
        assert_eq!(event.occurred_at_ms, 1_631_132_999_000);
        assert_eq!(
            event.conversation_id,
            ids::conversation_id(CHANNEL, "100200300")
        );
        let Some(Payload::MessageEdited(edited)) = event.payload else {
            panic!("not a MessageEdited");
        };
        assert_eq!(edited.message_id, original.message_id);
        assert_eq!(edited.provider_message_id, "1");
        assert_eq!(edited.text, "test, fixed");
        assert_eq!(edited.contact_id, original.contact_id);
        assert_eq!(edited.peer, original.peer);
    }

    #[test]
    fn group_chat_is_the_contact_and_keeps_the_member_name() {
        let event = event(GROUP);
        assert_eq!(
            event.conversation_id,
            ids::conversation_id(CHANNEL, "-1001234567890")
        );
        let Some(Payload::MessageReceived(received)) = event.payload else {
            panic!("not a MessageReceived");
        };
        assert_eq!(
            received.contact_id,
            ids::contact_id(CHANNEL, "-1001234567890")
        );
        assert_eq!(received.author_name, "Anna Petrova");
        assert_eq!(
            received.message_id,
            ids::inbound_message_id(CHANNEL, "-1001234567890", "44")
        );
        let peer = received.peer.expect("peer");
        assert!(peer.is_group);
        assert_eq!(peer.chat_title, "Acme customers");
        assert_eq!(peer.first_name, "");
        assert_eq!(peer.provider_chat_id, "-1001234567890");
        assert_eq!(peer.provider_user_id, "555");
    }

    #[test]
    fn author_name_falls_back_to_username_then_sender_chat() {
        let body = GROUP.replace(r#""first_name": "Anna", "last_name": "Petrova", "#, "");
        assert_eq!(received(&body).author_name, "anna_p");

        let anonymous_admin = r#"{"update_id": 1, "message": {"message_id": 1, "date": 1,
            "sender_chat": {"id": -100, "title": "Acme customers", "type": "supergroup"},
            "chat": {"id": -100, "title": "Acme customers", "type": "supergroup"}, "text": "hi"}}"#;
        let received = received(anonymous_admin);
        assert_eq!(received.author_name, "Acme customers");
        assert_eq!(received.peer.expect("peer").provider_user_id, "-100");
    }

    #[test]
    fn ids_are_deterministic_per_channel() {
        assert_eq!(event(PHOTO), event(PHOTO));
        let update = parse_update(PHOTO.as_bytes()).expect("valid update");
        let Normalized::Event(other) = normalize("ch_other", &update) else {
            panic!("ignored");
        };
        let mine = event(PHOTO);
        assert_ne!(other.id, mine.id);
        assert_ne!(other.conversation_id, mine.conversation_id);
    }

    #[test]
    fn unsupported_kinds_are_ignored() {
        let chat = r#""chat": {"id": -100, "type": "channel", "title": "News"}"#;
        let cases = [
            (format!(r#"{{"update_id": 1, "channel_post": {{"message_id": 1, {chat}, "text": "x"}}}}"#), "channel post"),
            (format!(r#"{{"update_id": 1, "edited_channel_post": {{"message_id": 1, {chat}, "text": "x"}}}}"#), "edited channel post"),
            (r#"{"update_id": 1, "chat_member": {"chat": {"id": -1, "type": "group"}, "from": {"id": 1}, "date": 1}}"#.to_owned(), "chat member change"),
            (r#"{"update_id": 1, "poll": {"id": "p"}}"#.to_owned(), "unsupported update kind"),
            (r#"{"update_id": 1}"#.to_owned(), "unsupported update kind"),
            (r#"{"update_id": 1, "message": {"message_id": 1, "text": "no chat"}}"#.to_owned(), "message without chat"),
            (r#"{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1, "type": "private"}, "text": {"oops": 1}}}"#.to_owned(), "malformed update"),
        ];
        for (body, why) in cases {
            assert_eq!(ignored(&body), why, "{body}");
        }
    }

    #[test]
    fn service_messages_are_system_lines_and_empty_edits_are_ignored() {
        let body = GROUP.replace(
            r#""text": "our order is late""#,
            r#""new_chat_members": [{"id": 777, "is_bot": false, "first_name": "Bob"}]"#,
        );
        let line = received(&body);
        assert_eq!(line.author_kind(), AuthorKind::System);
        assert_eq!(line.text, "Anna Petrova added Bob");
        let edit = GROUP
            .replace("\"message\"", "\"edited_message\"")
            .replace(r#""text": "our order is late""#, r#""edit_date": 5"#);
        assert_eq!(ignored(&edit), "edit without text or media");
    }

    #[test]
    fn absurd_dates_saturate_instead_of_overflowing() {
        let body = TEXT.replace("1631132077", "9223372036854775807");
        assert_eq!(event(&body).occurred_at_ms, i64::MAX);
    }
}
