//! The write side: validates template changes, stores them as events, and
//! answers once the projection shows them (read your writes).

use std::time::Duration;

use omnibus_bus::Bus;
use omnibus_core::{Clock, ids, kind::messenger};
use omnibus_proto::{
    DeleteTemplateRequest, Event, TemplateChanged, TemplateStatus, UpsertTemplateRequest,
    event::Payload, template_changed::Change,
};
use std::sync::Arc;
use tokio::sync::watch;

use crate::error::{Result, WindowError};
use crate::model::{ChannelRow, TemplateRow};
use crate::queries::Queries;
use crate::template::Placeholders;

/// WhatsApp's limits on a template.
const MAX_NAME: usize = 512;
const MAX_BODY: usize = 1024;
const CATEGORIES: [&str; 3] = ["MARKETING", "UTILITY", "AUTHENTICATION"];

/// Commands; cheap to clone.
#[derive(Clone)]
pub struct Commands {
    pub(crate) bus: Bus,
    pub(crate) queries: Queries,
    pub(crate) clock: Arc<dyn Clock>,
    applied: watch::Receiver<u64>,
    read_your_writes: Duration,
}

impl Commands {
    /// Commands publishing on `bus` and waiting on `applied`.
    pub fn new(
        bus: Bus,
        queries: Queries,
        clock: Arc<dyn Clock>,
        applied: watch::Receiver<u64>,
        read_your_writes: Duration,
    ) -> Self {
        Self {
            bus,
            queries,
            clock,
            applied,
            read_your_writes,
        }
    }

    /// Creates or replaces a template and returns it as stored.
    pub async fn upsert(&self, request: UpsertTemplateRequest) -> Result<TemplateRow> {
        let channel = self.windowed_channel(&request.channel_id).await?;
        let template = validate(&channel, request)?;
        let (name, language) = (template.name.clone(), template.language.clone());
        let change = changed(Change::Upserted, &template);
        let sequence = self.publish(&channel.id, change).await?;
        self.wait_applied(sequence).await?;
        self.queries
            .template(&channel.id, &name, &language)
            .await?
            .ok_or_else(|| {
                WindowError::Unavailable("the template was stored but is not listed yet".into())
            })
    }

    /// Deletes a template and returns what it was.
    pub async fn delete(&self, request: DeleteTemplateRequest) -> Result<TemplateRow> {
        let channel = self.windowed_channel(&request.channel_id).await?;
        let existing = self
            .queries
            .template(&channel.id, request.name.trim(), request.language.trim())
            .await?
            .ok_or_else(|| {
                WindowError::NotFound(format!(
                    "template {:?} ({}) does not exist on channel {:?}",
                    request.name, request.language, channel.id
                ))
            })?;
        let sequence = self
            .publish(&channel.id, changed(Change::Deleted, &existing))
            .await?;
        self.wait_applied(sequence).await?;
        Ok(existing)
    }

    /// A channel that exists and has a window.
    pub(crate) async fn windowed_channel(&self, id: &str) -> Result<ChannelRow> {
        let channel = self.queries.channel(id).await?;
        if omnibus_core::kind::window(channel.kind).is_none() {
            return Err(WindowError::FailedPrecondition(format!(
                "channel {id:?} is a {} channel, which has no 24-hour window and no templates",
                messenger(channel.kind)
            )));
        }
        Ok(channel)
    }

    /// Stores a template change; returns its stream sequence.
    pub(crate) async fn publish(&self, channel_id: &str, change: TemplateChanged) -> Result<u64> {
        let now = self.clock.now_ms();
        let event = Event {
            id: ids::random_id("ev_"),
            occurred_at_ms: now,
            recorded_at_ms: now,
            channel_id: channel_id.to_owned(),
            conversation_id: String::new(),
            payload: Some(Payload::TemplateChanged(change)),
        };
        let subject = self.bus.subjects().template(channel_id);
        Ok(self.bus.publish(subject, &event).await?.sequence)
    }

    /// Waits until the projection applied `sequence`.
    pub(crate) async fn wait_applied(&self, sequence: u64) -> Result<()> {
        let mut applied = self.applied.clone();
        let wait = applied.wait_for(|applied| *applied >= sequence);
        match tokio::time::timeout(self.read_your_writes, wait).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(WindowError::Unavailable(
                "the change was stored but the templates view is lagging behind; \
                 list the templates again in a moment"
                    .into(),
            )),
        }
    }
}

/// A template change event's payload.
pub(crate) fn changed(change: Change, template: &TemplateRow) -> TemplateChanged {
    TemplateChanged {
        change: change as i32,
        template: Some(template.state()),
    }
}

/// Checks an upsert and returns the template to store.
fn validate(channel: &ChannelRow, request: UpsertTemplateRequest) -> Result<TemplateRow> {
    let name = request.name.trim().to_owned();
    if name.is_empty()
        || name.len() > MAX_NAME
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(WindowError::invalid(format!(
            "name {name:?} must be 1 to {MAX_NAME} lowercase letters, digits or underscores, \
             as WhatsApp requires (e.g. order_update)"
        )));
    }
    let language = request.language.trim().to_owned();
    if !valid_language(&language) {
        return Err(WindowError::invalid(format!(
            "language {language:?} must be a WhatsApp language code such as en, en_US or pt_BR"
        )));
    }
    let body = request.body.trim().to_owned();
    if body.is_empty() || body.chars().count() > MAX_BODY {
        return Err(WindowError::invalid(format!(
            "body must be 1 to {MAX_BODY} characters"
        )));
    }
    Placeholders::parse(&body).map_err(|p| WindowError::invalid(format!("body: {p}")))?;
    let category = request.category.trim().to_ascii_uppercase();
    if !category.is_empty() && !CATEGORIES.contains(&category.as_str()) {
        return Err(WindowError::invalid(format!(
            "category {:?} must be MARKETING, UTILITY or AUTHENTICATION",
            request.category
        )));
    }
    let status = match request.status() {
        TemplateStatus::Unspecified => TemplateStatus::Pending,
        status => status,
    };
    Ok(TemplateRow {
        channel_id: channel.id.clone(),
        name,
        language,
        body,
        category,
        status,
        ..Default::default()
    })
}

/// `en`, `en_US`, `pt_BR`, `zh_HK`, `es_419`…
fn valid_language(code: &str) -> bool {
    let (lang, region) = code.split_once('_').unwrap_or((code, ""));
    let lang_ok = (2..=3).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_lowercase());
    let region_ok = code.len() == lang.len()
        || ((2..=4).contains(&region.len()) && region.bytes().all(|b| b.is_ascii_alphanumeric()));
    lang_ok && region_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use omnibus_proto::ChannelKind;

    fn channel() -> ChannelRow {
        ChannelRow {
            id: "ch_1".into(),
            kind: ChannelKind::Whatsapp,
            deleted: false,
            default_template: String::new(),
            human_agent_tag: false,
        }
    }

    fn upsert(name: &str, language: &str, body: &str) -> UpsertTemplateRequest {
        UpsertTemplateRequest {
            channel_id: "ch_1".into(),
            name: name.into(),
            language: language.into(),
            body: body.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_template_defaults_to_pending() {
        let t = validate(&channel(), upsert("order_update", "en_US", "Order {{1}}")).unwrap();
        assert_eq!(t.status, TemplateStatus::Pending);
        assert_eq!(t.channel_id, "ch_1");
    }

    #[test]
    fn bad_names_languages_bodies_and_categories_say_what_to_fix() {
        let cases = [
            upsert("Order Update", "en_US", "x"),
            upsert("order", "english", "x"),
            upsert("order", "en_US", ""),
            upsert("order", "en_US", "{{1}} {{3}}"),
        ];
        for request in cases {
            let err = validate(&channel(), request).unwrap_err();
            assert!(matches!(err, WindowError::InvalidArgument(_)), "{err}");
        }
        let mut request = upsert("order", "en", "x");
        request.category = "spam".into();
        assert!(
            validate(&channel(), request)
                .unwrap_err()
                .to_string()
                .contains("MARKETING")
        );
        for code in ["en", "en_US", "pt_BR", "es_419", "fil"] {
            assert!(valid_language(code), "{code}");
        }
        for code in ["", "EN", "en-US", "en_", "english"] {
            assert!(!valid_language(code), "{code}");
        }
    }
}
