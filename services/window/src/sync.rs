//! `SyncTemplates`: the provider's templates become this channel's.
//!
//! The ingress of the channel's messenger fetches every page from the
//! provider (it owns the provider's wire format and credentials handling);
//! this side turns the difference into `TemplateChanged` events and answers
//! once the projection shows them.

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::RequestErrorKind;
use omnibus_core::kind::messenger;
use omnibus_proto::{
    ChannelKind, ChannelState, SyncTemplatesResponse, TemplateState, TemplateStatus,
    TemplatesFetchReply, TemplatesFetchRequest, event::Payload, template_changed::Change,
    templates_fetch_reply::Outcome,
};
use prost::Message as _;

use crate::commands::{Commands, changed};
use crate::error::{Result, WindowError};
use crate::model::TemplateRow;

/// What a sync changes.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Diff {
    pub upserts: Vec<TemplateRow>,
    pub removals: Vec<TemplateRow>,
    pub added: u32,
    pub updated: u32,
}

/// Compares the channel's templates with the provider's.
pub fn diff(channel_id: &str, current: &[TemplateRow], fetched: &[TemplateState]) -> Diff {
    let key = |name: &str, language: &str| (name.to_owned(), language.to_owned());
    let mut at_provider: BTreeMap<(String, String), TemplateRow> = BTreeMap::new();
    for state in fetched.iter().filter(|s| !s.name.is_empty()) {
        let row = TemplateRow::from_state(channel_id, state, 0);
        at_provider.insert(key(&row.name, &row.language), row);
    }
    let mut result = Diff::default();
    for (k, theirs) in &at_provider {
        match current.iter().find(|t| key(&t.name, &t.language) == *k) {
            None => {
                result.added += 1;
                result.upserts.push(theirs.clone());
            }
            Some(ours) if differs(ours, theirs) => {
                result.updated += 1;
                result.upserts.push(theirs.clone());
            }
            Some(_) => {}
        }
    }
    result.removals = current
        .iter()
        .filter(|t| !at_provider.contains_key(&key(&t.name, &t.language)))
        .cloned()
        .collect();
    result
}

fn differs(ours: &TemplateRow, theirs: &TemplateRow) -> bool {
    ours.body != theirs.body
        || ours.category != theirs.category
        || ours.status != theirs.status
        || ours.status_reason != theirs.status_reason
        || ours.provider_template_id != theirs.provider_template_id
}

impl Commands {
    /// Pulls every template of the channel's account from the provider.
    pub async fn sync(&self, channel_id: &str, timeout: Duration) -> Result<SyncTemplatesResponse> {
        let channel = self.windowed_channel(channel_id).await?;
        if channel.kind != ChannelKind::Whatsapp {
            return Err(WindowError::FailedPrecondition(format!(
                "template sync is for WhatsApp channels; channel {channel_id:?} is {}",
                messenger(channel.kind)
            )));
        }
        let snapshot = self.snapshot(channel_id).await?;
        let has_account = snapshot
            .credentials
            .get("business_account_id")
            .is_some_and(|v| !v.trim().is_empty());
        if !has_account {
            return Err(WindowError::FailedPrecondition(format!(
                "channel {channel_id:?} has no business_account_id credential, which the \
                 provider's template list needs; set it with `omnictl channels update \
                 {channel_id} --credential business_account_id=<WhatsApp Business Account id>`"
            )));
        }
        let fetched = self.fetch(snapshot, timeout).await?;
        let current = self
            .queries
            .templates(channel_id, TemplateStatus::Unspecified)
            .await?;
        let diff = diff(channel_id, &current, &fetched);
        let mut last = 0;
        for template in &diff.upserts {
            last = self
                .publish(channel_id, changed(Change::Upserted, template))
                .await?;
        }
        for template in &diff.removals {
            last = self
                .publish(channel_id, changed(Change::Deleted, template))
                .await?;
        }
        if last > 0 {
            self.wait_applied(last).await?;
        }
        let templates = self
            .queries
            .templates(channel_id, TemplateStatus::Unspecified)
            .await?;
        Ok(SyncTemplatesResponse {
            templates: templates.iter().map(TemplateRow::to_proto).collect(),
            added: diff.added,
            updated: diff.updated,
            removed: diff.removals.len() as u32,
        })
    }

    /// The channel's latest snapshot, with its credentials opened (they are
    /// sealed on the stream when `OMNIBUS_CREDENTIALS_KEY` is set).
    async fn snapshot(&self, channel_id: &str) -> Result<ChannelState> {
        let subject = self.bus.subjects().channel(channel_id);
        let last = self.bus.last_event(&subject).await?;
        let mut state = match last.and_then(|(_, event)| event.payload) {
            Some(Payload::ChannelChanged(changed)) => changed
                .state
                .ok_or_else(|| WindowError::not_found("channel", channel_id))?,
            _ => return Err(WindowError::not_found("channel", channel_id)),
        };
        self.bus
            .keyring()
            .open_all(&mut state.credentials)
            .map_err(|e| {
                WindowError::FailedPrecondition(format!(
                    "the channel's stored credentials cannot be read ({e}); \
                     add the key that sealed them to OMNIBUS_CREDENTIALS_KEY"
                ))
            })?;
        Ok(state)
    }

    /// Asks ingress-whatsapp for every template of the account.
    async fn fetch(&self, channel: ChannelState, timeout: Duration) -> Result<Vec<TemplateState>> {
        const SERVICE: &str = "ingress-whatsapp";
        let subject = self.bus.subjects().rpc("templates.whatsapp");
        let payload = TemplatesFetchRequest {
            channel: Some(channel),
        }
        .encode_to_vec();
        let request = async_nats::Request::new()
            .payload(payload.into())
            .timeout(Some(timeout));
        let message = match self.bus.client().send_request(subject, request).await {
            Ok(message) => message,
            Err(err) if err.kind() == RequestErrorKind::NoResponders => {
                return Err(WindowError::Unavailable(format!(
                    "no {SERVICE} service is running to fetch the templates; start \
                     `omnibus serve {SERVICE}` (or `omnibus serve all`)"
                )));
            }
            Err(err) => {
                return Err(WindowError::Unavailable(format!(
                    "{SERVICE} did not answer the template fetch within {}s: {err}",
                    timeout.as_secs()
                )));
            }
        };
        let reply = TemplatesFetchReply::decode(message.payload)
            .map_err(|e| WindowError::Unavailable(format!("{SERVICE} answered garbage: {e}")))?;
        match Outcome::try_from(reply.outcome) {
            Ok(Outcome::Ok) => Ok(reply.templates),
            Ok(Outcome::Invalid) => Err(WindowError::FailedPrecondition(format!(
                "the provider refused the template list: {}",
                reply.message
            ))),
            _ => Err(WindowError::Unavailable(format!(
                "the provider could not be reached to list templates: {}",
                reply.message
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(name: &str, body: &str, status: TemplateStatus) -> TemplateState {
        TemplateState {
            name: name.into(),
            language: "en_US".into(),
            body: body.into(),
            status: status as i32,
            ..Default::default()
        }
    }

    #[test]
    fn a_sync_adds_updates_and_removes() {
        let current = [
            TemplateRow::from_state("ch", &state("same", "Hi", TemplateStatus::Approved), 1),
            TemplateRow::from_state("ch", &state("changed", "Hi", TemplateStatus::Pending), 1),
            TemplateRow::from_state("ch", &state("gone", "Bye", TemplateStatus::Approved), 1),
        ];
        let fetched = [
            state("same", "Hi", TemplateStatus::Approved),
            state("changed", "Hi", TemplateStatus::Approved),
            state("new", "Hello {{1}}", TemplateStatus::Approved),
        ];
        let diff = diff("ch", &current, &fetched);
        assert_eq!((diff.added, diff.updated), (1, 1));
        let upserted: Vec<_> = diff.upserts.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(upserted, ["changed", "new"]);
        let removed: Vec<_> = diff.removals.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(removed, ["gone"]);
    }
}
