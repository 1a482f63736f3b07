//! The metric families, registered once in a process-wide registry.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{
    HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

/// Every metric of the process. Names carry the `omnibus_` prefix.
pub(crate) struct Families {
    pub registry: Registry,
    webhooks: IntCounterVec,
    events_published: IntCounterVec,
    send_seconds: HistogramVec,
    send_failures: IntCounterVec,
    projection_parked: IntCounterVec,
    ingress_unshown: IntCounterVec,
    pub consumer_pending: IntGaugeVec,
    pub consumer_ack_pending: IntGaugeVec,
    held_messages: IntGauge,
    armed_timers: IntGauge,
}

/// Provider calls take milliseconds; a send with retries can take a minute.
const SEND_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

pub(crate) static FAMILIES: LazyLock<Families> = LazyLock::new(Families::register);

impl Families {
    fn register() -> Self {
        let registry =
            Registry::new_custom(Some("omnibus".into()), None).expect("a valid metric prefix");
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let family = IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter");
            registry.register(Box::new(family.clone())).expect("unique");
            family
        };
        let webhooks = counter(
            "webhooks_total",
            "Webhook deliveries answered, by messenger and HTTP status.",
            &["messenger", "status"],
        );
        let events_published = counter(
            "events_published_total",
            "Events published on the stream, by subject kind (conv, channel, send, dlq) \
             and result (stored, duplicate, sent without waiting for the ack, failed).",
            &["kind", "result"],
        );
        let send_failures = counter(
            "provider_send_failures_total",
            "Messages a provider did not accept, by messenger and provider error code \
             (0: refused before calling the provider; unavailable: no usable answer).",
            &["messenger", "code"],
        );
        let projection_parked = counter(
            "projection_parked_total",
            "Events a projection could never apply and parked on the dead-letter subject, \
             by projection; contention and connection errors are retried, not parked.",
            &["projection"],
        );
        let ingress_unshown = counter(
            "ingress_unshown_total",
            "Messages of a kind Omnibus cannot show, stored as a notice naming their type, \
             by messenger and the provider's type name.",
            &["messenger", "kind"],
        );
        let send_seconds = HistogramVec::new(
            HistogramOpts::new(
                "provider_send_duration_seconds",
                "Time to send one message through a provider API, retries included.",
            )
            .buckets(SEND_BUCKETS.to_vec()),
            &["messenger", "outcome"],
        )
        .expect("valid histogram");
        registry
            .register(Box::new(send_seconds.clone()))
            .expect("unique");
        let gauge_vec = |name: &str, help: &str| {
            let family = IntGaugeVec::new(Opts::new(name, help), &["consumer"]).expect("valid");
            registry.register(Box::new(family.clone())).expect("unique");
            family
        };
        let consumer_pending = gauge_vec(
            "consumer_pending_messages",
            "Events on the stream not yet delivered to a durable consumer (its lag), \
             read from JetStream at scrape time.",
        );
        let consumer_ack_pending = gauge_vec(
            "consumer_ack_pending_messages",
            "Events delivered to a durable consumer and not yet acknowledged.",
        );
        let gauge = |name: &str, help: &str| {
            let gauge = IntGauge::new(name, help).expect("valid gauge");
            registry.register(Box::new(gauge.clone())).expect("unique");
            gauge
        };
        let held_messages = gauge(
            "held_messages",
            "Outbound messages held (e.g. outside a 24-hour window), as set by the service \
             that holds them; 0 in a process that does not run it.",
        );
        let armed_timers = gauge(
            "armed_timers",
            "Timers armed (inactivity close, auto-replies), as set by the timers service; \
             0 in a process that does not run it.",
        );
        let build_info = IntGaugeVec::new(
            Opts::new("build_info", "The running version, always 1."),
            &["version"],
        )
        .expect("valid gauge");
        registry
            .register(Box::new(build_info.clone()))
            .expect("unique");
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        Self {
            registry,
            webhooks,
            events_published,
            send_seconds,
            send_failures,
            projection_parked,
            ingress_unshown,
            consumer_pending,
            consumer_ack_pending,
            held_messages,
            armed_timers,
        }
    }
}

/// Counts one webhook answer of `messenger` (e.g. `telegram`) with `status`.
pub fn webhook_answered(messenger: &str, status: u16) {
    FAMILIES
        .webhooks
        .with_label_values(&[messenger, &status.to_string()])
        .inc();
}

/// What became of one publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishResult {
    /// The stream stored it.
    Stored,
    /// The stream had it already (same id inside the duplicate window).
    Duplicate,
    /// Sent without waiting; the caller awaits the acknowledgement.
    Sent,
    /// It was not stored.
    Failed,
}

impl PublishResult {
    fn label(self) -> &'static str {
        match self {
            Self::Stored => "stored",
            Self::Duplicate => "duplicate",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }
}

/// Counts one publish on `subject`, labelled by the subject's kind: the
/// segment after the stream prefix (`omnibus.conv.cv_1` → `conv`).
pub fn event_published(subject: &str, result: PublishResult) {
    let kind = subject.split('.').nth(1).unwrap_or("");
    FAMILIES
        .events_published
        .with_label_values(&[kind, result.label()])
        .inc();
}

/// Records one provider send of `messenger` that took `elapsed`; `failure`
/// is the provider's error code when the provider did not accept it.
pub fn provider_send(messenger: &str, elapsed: Duration, failure: Option<&str>) {
    let outcome = if failure.is_some() { "failed" } else { "sent" };
    FAMILIES
        .send_seconds
        .with_label_values(&[messenger, outcome])
        .observe(elapsed.as_secs_f64());
    if let Some(code) = failure {
        FAMILIES
            .send_failures
            .with_label_values(&[messenger, code])
            .inc();
    }
}

/// Counts one event `projection` parked because it can never apply.
pub fn projection_parked(projection: &str) {
    FAMILIES
        .projection_parked
        .with_label_values(&[projection])
        .inc();
}

/// Counts one stored message of `messenger` whose `kind` Omnibus cannot
/// show (the caller bounds `kind`).
pub fn ingress_unshown(messenger: &str, kind: &str) {
    FAMILIES
        .ingress_unshown
        .with_label_values(&[messenger, kind])
        .inc();
}

/// The held-messages gauge, for the service that holds messages to set
/// (or increment and decrement).
pub fn held_messages() -> &'static IntGauge {
    &FAMILIES.held_messages
}

/// The armed-timers gauge, for the timers service to set.
pub fn armed_timers() -> &'static IntGauge {
    &FAMILIES.armed_timers
}
