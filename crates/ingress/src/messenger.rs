//! What a messenger really differs in, as one trait; the kit
//! ([`Ingress`](crate::Ingress)) runs everything else once.
//!
//! A messenger crate implements [`Messenger`] (wire types, verification,
//! normalization, a send plan and call, an error table, the channel check)
//! and registers itself with one `Ingress::<M>::start` where messengers are
//! wired (the server, `omnictl simulate`).

use std::collections::HashMap;
use std::future::Future;

use axum::http::HeaderMap;
use omnibus_proto::{
    Attachment, ChannelKind, ChannelSetupReply, ChannelState, Event, MessageRequested,
    TemplatesFetchReply, templates_fetch_reply::Outcome as TemplatesOutcome,
};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::ChannelDirectory;
use crate::provider::{Call, Provider, ProviderError};
use crate::runtime::Context;
use crate::webhook::WebhookError;

/// A messenger: everything the kit cannot know about a provider.
///
/// Methods with a default are for messengers that lack the feature (no GET
/// handshake, no templates). New methods are only ever added with defaults.
pub trait Messenger: Send + Sync + Sized + 'static {
    /// One provider request of a send, as [`plan`](Self::plan) makes it.
    type Request: Send + Sync + 'static;

    /// The channel kind; its lowercase name is the webhook path segment,
    /// the send subject and the metrics label.
    const KIND: ChannelKind;

    /// Credential keys whose values are secrets: redacted from every error
    /// text and log line of the provider client.
    const SECRET_KEYS: &'static [&'static str];

    /// True when the webhook URL also answers a `GET` subscription
    /// handshake ([`handshake`](Self::handshake)).
    const HANDSHAKE: bool = false;

    /// True when the messenger has message templates, so the kit serves
    /// `templates.<name>` requests with [`templates`](Self::templates).
    const TEMPLATES: bool = false;

    /// True when the provider's file links expire (Instagram): the kit
    /// copies every inbound attachment into the media keep bucket at
    /// receipt, after the webhook was answered, from a durable consumer.
    const COPY_AT_RECEIPT: bool = false;

    /// The provider's API base URL when neither the server config nor the
    /// channel's `api_base_url` names one.
    const DEFAULT_API_BASE: &'static str;

    /// The lowercase messenger name (`telegram`).
    fn name() -> &'static str {
        omnibus_core::kind::messenger(Self::KIND)
    }

    /// Checks the webhook's authenticity for `channel`. Called first with
    /// `body: None`, before the body is read: a messenger that verifies by
    /// header alone answers then; one that needs the body (an HMAC, a secret
    /// field) answers [`Verdict::NeedsBody`] and is called again with it.
    fn verify(&self, channel: &ChannelState, headers: &HeaderMap, body: Option<&[u8]>) -> Verdict;

    /// Answers a `GET` subscription handshake (only when [`HANDSHAKE`](Self::HANDSHAKE)).
    fn handshake(
        &self,
        channel: &ChannelState,
        query: &HashMap<String, String>,
    ) -> Result<Answer, WebhookError> {
        let _ = (channel, query);
        Err(WebhookError::UnknownChannel)
    }

    /// Turns a verified webhook into events to store and the 200 answer.
    /// Never panics; a body that is not the provider's format is
    /// [`WebhookError::BadRequest`].
    fn normalize(
        &self,
        channel: &ChannelState,
        webhook: &Webhook<'_>,
    ) -> Result<Inbound, WebhookError>;

    /// [`normalize`](Self::normalize) for a messenger that must look
    /// something up first (Wazzup: which message a status refers to). The
    /// kit calls this one; the default normalizes at once.
    fn receive(
        &self,
        context: &Context,
        channel: &ChannelState,
        webhook: &Webhook<'_>,
    ) -> impl Future<Output = Result<Inbound, WebhookError>> + Send {
        let _ = context;
        async move { self.normalize(channel, webhook) }
    }

    /// Turns an outbound message into the provider requests that deliver
    /// it, in order, or refuses it before anything is sent (so a bad second
    /// attachment never leaves half a message).
    fn plan(
        &self,
        channel: &ChannelState,
        message: &MessageRequested,
    ) -> Result<Vec<Self::Request>, ProviderError>;

    /// Runs once a webhook's events were newly stored (never for a
    /// duplicate delivery) and its 200 is on the way, in a task of its own:
    /// work that must not delay the provider's answer, such as provider
    /// calls an update asks for (Telegram's `answerCallbackQuery`) or
    /// look-ups whose result goes on the stream as further events
    /// (Instagram's post links). Called only for a delivery whose
    /// [`Inbound::follow_up`] is set, with the body as received; a crash
    /// loses only this work, never the webhook.
    fn after_stored(
        &self,
        context: &Context,
        channel: &ChannelState,
        body: &[u8],
        events: Vec<Event>,
    ) -> impl Future<Output = ()> + Send {
        let _ = (context, channel, body, events);
        async {}
    }

    /// Runs in the background for the life of the ingress (until
    /// `shutdown`): upkeep with the provider, such as bringing existing
    /// channels' webhook registrations up to date.
    fn maintain(
        &self,
        context: &Context,
        shutdown: CancellationToken,
    ) -> impl Future<Output = ()> + Send {
        let _ = (context, shutdown);
        async {}
    }

    /// Makes one planned request; returns the provider's message id. The
    /// kit retries it per [`ProviderError`] and never repeats a request
    /// that succeeded.
    fn call(
        &self,
        call: &Call<'_>,
        request: &Self::Request,
    ) -> impl Future<Output = Result<String, ProviderError>> + Send;

    /// Classifies a provider answer: the decoded JSON on success, else what
    /// to do about it (retry after a delay, fail with a reason a person can
    /// act on, flag the channel, outside the 24-hour window).
    fn classify(&self, status: u16, body: &[u8]) -> Result<Value, ProviderError>;

    /// Checks a new or changed channel with the provider before it is
    /// stored (credentials work, webhook registered where the messenger
    /// has an API for it).
    fn setup(
        &self,
        context: &Context,
        channel: ChannelState,
    ) -> impl Future<Output = ChannelSetupReply> + Send;

    /// Prepares the download of an inbound attachment's file (`GET
    /// /media`). The kit sends the request through the channel's provider
    /// client (outbound allow-list, size cap, redaction).
    fn media(
        &self,
        call: &MediaCall<'_>,
    ) -> impl Future<Output = Result<MediaDownload, ProviderError>> + Send {
        std::future::ready(link_download(call))
    }

    /// Lists the channel's message templates at the provider; messengers
    /// without templates keep the default answer.
    fn templates(
        &self,
        context: &Context,
        channel: ChannelState,
    ) -> impl Future<Output = TemplatesFetchReply> + Send {
        let _ = (context, channel);
        async {
            TemplatesFetchReply {
                outcome: TemplatesOutcome::Invalid as i32,
                message: format!("{} has no message templates", Self::name()),
                templates: Vec::new(),
            }
        }
    }
}

/// Prepares the download of an inbound attachment's file: the default
/// fetches the URL the payload carried (Viber, VK, Wazzup, Instagram);
/// messengers whose payloads carry file ids resolve them first.
pub fn link_download(call: &MediaCall<'_>) -> Result<MediaDownload, ProviderError> {
    let url = call.attachment.url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(ProviderError::refused(
            "the attachment carries no link to its file",
        ));
    }
    Ok(MediaDownload::get(call.provider.http().get(url)))
}

/// An inbound attachment to download, as [`Messenger::media`] gets it.
pub struct MediaCall<'a> {
    /// The channel's provider client.
    pub provider: &'a Provider,
    /// The channel, with its credentials.
    pub channel: &'a ChannelState,
    /// The attachment as stored.
    pub attachment: &'a Attachment,
}

impl MediaCall<'_> {
    /// A credential of the channel, trimmed; empty when missing.
    pub fn credential(&self, key: &str) -> &str {
        self.channel.credentials.get(key).map_or("", |v| v.trim())
    }
}

/// The request that downloads a file, with what resolving it taught.
pub struct MediaDownload {
    /// The download request.
    pub request: reqwest::RequestBuilder,
    /// The file's mime type when the provider said (Graph's media object).
    pub mime_type: String,
}

impl MediaDownload {
    /// A plain download request.
    pub fn get(request: reqwest::RequestBuilder) -> Self {
        Self {
            request,
            mime_type: String::new(),
        }
    }
}

/// The outcome of a webhook verification.
#[derive(Debug)]
pub enum Verdict {
    /// Authentic.
    Valid,
    /// Not authentic (401 for a missing proof, 403 for a wrong one). The kit
    /// re-reads the channel once, in case its credentials just changed.
    Invalid(WebhookError),
    /// Call again with the body.
    NeedsBody,
}

/// A verified webhook delivery, as the messenger normalizes it.
pub struct Webhook<'a> {
    /// The channel id from the path.
    pub channel_id: &'a str,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The raw body, exactly as received.
    pub body: &'a [u8],
    /// This messenger's channels, for a webhook that routes to several
    /// (Wazzup's `channelId`): `directory.cached(id)` or `find(..)`.
    pub directory: &'a ChannelDirectory,
}

/// What a webhook delivery yields.
#[derive(Debug, Default)]
pub struct Inbound {
    /// Events to store, in order, before answering 200.
    pub events: Vec<Routed>,
    /// Parts deliberately not stored (logged at debug).
    pub skipped: Vec<String>,
    /// The 200 answer's body.
    pub answer: Answer,
    /// This delivery has work for [`Messenger::after_stored`] (a button
    /// press to answer, a post link to look up): only then does the kit keep
    /// its stored events and start the follow-up, so every other webhook
    /// pays nothing for it.
    pub follow_up: bool,
}

impl Inbound {
    /// One event on a conversation.
    pub fn event(event: Event) -> Self {
        Self {
            events: vec![Routed::Conversation(event)],
            ..Self::default()
        }
    }

    /// Events on their conversations, with the parts deliberately skipped
    /// (static reasons, logged at debug); answered with an empty 200.
    pub fn conversations(events: Vec<Event>, skipped: &[&str]) -> Self {
        Self {
            events: events.into_iter().map(Routed::Conversation).collect(),
            skipped: skipped.iter().map(|why| (*why).to_owned()).collect(),
            answer: Answer::Empty,
            follow_up: false,
        }
    }

    /// Nothing to store; `why` is logged.
    pub fn ignored(why: impl Into<String>) -> Self {
        Self {
            skipped: vec![why.into()],
            ..Self::default()
        }
    }

    /// Asks for [`Messenger::after_stored`] once the events are stored.
    pub fn follow_up(mut self, follow_up: bool) -> Self {
        self.follow_up = follow_up;
        self
    }

    /// Replaces the 200 answer's body.
    pub fn answer(mut self, answer: Answer) -> Self {
        self.answer = answer;
        self
    }
}

/// Where a normalized event is stored.
#[derive(Debug)]
pub enum Routed {
    /// On its conversation's subject (`event.conversation_id`).
    Conversation(Event),
    /// On its channel's template subject (`event.channel_id`).
    Template(Event),
}

/// The body of a successful webhook answer. Providers that read it (VK's
/// `ok` and confirmation string, Viber's welcome message) choose it.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Answer {
    /// An empty body.
    #[default]
    Empty,
    /// `text/plain; charset=utf-8`.
    Text(String),
    /// `application/json`.
    Json(Value),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_download_needs_an_http_link() {
        let provider = Provider::new(reqwest::Client::new(), "https://api.example.com", vec![]);
        let channel = ChannelState::default();
        let mut attachment = Attachment {
            url: "javascript:alert(1)".into(),
            ..Default::default()
        };
        let call = |attachment: &Attachment| {
            link_download(&MediaCall {
                provider: &provider,
                channel: &channel,
                attachment,
            })
            .map(|download| download.request.build().unwrap().url().to_string())
        };
        assert!(call(&attachment).is_err());
        attachment.url = "https://cdn.example.com/a.jpg".into();
        assert_eq!(call(&attachment).unwrap(), "https://cdn.example.com/a.jpg");
    }
}
