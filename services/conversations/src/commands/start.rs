//! StartConversation: an operator writes first, to a contact or a phone,
//! where the messenger allows it (see [`policy`]). A conversation already
//! open with that person on that channel is reused.

use omnibus_core::ids;
use omnibus_proto::{
    ChannelKind, Contact, Conversation, ConversationStarted, ConversationStatus, Identity, Peer,
    SendMessageRequest, StartConversationRequest, event::Payload,
};

use super::{Commands, event};
use crate::contacts::phone::normalize;
use crate::error::{Result, ServiceError};

mod policy;

use policy::{FirstContact, chat_id_of_phone, first_contact, refusal};

/// The chat a start goes to.
struct Target {
    conversation_id: String,
    identity_id: String,
    peer: Peer,
    existing: Option<Conversation>,
}

impl Commands {
    /// Opens (or reuses) the conversation with a person on a channel and
    /// sends the first message, if any.
    pub async fn start_conversation(
        &self,
        request: StartConversationRequest,
    ) -> Result<Conversation> {
        let phone = match request.phone.trim() {
            "" => None,
            raw => Some(
                normalize(raw, self.contacts.region())
                    .map_err(|e| ServiceError::invalid(e.to_string()))?,
            ),
        };
        let person = self.person(&request, phone.as_deref()).await?;
        let channel_id = match (request.channel_id.as_str(), &person) {
            ("", Some(p)) if p.identities.len() == 1 => p.identities[0].channel_id.clone(),
            ("", _) => return Err(ServiceError::invalid("channel_id is required")),
            (id, _) => id.to_owned(),
        };
        let kind = self.sendable_channel(&channel_id).await?;
        let target = self
            .target(kind, &channel_id, person.as_ref(), phone.as_deref())
            .await?;
        let who = who(person.as_ref(), phone.as_deref());
        let has_message = !request.text.trim().is_empty() || request.template.is_some();
        if omnibus_core::kind::window(kind).is_some() {
            if !has_message && target.existing.is_none() {
                return Err(ServiceError::FailedPrecondition(format!(
                    "a first message is needed to open a chat with {who}: give a template"
                )));
            }
            if has_message {
                let verdict = self
                    .check_window(
                        &target.conversation_id,
                        &channel_id,
                        kind,
                        request.template.clone(),
                    )
                    .await?;
                if verdict.held {
                    return Err(ServiceError::FailedPrecondition(format!(
                        "the 24-hour window with {who} is closed: free text is allowed only \
                         inside it; start with an approved template"
                    )));
                }
            }
        }
        let is_open = target
            .existing
            .as_ref()
            .is_some_and(|c| c.status == ConversationStatus::Open as i32);
        if !is_open {
            let started = ConversationStarted {
                peer: Some(target.peer.clone()),
                contact_id: target.identity_id.clone(),
                operator_id: request.operator_id.clone(),
            };
            let event = event(
                ids::random_id("ev_"),
                &channel_id,
                &target.conversation_id,
                Payload::ConversationStarted(started),
            );
            let subject = self.bus.subjects().conversation(&target.conversation_id);
            self.publish(subject, &event).await?;
        }
        if has_message {
            self.send_message(SendMessageRequest {
                conversation_id: target.conversation_id.clone(),
                text: request.text,
                template: request.template,
                operator_id: request.operator_id,
                idempotency_key: request.idempotency_key,
                ..Default::default()
            })
            .await?;
        }
        self.conversation(&target.conversation_id).await
    }

    /// The contact named by id, or the one that has the phone (if any).
    async fn person(
        &self,
        request: &StartConversationRequest,
        phone: Option<&str>,
    ) -> Result<Option<Contact>> {
        match (request.contact_id.trim(), phone) {
            ("", None) => Err(ServiceError::invalid("give contact_id or phone")),
            ("", Some(phone)) => Ok(self.contacts.by_phone(phone).await?),
            (id, _) => self
                .contacts
                .contact(id)
                .await?
                .map(Some)
                .ok_or_else(|| ServiceError::not_found("contact", id)),
        }
    }

    /// The chat on `channel_id` for the person or phone, or why there is none.
    async fn target(
        &self,
        kind: ChannelKind,
        channel_id: &str,
        person: Option<&Contact>,
        phone: Option<&str>,
    ) -> Result<Target> {
        let refuse = || ServiceError::FailedPrecondition(refusal(kind, &who(person, phone)));
        if let Some(identity) = identity_on(person, channel_id, phone, kind) {
            let chat = identity.provider_user_id.clone();
            let conversation_id = ids::conversation_id(channel_id, &chat);
            let existing = self.queries.conversation(&conversation_id).await?;
            if existing.is_some() || first_contact(kind) == FirstContact::AnyPhone {
                return Ok(Target {
                    peer: peer_of(identity, &chat),
                    identity_id: identity.id.clone(),
                    conversation_id,
                    existing,
                });
            }
        }
        if first_contact(kind) != FirstContact::AnyPhone {
            return Err(refuse());
        }
        let phone = phone
            .map(str::to_owned)
            .or_else(|| person.and_then(|p| p.phones.first().cloned()))
            .ok_or_else(refuse)?;
        let chat = chat_id_of_phone(&phone);
        let conversation_id = ids::conversation_id(channel_id, &chat);
        Ok(Target {
            existing: self.queries.conversation(&conversation_id).await?,
            identity_id: ids::contact_id(channel_id, &chat),
            peer: Peer {
                provider_chat_id: chat.clone(),
                provider_user_id: chat,
                first_name: person.map(|p| p.display_name.clone()).unwrap_or_default(),
                phone,
                ..Default::default()
            },
            conversation_id,
        })
    }
}

/// The person's identity on the channel: the one with the phone when a
/// phone was given (on phone messengers, only that one).
fn identity_on<'a>(
    person: Option<&'a Contact>,
    channel_id: &str,
    phone: Option<&str>,
    kind: ChannelKind,
) -> Option<&'a Identity> {
    let on_channel: Vec<&Identity> = person?
        .identities
        .iter()
        .filter(|i| i.channel_id == channel_id)
        .collect();
    let with_phone = phone.and_then(|p| on_channel.iter().copied().find(|i| i.phone == p));
    match (phone, first_contact(kind)) {
        (Some(_), FirstContact::AnyPhone) => with_phone,
        _ => with_phone.or(on_channel.first().copied()),
    }
}

fn peer_of(identity: &Identity, chat: &str) -> Peer {
    Peer {
        provider_chat_id: chat.to_owned(),
        provider_user_id: identity.provider_user_id.clone(),
        first_name: identity.display_name.clone(),
        username: identity.username.clone(),
        phone: identity.phone.clone(),
        ..Default::default()
    }
}

/// How the person is named in refusals.
fn who(person: Option<&Contact>, phone: Option<&str>) -> String {
    match (person, phone) {
        (Some(p), _) if !p.display_name.is_empty() => format!("{:?}", p.display_name),
        (Some(p), _) => format!("contact {:?}", p.id),
        (None, Some(phone)) => phone.to_owned(),
        (None, None) => "this person".to_owned(),
    }
}
