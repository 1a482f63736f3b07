//! Outbound webhooks: signing, the dispatcher that POSTs queued deliveries,
//! and how each attempt's outcome is recorded.
//!
//! # Layout
//! - [`sign`] — `X-Omnibus-Signature` and its constant-time check
//! - [`dispatch`] — picks due deliveries, one at a time per conversation
//! - [`attempt`] — one POST and its transactional bookkeeping

pub mod attempt;
pub mod dispatch;
pub mod sign;

use std::time::Duration;

/// How deliveries are made and retried.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// How long one POST may take before it counts as a timeout.
    pub timeout: Duration,
    /// Delay before the first retry; later ones double (with jitter).
    pub first_retry: Duration,
    /// Longest delay between two retries.
    pub max_retry: Duration,
    /// A delivery still failing this long after it was queued is abandoned.
    pub max_age: Duration,
    /// A webhook failing without a single success for this long is disabled.
    pub disable_after: Duration,
    /// Most POSTs in flight at once, over all webhooks.
    pub concurrency: usize,
    /// Which addresses targets may have (`OMNIBUS_OUTBOUND_ALLOW`); the
    /// default refuses every internal one.
    pub egress: omnibus_egress::Egress,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            first_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(30 * 60),
            max_age: Duration::from_secs(24 * 60 * 60),
            disable_after: Duration::from_secs(24 * 60 * 60),
            concurrency: 32,
            egress: omnibus_egress::Egress::default(),
        }
    }
}

impl DeliveryConfig {
    /// Delay before retry number `failures` (1 = the first retry):
    /// exponential from `first_retry`, capped, plus up to 25 % jitter so
    /// many deliveries failing together do not retry in lockstep.
    pub fn backoff(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(20);
        let base = self
            .first_retry
            .saturating_mul(1 << exp)
            .min(self.max_retry);
        let jitter_ms = rand::random_range(0..=base.as_millis() as u64 / 4);
        base + Duration::from_millis(jitter_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_within_five_seconds_and_grows() {
        let config = DeliveryConfig::default();
        let first = config.backoff(1);
        assert!(first >= Duration::from_secs(1) && first < Duration::from_secs(5));
        assert!(config.backoff(4) >= Duration::from_secs(8));
        assert!(config.backoff(100) <= config.max_retry + config.max_retry / 4);
    }
}
