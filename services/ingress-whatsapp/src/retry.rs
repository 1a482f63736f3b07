//! Retrying sends that failed for reasons that pass: throttling (130429,
//! 131056), Meta's 5xx and temporary errors, timeouts. Bounded: after
//! `max_attempts` the message fails as "gave up" rather than blocking its
//! conversation forever.

use std::time::Duration;

use rand::Rng;
use serde_json::Value;

use crate::graph::{GraphApi, GraphError};

/// How persistently to deliver a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries per request, the first one included.
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles each time.
    pub base_backoff: Duration,
    /// The longest wait between tries.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// How long to wait before try `attempt + 1` after `error`, or `None`
    /// when the error is final or the tries are used up.
    pub fn delay_after(&self, error: &GraphError, attempt: u32) -> Option<Duration> {
        if attempt >= self.max_attempts || !error.is_transient() {
            return None;
        }
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        let delay = self
            .base_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        Some(jitter(delay))
    }
}

/// Somewhere between half and all of `delay`, so that many workers failing
/// together do not retry together.
fn jitter(delay: Duration) -> Duration {
    let half = delay / 2;
    let spread = u64::try_from((delay - half).as_millis()).unwrap_or(u64::MAX);
    half + Duration::from_millis(rand::rng().random_range(0..=spread))
}

/// Sends every body in order, each retried on its own, so a part that went
/// through is never sent twice. On success returns the first wamid (the one
/// a reply would point at) and the tries of the most-retried request; on
/// failure the final error and the tries spent on the failing request.
pub async fn send_all(
    api: &GraphApi,
    phone_number_id: &str,
    bodies: &[Value],
    policy: &RetryPolicy,
) -> Result<(String, u32), (GraphError, u32)> {
    let mut first = None;
    let mut most_attempts = 0;
    for body in bodies {
        let (wamid, attempts) = send_one(api, phone_number_id, body, policy).await?;
        first.get_or_insert(wamid);
        most_attempts = most_attempts.max(attempts);
    }
    let rejected = GraphError::Rejected {
        code: 0,
        message: "nothing to send".into(),
    };
    first.map(|w| (w, most_attempts)).ok_or((rejected, 0))
}

async fn send_one(
    api: &GraphApi,
    phone_number_id: &str,
    body: &Value,
    policy: &RetryPolicy,
) -> Result<(String, u32), (GraphError, u32)> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let error = match api.send(phone_number_id, body).await {
            Ok(wamid) => return Ok((wamid, attempt)),
            Err(error) => error,
        };
        let Some(delay) = policy.delay_after(&error, attempt) else {
            return Err((error, attempt));
        };
        tracing::warn!(
            attempt,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            error = %error,
            "whatsapp send failed, will retry"
        );
        tokio::time::sleep(delay).await;
    }
}
