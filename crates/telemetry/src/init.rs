//! The subscriber stack: filter, fmt (text or JSON), OpenTelemetry layer.

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::config::{LogFormat, TelemetryConfig};

/// How long [`TelemetryGuard::shutdown`] waits for the last spans to be exported;
/// a collector that is down must not hold up process exit.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// `RUST_LOG` or the default filter is not valid `EnvFilter` syntax.
    #[error("invalid log filter {filter:?}: {source}")]
    InvalidFilter {
        filter: String,
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// The OTLP exporter could not be built from the endpoint.
    #[error("cannot build the otlp exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// The tonic exporter spawns its connection task on the current runtime.
    #[error("otlp export needs a tokio runtime: call init from inside one")]
    NoRuntime,
    /// Another global subscriber was installed first.
    #[error("a global tracing subscriber is already installed: {0}")]
    AlreadyInitialized(#[from] tracing_subscriber::util::TryInitError),
}

/// Keeps the tracer provider alive; call [`TelemetryGuard::shutdown`] on exit
/// so spans still buffered in the batch processor are exported.
#[must_use = "dropping the guard early flushes and stops trace export"]
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Flushes and stops the tracer provider, waiting at most a few seconds.
    ///
    /// Blocks the calling thread; on a current-thread runtime call it after
    /// the runtime's work is done (the end of `main`).
    pub fn shutdown(mut self) {
        self.flush();
    }

    fn flush(&mut self) {
        let Some(provider) = self.provider.take() else {
            return;
        };
        if let Err(error) = provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT) {
            tracing::warn!(%error, "tracer provider shutdown failed, some spans may be lost");
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Installs the global subscriber: an `EnvFilter` (from `RUST_LOG`, else
/// `cfg.default_filter`), a fmt layer in `cfg.log_format`, and an
/// OpenTelemetry layer; sets the W3C `TraceContextPropagator` globally.
///
/// The OpenTelemetry layer is always installed so spans carry trace ids that
/// propagate over NATS and gRPC even without a collector; spans are exported
/// (OTLP/gRPC, batched) only when `cfg.otlp_endpoint` is set, which requires
/// being called inside a tokio runtime.
pub fn init(cfg: &TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    let filter = env_filter(&cfg.default_filter)?;
    let provider = tracer_provider(cfg)?;
    let tracer = provider.tracer(cfg.service_name.clone());
    let fmt = match cfg.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer().boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    };
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    // The log filter applies to log output only: spans still reach the
    // OpenTelemetry layer, so traces cross services whatever RUST_LOG says.
    tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_filter(LevelFilter::INFO),
        )
        .try_init()?;
    Ok(TelemetryGuard {
        provider: Some(provider),
    })
}

/// Installs a test-friendly subscriber once per test binary: output goes
/// through the test harness capture, filtered by `RUST_LOG` else `warn`.
/// Later calls (and calls after another subscriber was set) do nothing.
///
/// Spans carry trace ids (an OpenTelemetry layer with a non-exporting
/// provider), so tests exercise trace propagation as production does.
pub fn init_for_tests() {
    static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();
    let provider = PROVIDER.get_or_init(|| SdkTracerProvider::builder().build());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let fmt = tracing_subscriber::fmt::layer().with_test_writer();
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("omnibus-tests"));
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(otel.with_filter(LevelFilter::INFO))
        .try_init();
}

/// Builds the filter from `RUST_LOG` when set, else from `default`. An invalid
/// `RUST_LOG` is an error rather than silently ignored.
fn env_filter(default: &str) -> Result<EnvFilter, TelemetryError> {
    let filter = match std::env::var(EnvFilter::DEFAULT_ENV) {
        Ok(value) if !value.trim().is_empty() => value,
        _ => default.to_owned(),
    };
    EnvFilter::try_new(&filter).map_err(|source| TelemetryError::InvalidFilter { filter, source })
}

fn tracer_provider(cfg: &TelemetryConfig) -> Result<SdkTracerProvider, TelemetryError> {
    let resource = Resource::builder()
        .with_service_name(cfg.service_name.clone())
        .build();
    let builder = SdkTracerProvider::builder().with_resource(resource);
    let Some(endpoint) = &cfg.otlp_endpoint else {
        return Ok(builder.build());
    };
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(TelemetryError::NoRuntime);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint.clone())
        .build()?;
    Ok(builder.with_batch_exporter(exporter).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_default_filter_is_reported() {
        // Only meaningful when RUST_LOG does not override the default.
        if std::env::var_os(EnvFilter::DEFAULT_ENV).is_some() {
            return;
        }
        let err = env_filter("info,[=").expect_err("filter must be rejected");
        assert!(matches!(err, TelemetryError::InvalidFilter { .. }));
    }

    #[test]
    fn provider_without_endpoint_needs_no_runtime() {
        let provider = tracer_provider(&TelemetryConfig::new("svc")).expect("provider");
        provider.shutdown().expect("shutdown");
    }

    #[tokio::test]
    async fn provider_with_endpoint_builds_lazily() {
        let mut cfg = TelemetryConfig::new("svc");
        cfg.otlp_endpoint = Some("http://127.0.0.1:1".to_owned());
        let guard = TelemetryGuard {
            provider: Some(tracer_provider(&cfg).expect("provider")),
        };
        guard.shutdown();
    }

    #[test]
    fn provider_with_endpoint_outside_runtime_is_an_error() {
        let mut cfg = TelemetryConfig::new("svc");
        cfg.otlp_endpoint = Some("http://127.0.0.1:1".to_owned());
        assert!(matches!(
            tracer_provider(&cfg),
            Err(TelemetryError::NoRuntime)
        ));
    }
}
