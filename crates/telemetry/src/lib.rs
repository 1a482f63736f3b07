//! Tracing setup (text or JSON logs, optional OTLP) and W3C trace-context propagation over NATS headers
