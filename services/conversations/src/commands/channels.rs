//! Creating, updating and deleting channels. A channel's events are full
//! snapshots on `channel.<id>`; updates use optimistic concurrency on that
//! subject, so two concurrent edits can't lose one another.

use omnibus_core::{ids, kind::messenger, now_ms};
use omnibus_proto::{
    Channel, ChannelChanged, ChannelKind, ChannelSetupReply, ChannelSetupRequest, ChannelState,
    ChannelStatus, CreateChannelRequest, ListProviderChannelsRequest, ProviderChannel,
    ProviderChannelsReply, ProviderChannelsRequest, UpdateChannelRequest, channel_changed::Change,
    channel_setup_reply::Outcome, event::Payload, provider_channels_reply,
};

use super::{Commands, event};
use crate::error::{Result, ServiceError};
use crate::validate;

impl Commands {
    /// Validates the channel with its provider (through the messenger's
    /// ingress), stores it, and returns it once its webhook accepts deliveries.
    pub async fn create_channel(&self, request: CreateChannelRequest) -> Result<Channel> {
        let kind = validate::kind(request.kind)?;
        validate::name(&request.name)?;
        validate::credentials(kind, &request.credentials)?;
        validate::api_base_url(&request.api_base_url)?;
        let settings = request.settings.unwrap_or_default();
        validate::settings(&settings)?;
        self.check_routing(&settings).await?;
        let now = now_ms();
        let mut state = ChannelState {
            id: ids::random_id("ch_"),
            kind: kind as i32,
            name: request.name.trim().to_owned(),
            status: ChannelStatus::Active as i32,
            status_reason: String::new(),
            credentials: request.credentials,
            settings: Some(settings),
            api_base_url: request.api_base_url,
            created_at_ms: now,
            updated_at_ms: now,
            ..Default::default()
        };
        self.link_to_predecessor(&mut state).await?;
        let reply = self.set_up(&state, true).await?;
        complete(&mut state, reply, kind);
        self.store_channel(state, Change::Created, 0).await
    }

    /// Applies the given changes; new credentials are checked with the
    /// provider. A new `api_base_url` needs every credential again.
    pub async fn update_channel(&self, request: UpdateChannelRequest) -> Result<Channel> {
        let (sequence, mut state) = self.current_channel(&request.id).await?;
        let kind = validate::kind(state.kind)?;
        let mut recheck = false;
        if let Some(name) = request.name {
            validate::name(&name)?;
            state.name = name.trim().to_owned();
        }
        let moves = request
            .api_base_url
            .as_ref()
            .is_some_and(|url| *url != state.api_base_url);
        if moves {
            // Nothing stored follows the channel to the new address.
            validate::credentials_for_new_address(kind, &request.credentials)?;
            state.credentials.clear();
        }
        if !request.credentials.is_empty() {
            for (key, value) in request.credentials {
                if value.is_empty() {
                    state.credentials.remove(&key);
                } else {
                    state.credentials.insert(key, value);
                }
            }
            validate::credentials(kind, &state.credentials)?;
            recheck = true;
        }
        if let Some(url) = request.api_base_url {
            validate::api_base_url(&url)?;
            recheck |= url != state.api_base_url;
            state.api_base_url = url;
        }
        if let Some(settings) = request.settings {
            validate::settings(&settings)?;
            self.check_routing(&settings).await?;
            let before = state.settings.as_ref().map(|s| s.default_template.as_str());
            self.check_default_template(&state.id, kind, before.unwrap_or(""), &settings)
                .await?;
            state.settings = Some(settings);
        }
        state.updated_at_ms = now_ms();
        if recheck {
            let reply = self.set_up(&state, false).await?;
            complete(&mut state, reply, kind);
            state.status = ChannelStatus::Active as i32;
            state.status_reason.clear();
        }
        self.store_channel(state, Change::Updated, sequence).await
    }

    /// Marks the channel deleted: its webhook answers 404 and sends are refused.
    pub async fn delete_channel(&self, id: &str) -> Result<Channel> {
        let (sequence, mut state) = self.current_channel(id).await?;
        state.status = ChannelStatus::Deleted as i32;
        state.updated_at_ms = now_ms();
        self.store_channel(state, Change::Deleted, sequence).await
    }

    /// The latest snapshot of a live channel and its subject sequence.
    async fn current_channel(&self, id: &str) -> Result<(u64, ChannelState)> {
        if !ids::is_valid_id(id) {
            return Err(ServiceError::invalid(format!("{id:?} is not a channel id")));
        }
        let subject = self.bus.subjects().channel(id);
        let found = self.bus.last_event(&subject).await?;
        let Some((sequence, event)) = found else {
            return Err(ServiceError::not_found("channel", id));
        };
        match event.payload {
            Some(Payload::ChannelChanged(ChannelChanged {
                state: Some(mut state),
                ..
            })) if state.status != ChannelStatus::Deleted as i32 => {
                self.bus
                    .keyring()
                    .open_all(&mut state.credentials)
                    .map_err(|e| {
                        ServiceError::FailedPrecondition(format!(
                            "the channel's stored credentials cannot be read ({e}); \
                             add the key that sealed them to OMNIBUS_CREDENTIALS_KEY"
                        ))
                    })?;
                Ok((sequence, state))
            }
            _ => Err(ServiceError::not_found("channel", id)),
        }
    }

    /// Publishes the snapshot with its credentials sealed: they never reach
    /// the stream in the clear when `OMNIBUS_CREDENTIALS_KEY` is set.
    async fn store_channel(
        &self,
        mut state: ChannelState,
        change: Change,
        expected_sequence: u64,
    ) -> Result<Channel> {
        self.bus.keyring().seal_all(&mut state.credentials);
        let id = state.id.clone();
        let event = event(
            ids::random_id("ev_"),
            &id,
            "",
            Payload::ChannelChanged(ChannelChanged {
                change: change as i32,
                state: Some(state),
            }),
        );
        let subject = self.bus.subjects().channel(&id);
        let published = self
            .bus
            .publish_expecting(subject, &event, expected_sequence)
            .await?;
        // Send targets read before may be stale now: dropped here at once,
        // in other replicas when their reader gets the snapshot.
        self.send_targets.channel_changed(published.sequence);
        self.wait_applied(published.sequence).await?;
        self.queries
            .channel(&id)
            .await?
            .ok_or_else(|| ServiceError::not_found("channel", &id))
    }

    /// Asks the messenger's ingress to check the credentials with the
    /// provider (and register the webhook where it can).
    async fn set_up(&self, state: &ChannelState, created: bool) -> Result<ChannelSetupReply> {
        let kind = ChannelKind::try_from(state.kind).unwrap_or(ChannelKind::Unspecified);
        let request = ChannelSetupRequest {
            state: Some(state.clone()),
            created,
        };
        let reply: ChannelSetupReply = self
            .ask(kind, "setup", "check the channel", &request)
            .await?;
        match Outcome::try_from(reply.outcome) {
            Ok(Outcome::Ok) => Ok(reply),
            Ok(Outcome::Invalid) => Err(ServiceError::InvalidArgument(reply.message)),
            _ => Err(ServiceError::Unavailable(reply.message)),
        }
    }

    /// Lists the channels of a provider account (Wazzup: its transports and
    /// numbers), asked of the messenger's ingress with the account's key.
    pub async fn provider_channels(
        &self,
        request: ListProviderChannelsRequest,
    ) -> Result<Vec<ProviderChannel>> {
        let kind = validate::kind(request.kind)?;
        if kind != ChannelKind::Wazzup {
            return Err(ServiceError::invalid(format!(
                "{} has one channel per account; create it with CreateChannel",
                messenger(kind)
            )));
        }
        validate::api_base_url(&request.api_base_url)?;
        if request
            .credentials
            .get("api_key")
            .is_none_or(|k| k.trim().is_empty())
        {
            return Err(ServiceError::invalid("credentials.api_key is required"));
        }
        let account = ChannelState {
            kind: kind as i32,
            credentials: request.credentials,
            api_base_url: request.api_base_url,
            ..ChannelState::default()
        };
        let request = ProviderChannelsRequest {
            account: Some(account),
        };
        let reply: ProviderChannelsReply = self
            .ask(
                kind,
                "provider_channels",
                "list the account's channels",
                &request,
            )
            .await?;
        match provider_channels_reply::Outcome::try_from(reply.outcome) {
            Ok(provider_channels_reply::Outcome::Ok) => Ok(reply.channels),
            Ok(provider_channels_reply::Outcome::Invalid) => {
                Err(ServiceError::InvalidArgument(reply.message))
            }
            _ => Err(ServiceError::Unavailable(reply.message)),
        }
    }

    /// Asks the messenger's ingress over NATS request/reply (`rpc.<name>.<m>`);
    /// UNAVAILABLE when nobody answers.
    async fn ask<Rep: prost::Message + Default>(
        &self,
        kind: ChannelKind,
        name: &str,
        what: &str,
        request: &impl prost::Message,
    ) -> Result<Rep> {
        self.ask_within(kind, name, what, request, self.config.setup_timeout)
            .await
    }

    /// [`ask`](Self::ask) with its own deadline (a file download takes
    /// longer than a credentials check).
    pub(crate) async fn ask_within<Rep: prost::Message + Default>(
        &self,
        kind: ChannelKind,
        name: &str,
        what: &str,
        request: &impl prost::Message,
        timeout: std::time::Duration,
    ) -> Result<Rep> {
        use async_nats::RequestErrorKind;
        let service = format!("ingress-{}", messenger(kind));
        let subject = self
            .bus
            .subjects()
            .rpc(&format!("{name}.{}", messenger(kind)));
        let request = async_nats::Request::new()
            .payload(request.encode_to_vec().into())
            .timeout(Some(timeout));
        let answer = self.bus.client().send_request(subject, request).await;
        let message = match answer {
            Ok(message) => message,
            Err(err) if err.kind() == RequestErrorKind::NoResponders => {
                return Err(ServiceError::Unavailable(format!(
                    "no {service} service is running to {what} with the provider; \
                     start `omnibus serve {service}` (or `omnibus serve all`)"
                )));
            }
            Err(err) => {
                return Err(ServiceError::Unavailable(format!(
                    "{service} did not answer ({what}): {err}"
                )));
            }
        };
        Rep::decode(message.payload)
            .map_err(|e| ServiceError::Unavailable(format!("{service} answered garbage: {e}")))
    }
}

/// Takes the ingress's completed credentials and the provider's name.
fn complete(state: &mut ChannelState, reply: ChannelSetupReply, kind: ChannelKind) {
    if !reply.credentials.is_empty() {
        state.credentials = reply.credentials;
    }
    if state.name.is_empty() {
        state.name = if reply.display_name.is_empty() {
            format!("{} channel", messenger(kind))
        } else {
            reply.display_name
        };
    }
}
