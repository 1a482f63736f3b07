//! The write side: validates webhook requests, stores them as events, and
//! answers once the projection shows them (read your writes).

use std::time::Duration;

use omnibus_bus::Bus;
use omnibus_proto::{
    CreateWebhookRequest, Event, NotificationEvent, NotificationKind, WebhookCreated,
    WebhookDeleted, event::Payload, notification_event::Change,
};
use tokio::sync::watch;

use crate::queries::Queries;
use crate::{Result, ServiceError};

/// Shortest secret accepted: HMAC keys shorter than this are guessable.
const MIN_SECRET_LEN: usize = 16;

/// Commands; cheap to clone.
#[derive(Clone)]
pub struct Commands {
    bus: Bus,
    queries: Queries,
    applied: watch::Receiver<u64>,
    read_your_writes: Duration,
}

impl Commands {
    /// Commands publishing on `bus` and waiting on `applied`.
    pub fn new(bus: Bus, queries: Queries, applied: watch::Receiver<u64>) -> Self {
        Self {
            bus,
            queries,
            applied,
            read_your_writes: Duration::from_secs(10),
        }
    }

    /// Stores a new webhook subscription and returns it.
    pub async fn create_webhook(
        &self,
        request: CreateWebhookRequest,
    ) -> Result<omnibus_proto::Webhook> {
        validate_url(&request.url)?;
        if request.secret.len() < MIN_SECRET_LEN {
            return Err(ServiceError::invalid(format!(
                "secret must be at least {MIN_SECRET_LEN} characters; receivers verify \
                 X-Omnibus-Signature with it"
            )));
        }
        validate_kinds(&request.kinds)?;
        let webhook_id = format!("wh_{}", uuid::Uuid::now_v7().simple());
        let change = Change::WebhookCreated(WebhookCreated {
            webhook_id: webhook_id.clone(),
            url: request.url,
            // Sealed on the stream and in the projection; opened to sign.
            secret: self.bus.keyring().seal(&request.secret),
            kinds: request.kinds,
        });
        self.publish(&webhook_id, format!("webhook:{webhook_id}:created"), change)
            .await?;
        self.queries.webhook(&webhook_id).await
    }

    /// Deletes a webhook; its pending deliveries are abandoned.
    pub async fn delete_webhook(&self, id: &str) -> Result<()> {
        self.queries.webhook(id).await?;
        let change = Change::WebhookDeleted(WebhookDeleted {
            webhook_id: id.to_owned(),
        });
        self.publish(id, format!("webhook:{id}:deleted"), change)
            .await
    }

    async fn publish(&self, webhook_id: &str, event_id: String, change: Change) -> Result<()> {
        let event = notification_event(event_id, "", "", change);
        let subject = webhook_subject(&self.bus, webhook_id);
        self.publish_and_wait(subject, &event).await
    }

    /// The event bus these commands publish on.
    pub(crate) fn bus(&self) -> &Bus {
        &self.bus
    }

    /// Stores `event` and waits until the projection applied it.
    pub(crate) async fn publish_and_wait(&self, subject: String, event: &Event) -> Result<()> {
        let published = self.bus.publish(subject, event).await?;
        let mut applied = self.applied.clone();
        let wait = applied.wait_for(|applied| *applied >= published.sequence);
        match tokio::time::timeout(self.read_your_writes, wait).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(ServiceError::Unavailable(
                "the change was stored but the notifications view is lagging behind; \
                 list again in a moment"
                    .into(),
            )),
        }
    }
}

/// An event of this service around `change`, stamped now.
pub(crate) fn notification_event(
    id: String,
    channel_id: &str,
    conversation_id: &str,
    change: Change,
) -> Event {
    let now = omnibus_core::now_ms();
    Event {
        id,
        occurred_at_ms: now,
        recorded_at_ms: now,
        channel_id: channel_id.to_owned(),
        conversation_id: conversation_id.to_owned(),
        payload: Some(Payload::Notification(NotificationEvent {
            change: Some(change),
        })),
    }
}

/// `<prefix>.notif.webhook.<id>`: webhook facts, outside every
/// conversation. `Subjects` has no method for this service's subjects, so
/// it is derived from the stream-wide wildcard.
pub(crate) fn webhook_subject(bus: &Bus, webhook_id: &str) -> String {
    let all = bus.subjects().all();
    let prefix = all.trim_end_matches('>');
    format!("{prefix}notif.webhook.{webhook_id}")
}

fn validate_url(url: &str) -> Result<()> {
    let parsed = reqwest::Url::parse(url).map_err(|err| {
        ServiceError::invalid(format!(
            "url {url:?} is not a valid URL ({err}); give an absolute http:// or https:// URL"
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ServiceError::invalid(format!(
            "url {url:?} must be an absolute http:// or https:// URL with a host"
        )));
    }
    Ok(())
}

fn validate_kinds(kinds: &[i32]) -> Result<()> {
    for kind in kinds {
        if *kind == 0 || NotificationKind::try_from(*kind).is_err() {
            return Err(ServiceError::invalid(format!(
                "unknown notification kind {kind}; leave kinds empty for every kind"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_absolute_http() {
        assert!(validate_url("https://crm.internal/hooks/omnibus").is_ok());
        assert!(validate_url("http://127.0.0.1:9000/x").is_ok());
        assert!(validate_url("ftp://example.com").is_err());
        assert!(validate_url("example.com/hook").is_err());
        assert!(validate_url("").is_err());
    }

    #[test]
    fn kinds_must_be_known() {
        assert!(validate_kinds(&[1, 7]).is_ok());
        assert!(validate_kinds(&[0]).is_err());
        assert!(validate_kinds(&[99]).is_err());
    }
}
