//! W3C trace context (`traceparent`, `tracestate`) over NATS headers and gRPC
//! metadata.
//!
//! The wire format is part of our contract with other services, so these
//! functions use [`TraceContextPropagator`] directly rather than whatever
//! global propagator happens to be installed: a test or tool that never called
//! [`crate::init`] still reads and writes the same headers.

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tonic::metadata::{KeyRef, MetadataKey, MetadataMap, MetadataValue};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Writes the current tracing span's context into NATS message headers.
///
/// Does nothing when there is no active trace (no span, or no OpenTelemetry
/// layer installed), so publishing never fails because of telemetry.
pub fn inject_nats(headers: &mut async_nats::HeaderMap) {
    let cx = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&cx, &mut NatsInjector(headers));
}

/// Reads a trace context from NATS message headers; empty when absent.
pub fn extract_nats(headers: Option<&async_nats::HeaderMap>) -> Context {
    match headers {
        Some(headers) => TraceContextPropagator::new().extract(&NatsExtractor(headers)),
        None => Context::new(),
    }
}

/// Makes `span` a child of the trace carried in NATS headers, if any.
///
/// Call it right after creating the consumer's span and before entering it.
/// A message without a valid `traceparent` leaves the span a new root.
pub fn set_parent_from_nats(span: &tracing::Span, headers: Option<&async_nats::HeaderMap>) {
    set_parent(span, extract_nats(headers));
}

/// Writes the current tracing span's context into outgoing gRPC metadata
/// (for a client interceptor).
pub fn inject_tonic(meta: &mut MetadataMap) {
    let cx = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&cx, &mut TonicInjector(meta));
}

/// Reads a trace context from incoming gRPC metadata; empty when absent.
pub fn extract_tonic(meta: &MetadataMap) -> Context {
    TraceContextPropagator::new().extract(&TonicExtractor(meta))
}

/// Makes `span` a child of the trace carried in gRPC metadata, if any.
pub fn set_parent_from_tonic(span: &tracing::Span, meta: &MetadataMap) {
    set_parent(span, extract_tonic(meta));
}

fn set_parent(span: &tracing::Span, cx: Context) {
    if !cx.span().span_context().is_valid() {
        return;
    }
    // Fails only when the span is disabled, already started, or no
    // OpenTelemetry layer is installed; none of those is worth surfacing.
    let _ = span.set_parent(cx);
}

// === impl NatsInjector / NatsExtractor ===

struct NatsInjector<'a>(&'a mut async_nats::HeaderMap);

impl Injector for NatsInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // Parsing (not `insert(&str, String)`, which panics) keeps a malformed
        // upstream `tracestate` from crashing a publisher.
        let (Ok(name), Ok(value)) = (
            key.parse::<async_nats::HeaderName>(),
            value.parse::<async_nats::HeaderValue>(),
        ) else {
            return;
        };
        self.0.insert(name, value);
    }
}

struct NatsExtractor<'a>(&'a async_nats::HeaderMap);

impl Extractor for NatsExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        let name = key.parse::<async_nats::HeaderName>().ok()?;
        self.0.get(name).map(|v| v.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_ref()).collect()
    }
}

// === impl TonicInjector / TonicExtractor ===

struct TonicInjector<'a>(&'a mut MetadataMap);

impl Injector for TonicInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        let (Ok(key), Ok(value)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            MetadataValue::try_from(value.as_str()),
        ) else {
            return;
        };
        self.0.insert(key, value);
    }
}

struct TonicExtractor<'a>(&'a MetadataMap);

impl Extractor for TonicExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .map(|k| match k {
                KeyRef::Ascii(k) => k.as_str(),
                KeyRef::Binary(k) => k.as_str(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt as _;

    /// Runs `f` under a scoped subscriber with an SDK-backed OpenTelemetry layer.
    fn with_otel(f: impl FnOnce()) {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, f);
    }

    fn trace_id(span: &tracing::Span) -> opentelemetry::trace::TraceId {
        span.context().span().span_context().trace_id()
    }

    #[test]
    fn nats_roundtrip_keeps_the_trace_id() {
        with_otel(|| {
            let producer = tracing::info_span!("publish");
            let mut headers = async_nats::HeaderMap::new();
            producer.in_scope(|| inject_nats(&mut headers));
            assert!(headers.get("traceparent").is_some(), "traceparent injected");

            let consumer = tracing::info_span!("consume");
            set_parent_from_nats(&consumer, Some(&headers));
            assert_ne!(trace_id(&producer), opentelemetry::trace::TraceId::INVALID);
            assert_eq!(trace_id(&consumer), trace_id(&producer));
        });
    }

    #[test]
    fn tonic_roundtrip_keeps_the_trace_id() {
        with_otel(|| {
            let client = tracing::info_span!("call");
            let mut meta = MetadataMap::new();
            client.in_scope(|| inject_tonic(&mut meta));

            let extracted = extract_tonic(&meta);
            assert_eq!(
                extracted.span().span_context().trace_id(),
                trace_id(&client)
            );
            let server = tracing::info_span!("handle");
            set_parent_from_tonic(&server, &meta);
            assert_eq!(trace_id(&server), trace_id(&client));
        });
    }

    #[test]
    fn missing_headers_leave_a_new_root() {
        with_otel(|| {
            let span = tracing::info_span!("consume");
            set_parent_from_nats(&span, None);
            set_parent_from_nats(&span, Some(&async_nats::HeaderMap::new()));
            assert!(!extract_nats(None).span().span_context().is_valid());
        });
    }

    #[test]
    fn inject_without_a_span_writes_nothing() {
        let mut headers = async_nats::HeaderMap::new();
        inject_nats(&mut headers);
        assert!(headers.is_empty());
    }
}
