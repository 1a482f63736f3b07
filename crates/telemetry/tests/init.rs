//! `init` installs a process-global subscriber, so it gets its own test binary.

use omnibus_telemetry::{LogFormat, TelemetryConfig, TelemetryError, init};

#[test]
fn init_installs_once_and_then_reports_already_initialized() {
    let mut cfg = TelemetryConfig::new("omnibus-telemetry-test");
    cfg.log_format = LogFormat::Json;
    let guard = init(&cfg).expect("first init succeeds");

    let span = tracing::info_span!("publish");
    let mut headers = async_nats::HeaderMap::new();
    span.in_scope(|| omnibus_telemetry::inject_nats(&mut headers));
    assert!(
        headers.get("traceparent").is_some(),
        "the layer is installed even without an otlp endpoint"
    );

    assert!(matches!(
        init(&cfg),
        Err(TelemetryError::AlreadyInitialized(_))
    ));
    guard.shutdown();
}
