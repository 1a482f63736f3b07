//! One delivery attempt: the signed POST, then its outcome recorded in one
//! transaction (attempt row, delivery state, webhook health), so a restart
//! resumes exactly the deliveries that are still pending.

use std::time::Duration;

use omnibus_bus::Bus;
use omnibus_proto::{DeliveryState, WebhookDisabled, WebhookStatus, notification_event::Change};
use omnibus_store::Store;
use sqlx::AnyConnection;
use tracing::Instrument as _;

use super::DeliveryConfig;
use super::sign::{EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature};
use crate::commands::{notification_event, webhook_subject};
use crate::model::format_id;
use crate::projection::stop_webhook;

/// A delivery whose turn it is.
pub struct Due {
    /// The subscription.
    pub webhook_id: String,
    /// The notification's position (its id).
    pub ord: i64,
    conversation_id: String,
    body: String,
    attempts: i64,
    created_at_ms: i64,
    url: String,
    /// Never logged: `Due` has no `Debug`.
    secret: String,
}
from_row!(Due {
    webhook_id,
    ord,
    conversation_id,
    body,
    attempts,
    created_at_ms,
    url,
    secret
});

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Delivered,
    /// 4xx other than 408/429: the receiver will never take it.
    Rejected,
    /// 5xx, 408, 429, timeout, connection error.
    Retry,
}

struct Outcome {
    verdict: Verdict,
    status_code: i64,
    error: String,
}

/// Everything an attempt needs; shared by all of them.
pub struct Attempt {
    store: Store,
    bus: Bus,
    client: reqwest::Client,
    config: DeliveryConfig,
}

impl Attempt {
    /// Builds the HTTP client (no redirects: a receiver answers itself).
    pub fn new(store: Store, bus: Bus, config: DeliveryConfig) -> Result<Self, reqwest::Error> {
        let client = config.egress.builder().timeout(config.timeout).build()?;
        Ok(Self {
            store,
            bus,
            client,
            config,
        })
    }

    /// The delivery settings.
    pub fn config(&self) -> &DeliveryConfig {
        &self.config
    }

    /// POSTs `due` once and records the outcome.
    pub async fn run(&self, due: Due) {
        let span = tracing::info_span!(
            "webhook_delivery",
            webhook_id = %due.webhook_id,
            notification_id = %format_id(due.ord),
            conversation_id = %due.conversation_id,
            attempt = due.attempts + 1,
        );
        async {
            let outcome = self.post(&due).await;
            tracing::debug!(status = outcome.status_code, verdict = ?outcome.verdict, error = %outcome.error, "webhook attempt");
            match self.record_with_retries(&due, &outcome).await {
                Some(Some(reason)) => self.announce_disabled(&due.webhook_id, reason).await,
                Some(None) => {}
                None => tracing::error!("cannot record a webhook attempt; it will be retried"),
            }
        }
        .instrument(span)
        .await;
    }

    async fn post(&self, due: &Due) -> Outcome {
        // Sealed in the projection when OMNIBUS_CREDENTIALS_KEY is set; a
        // secret no configured key opens waits (retried) for the key.
        let secret = match self.bus.keyring().open(&due.secret) {
            Ok(secret) => secret,
            Err(err) => {
                return Outcome {
                    verdict: Verdict::Retry,
                    status_code: 0,
                    error: err.to_string(),
                };
            }
        };
        let timestamp = (omnibus_core::now_ms() / 1000).to_string();
        let signed = signature(secret.as_bytes(), &timestamp, due.body.as_bytes());
        let request = self
            .client
            .post(&due.url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, signed)
            .header(EVENT_ID_HEADER, format_id(due.ord))
            .header(TIMESTAMP_HEADER, timestamp)
            .body(due.body.clone());
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let verdict = match status.as_u16() {
                    200..=299 => Verdict::Delivered,
                    408 | 429 | 500..=599 => Verdict::Retry,
                    _ => Verdict::Rejected,
                };
                let error = match verdict {
                    Verdict::Delivered => String::new(),
                    _ => format!("receiver answered {status}"),
                };
                Outcome {
                    verdict,
                    status_code: i64::from(status.as_u16()),
                    error,
                }
            }
            Err(err) => Outcome {
                verdict: Verdict::Retry,
                status_code: 0,
                error: describe(err),
            },
        }
    }

    /// Records the outcome, retrying database hiccups a few times; `None`
    /// when it could not (the delivery stays pending and goes out again).
    async fn record_with_retries(&self, due: &Due, outcome: &Outcome) -> Option<Option<String>> {
        for failures in 1..=5u32 {
            match self.record(due, outcome).await {
                Ok(disabled) => return Some(disabled),
                Err(err) => {
                    tracing::warn!(error = %err, "recording a webhook attempt failed");
                    tokio::time::sleep(Duration::from_millis(200) * failures).await;
                }
            }
        }
        None
    }

    /// One transaction; returns the reason when the webhook got disabled.
    async fn record(&self, due: &Due, outcome: &Outcome) -> Result<Option<String>, RecordError> {
        let now = omnibus_core::now_ms();
        let attempt = due.attempts + 1;
        let mut tx = self.store.begin_write().await?;
        sqlx::query(
            "INSERT INTO notif_attempts (webhook_id, ord, attempt, at_ms, status_code, error) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (webhook_id, ord, attempt) DO NOTHING",
        )
        .bind(&due.webhook_id)
        .bind(due.ord)
        .bind(attempt)
        .bind(now)
        .bind(outcome.status_code)
        .bind(&outcome.error)
        .execute(&mut *tx)
        .await?;
        let (state, next) = self.next_step(due, outcome.verdict, attempt, now);
        sqlx::query(
            "UPDATE notif_deliveries SET state = $3, attempts = $4, next_attempt_ms = $5 \
             WHERE webhook_id = $1 AND ord = $2 AND state = $6",
        )
        .bind(&due.webhook_id)
        .bind(due.ord)
        .bind(state as i64)
        .bind(attempt)
        .bind(next)
        .bind(DeliveryState::Pending as i64)
        .execute(&mut *tx)
        .await?;
        let disabled = self.update_health(&mut tx, due, outcome, next, now).await?;
        tx.commit().await?;
        Ok(disabled)
    }

    fn next_step(
        &self,
        due: &Due,
        verdict: Verdict,
        attempt: i64,
        now: i64,
    ) -> (DeliveryState, i64) {
        match verdict {
            Verdict::Delivered => (DeliveryState::Delivered, 0),
            Verdict::Rejected => (DeliveryState::Rejected, 0),
            Verdict::Retry => {
                let delay = self
                    .config
                    .backoff(u32::try_from(attempt).unwrap_or(u32::MAX));
                let next = now.saturating_add(delay.as_millis() as i64);
                let deadline = due
                    .created_at_ms
                    .saturating_add(self.config.max_age.as_millis() as i64);
                if next > deadline {
                    (DeliveryState::Abandoned, 0)
                } else {
                    (DeliveryState::Pending, next)
                }
            }
        }
    }

    /// Keeps the webhook's failure streak; disables it when the streak is
    /// older than `disable_after`. Returns the reason when it did.
    async fn update_health(
        &self,
        conn: &mut AnyConnection,
        due: &Due,
        outcome: &Outcome,
        next: i64,
        now: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        if outcome.verdict != Verdict::Retry {
            sqlx::query(
                "UPDATE notif_webhooks SET failing_since_ms = 0, next_attempt_ms = 0 WHERE id = $1",
            )
            .bind(&due.webhook_id)
            .execute(&mut *conn)
            .await?;
            return Ok(None);
        }
        sqlx::query(
            "UPDATE notif_webhooks SET next_attempt_ms = $2, failing_since_ms = \
             CASE WHEN failing_since_ms = 0 THEN $3 ELSE failing_since_ms END WHERE id = $1",
        )
        .bind(&due.webhook_id)
        .bind(next)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        let since: i64 =
            sqlx::query_scalar("SELECT failing_since_ms FROM notif_webhooks WHERE id = $1")
                .bind(&due.webhook_id)
                .fetch_one(&mut *conn)
                .await?;
        if now.saturating_sub(since) < self.config.disable_after.as_millis() as i64 {
            return Ok(None);
        }
        let reason = format!(
            "every delivery failed for {} s (last: {}); create the webhook again once the receiver works",
            (now - since) / 1000,
            outcome.error
        );
        stop_webhook(
            conn,
            &due.webhook_id,
            WebhookStatus::Disabled as i64,
            &reason,
        )
        .await?;
        Ok(Some(reason))
    }

    /// Stores the disabling as an event, so a rebuilt projection agrees.
    async fn announce_disabled(&self, webhook_id: &str, reason: String) {
        tracing::warn!(webhook_id, reason, "webhook disabled");
        let change = Change::WebhookDisabled(WebhookDisabled {
            webhook_id: webhook_id.to_owned(),
            reason,
        });
        let event = notification_event(format!("webhook:{webhook_id}:disabled"), "", "", change);
        if let Err(err) = self
            .bus
            .publish(webhook_subject(&self.bus, webhook_id), &event)
            .await
        {
            tracing::warn!(error = %err, "cannot store that a webhook was disabled");
        }
    }
}

/// Why an outcome could not be recorded.
#[derive(Debug, thiserror::Error)]
enum RecordError {
    #[error(transparent)]
    Store(#[from] omnibus_store::StoreError),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// A readable reason for a failed request, without the URL's query string
/// (it may hold a token).
fn describe(err: reqwest::Error) -> String {
    if let Some(refused) = omnibus_egress::EgressError::find(&err) {
        refused.to_string()
    } else if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        "connection failed".to_owned()
    } else {
        format!("request failed: {}", err.without_url())
    }
}
