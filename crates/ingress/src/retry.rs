//! Retrying provider requests that failed for reasons that pass
//! (throttling, outages, timeouts). Bounded: after `max_attempts` the
//! message fails as "gave up" rather than blocking its conversation.

use std::time::Duration;

use rand::Rng;

use crate::messenger::Messenger;
use crate::provider::{Call, ProviderError};

/// How persistently to deliver a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries per request, the first one included.
    pub max_attempts: u32,
    /// The wait after the first transient failure; it doubles each time.
    pub base_backoff: Duration,
    /// The longest backoff after a transient failure.
    pub max_backoff: Duration,
    /// The longest wait a provider's "retry after" may impose on us.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// How long to wait before try `attempt + 1` after `error`, or `None`
    /// when the error is final or the tries are used up.
    pub fn delay_after(&self, error: &ProviderError, attempt: u32) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        match error {
            ProviderError::Retry {
                after: Some(wait), ..
            } => Some((*wait).min(self.max_retry_after)),
            ProviderError::Retry { after: None, .. } => Some(jitter(self.backoff(attempt))),
            _ => None,
        }
    }

    /// The exponential backoff after `attempt` transient failures, capped.
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.base_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Somewhere between half and all of `delay`, so that many workers failing
/// together do not retry together.
fn jitter(delay: Duration) -> Duration {
    let half = delay / 2;
    let spread = u64::try_from((delay - half).as_millis()).unwrap_or(u64::MAX);
    half + Duration::from_millis(rand::rng().random_range(0..=spread))
}

/// Makes every planned request in order, each retried on its own, so a
/// part that went through is never sent twice. On success returns the
/// first provider id (the one a reply would point at) and the tries of the
/// most-retried request; on failure the final error and the tries spent on
/// the failing request.
pub async fn send_plan<M: Messenger>(
    messenger: &M,
    call: &Call<'_>,
    plan: &[M::Request],
    policy: &RetryPolicy,
) -> Result<(String, u32), (ProviderError, u32)> {
    let mut first = None;
    let mut most_attempts = 0;
    for (part, request) in plan.iter().enumerate() {
        let call = Call { part, ..*call };
        let (id, attempts) = send_one(messenger, &call, request, policy).await?;
        first.get_or_insert(id);
        most_attempts = most_attempts.max(attempts);
    }
    first
        .map(|id| (id, most_attempts))
        .ok_or_else(|| (ProviderError::refused("nothing to send"), 0))
}

async fn send_one<M: Messenger>(
    messenger: &M,
    call: &Call<'_>,
    request: &M::Request,
    policy: &RetryPolicy,
) -> Result<(String, u32), (ProviderError, u32)> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let error = match messenger.call(call, request).await {
            Ok(id) => return Ok((id, attempt)),
            Err(error) => error,
        };
        let Some(delay) = policy.delay_after(&error, attempt) else {
            return Err((error, attempt));
        };
        tracing::warn!(
            messenger = M::name(),
            part = call.part,
            attempt,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            error = %error,
            "provider request failed, will retry"
        );
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transient() -> ProviderError {
        ProviderError::transient("down")
    }

    #[test]
    fn a_providers_wait_is_obeyed_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let wait = |secs| ProviderError::Retry {
            after: Some(Duration::from_secs(secs)),
            reason: "slow down".into(),
            code: Some("429".into()),
        };
        assert_eq!(
            policy.delay_after(&wait(3), 1),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            policy.delay_after(&wait(3600), 1),
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn transient_backoff_grows_with_jitter_and_caps() {
        let policy = RetryPolicy {
            max_attempts: 100,
            ..RetryPolicy::default()
        };
        for (attempt, full) in [(1, 500), (2, 1000), (3, 2000), (7, 30_000), (40, 30_000)] {
            let delay = policy.delay_after(&transient(), attempt).expect("retry");
            let full = Duration::from_millis(full);
            assert!(
                delay >= full / 2 && delay <= full,
                "attempt {attempt}: {delay:?}"
            );
        }
    }

    #[test]
    fn final_errors_and_spent_attempts_stop_retrying() {
        let policy = RetryPolicy::default();
        let finals = [
            ProviderError::refused("no"),
            ProviderError::Unauthorized {
                reason: "token".into(),
                code: None,
            },
            ProviderError::OutsideWindow {
                reason: "24h".into(),
                code: None,
            },
        ];
        for error in finals {
            assert_eq!(policy.delay_after(&error, 1), None);
        }
        assert_eq!(policy.delay_after(&transient(), 5), None);
    }
}
