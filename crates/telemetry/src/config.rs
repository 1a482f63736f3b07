//! Telemetry configuration, read through a lookup function so tests never
//! touch the process environment.

use std::fmt;
use std::str::FromStr;

/// Selects the log line format: `text` or `json`.
pub const ENV_LOG_FORMAT: &str = "OMNIBUS_LOG_FORMAT";
/// The standard OpenTelemetry variable; OTLP export is on only when it is set.
pub const ENV_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// How log lines are written to stdout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    #[default]
    Text,
    /// One JSON object per line, for log collectors (Kubernetes).
    Json,
}

/// The value of [`ENV_LOG_FORMAT`] is neither `text` nor `json`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown log format {0:?}, expected \"text\" or \"json\"")]
pub struct ParseLogFormatError(String);

impl FromStr for LogFormat {
    type Err = ParseLogFormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err(ParseLogFormatError(s.to_owned())),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Text => "text",
            Self::Json => "json",
        })
    }
}

/// Everything [`crate::init`] needs to build the subscriber stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelemetryConfig {
    /// Reported as the OpenTelemetry `service.name` resource and tracer name.
    pub service_name: String,
    /// Text for terminals, JSON for log collectors.
    pub log_format: LogFormat,
    /// OTLP/gRPC collector address; `None` keeps tests and CI from exporting.
    pub otlp_endpoint: Option<String>,
    /// Filter used when `RUST_LOG` is unset, in `EnvFilter` syntax.
    pub default_filter: String,
}

impl TelemetryConfig {
    /// Returns a config for `service_name` with text logs, no export and an
    /// `info` filter.
    pub fn new(service_name: &str) -> Self {
        Self {
            service_name: service_name.to_owned(),
            log_format: LogFormat::Text,
            otlp_endpoint: None,
            default_filter: "info".to_owned(),
        }
    }

    /// Reads [`ENV_LOG_FORMAT`] and [`ENV_OTLP_ENDPOINT`] through `lookup`.
    ///
    /// An unknown log format falls back to text rather than failing: logging
    /// must come up even when misconfigured, so the mistake can be reported.
    /// A blank endpoint counts as unset.
    pub fn from_lookup(service_name: &str, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let log_format = lookup(ENV_LOG_FORMAT)
            .and_then(|v| v.parse().ok())
            .unwrap_or_default();
        let otlp_endpoint = lookup(ENV_OTLP_ENDPOINT)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        Self {
            log_format,
            otlp_endpoint,
            ..Self::new(service_name)
        }
    }

    /// Reads the process environment; see [`TelemetryConfig::from_lookup`].
    pub fn from_env(service_name: &str) -> Self {
        Self::from_lookup(service_name, |k| std::env::var(k).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let cfg = TelemetryConfig::from_lookup("svc", lookup(&[]));
        assert_eq!(cfg, TelemetryConfig::new("svc"));
        assert_eq!(cfg.default_filter, "info");
    }

    #[test]
    fn reads_format_and_endpoint() {
        let cfg = TelemetryConfig::from_lookup(
            "svc",
            lookup(&[
                (ENV_LOG_FORMAT, "JSON"),
                (ENV_OTLP_ENDPOINT, "http://collector:4317"),
            ]),
        );
        assert_eq!(cfg.log_format, LogFormat::Json);
        assert_eq!(cfg.otlp_endpoint.as_deref(), Some("http://collector:4317"));
    }

    #[test]
    fn blank_endpoint_and_unknown_format_fall_back() {
        let cfg = TelemetryConfig::from_lookup(
            "svc",
            lookup(&[(ENV_LOG_FORMAT, "yaml"), (ENV_OTLP_ENDPOINT, "  ")]),
        );
        assert_eq!(cfg.log_format, LogFormat::Text);
        assert_eq!(cfg.otlp_endpoint, None);
        assert!("yaml".parse::<LogFormat>().is_err());
    }
}
