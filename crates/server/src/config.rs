//! The server's configuration, read once from the environment (through a
//! lookup function, so tests never touch the process environment).

use std::net::SocketAddr;
use std::time::Duration;

use omnibus_bus::BusConfig;
use omnibus_telemetry::TelemetryConfig;

/// `OMNIBUS_NATS_URL`.
pub const ENV_NATS_URL: &str = "OMNIBUS_NATS_URL";
/// `OMNIBUS_STREAM`.
pub const ENV_STREAM: &str = "OMNIBUS_STREAM";
/// `OMNIBUS_STREAM_REPLICAS`: 1 on one machine, 3 in a JetStream cluster.
pub const ENV_STREAM_REPLICAS: &str = "OMNIBUS_STREAM_REPLICAS";
/// `OMNIBUS_DUPLICATE_WINDOW_SECONDS`: how long JetStream drops repeated ids.
pub const ENV_DUPLICATE_WINDOW: &str = "OMNIBUS_DUPLICATE_WINDOW_SECONDS";
/// `OMNIBUS_DATABASE_URL`.
pub const ENV_DATABASE_URL: &str = "OMNIBUS_DATABASE_URL";
/// `OMNIBUS_HTTP_ADDR`.
pub const ENV_HTTP_ADDR: &str = "OMNIBUS_HTTP_ADDR";
/// `OMNIBUS_GRPC_ADDR`.
pub const ENV_GRPC_ADDR: &str = "OMNIBUS_GRPC_ADDR";
/// `OMNIBUS_PUBLIC_URL`.
pub const ENV_PUBLIC_URL: &str = "OMNIBUS_PUBLIC_URL";
/// `OMNIBUS_API_TOKEN`.
pub const ENV_API_TOKEN: &str = "OMNIBUS_API_TOKEN";
/// `OMNIBUS_TELEGRAM_API_BASE`.
pub const ENV_TELEGRAM_API_BASE: &str = "OMNIBUS_TELEGRAM_API_BASE";
/// `OMNIBUS_WHATSAPP_API_BASE`: the Graph API (the version is the client's).
pub const ENV_WHATSAPP_API_BASE: &str = "OMNIBUS_WHATSAPP_API_BASE";
/// `OMNIBUS_VIBER_API_BASE`.
pub const ENV_VIBER_API_BASE: &str = "OMNIBUS_VIBER_API_BASE";
/// `OMNIBUS_VK_API_BASE`.
pub const ENV_VK_API_BASE: &str = "OMNIBUS_VK_API_BASE";
/// `OMNIBUS_SHUTDOWN_GRACE_SECONDS`: how long in-flight work may take at shutdown.
pub const ENV_SHUTDOWN_GRACE: &str = "OMNIBUS_SHUTDOWN_GRACE_SECONDS";
/// `OMNIBUS_WINDOW_HOLD_SECONDS`: how long a message held outside the 24-hour
/// window waits for the customer to answer before it fails (default 7 days).
pub const ENV_WINDOW_HOLD: &str = "OMNIBUS_WINDOW_HOLD_SECONDS";

/// A service the process can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Service {
    /// Every service below.
    All,
    /// Channels, conversations, contacts, messages and their gRPC API.
    Conversations,
    /// Telegram webhooks and outbound delivery.
    IngressTelegram,
    /// WhatsApp Cloud API webhooks, outbound delivery and template fetches.
    IngressWhatsapp,
    /// Viber bot callbacks and outbound delivery.
    IngressViber,
    /// VK Callback API notifications and outbound delivery.
    IngressVk,
    /// Operators' live notifications and outbound webhooks.
    Notifications,
    /// Inactivity close, closing messages, auto-replies and off-hours replies.
    Timers,
    /// The 24-hour window of WhatsApp and Instagram, held messages and templates.
    Window,
}

impl Service {
    /// `omnibus` for `serve all`, else `omnibus-<service>`
    /// (`omnibus-ingress-telegram`): the OpenTelemetry `service.name` and the
    /// NATS connection name.
    pub fn process_name(self) -> String {
        use clap::ValueEnum as _;
        match (self, self.to_possible_value()) {
            (Service::All, _) | (_, None) => "omnibus".to_owned(),
            (_, Some(value)) => format!("omnibus-{}", value.get_name()),
        }
    }
}

impl Service {
    /// True when a process started for `self` runs `service`.
    pub fn includes(self, service: Service) -> bool {
        self == Service::All || self == service
    }

    /// True when the process keeps a projection store.
    pub fn needs_store(self) -> bool {
        self.includes(Service::Conversations)
            || self.includes(Service::Timers)
            || self.includes(Service::Notifications)
            || self.includes(Service::Window)
    }
}

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    variable: &'static str,
    problem: String,
}

/// Everything the server needs, validated.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// What this process runs.
    pub service: Service,
    /// The event stream.
    pub bus: BusConfig,
    /// The projection store.
    pub database_url: String,
    /// Where webhooks and health endpoints listen (bound by `main`).
    pub http_addr: SocketAddr,
    /// Where the gRPC API listens (bound by `main`).
    pub grpc_addr: SocketAddr,
    /// Required on every gRPC call when set. Never logged.
    pub api_token: Option<String>,
    /// Public base URL of the webhooks, for registering them with providers.
    pub public_url: Option<String>,
    /// Telegram Bot API base URL.
    pub telegram_api_base: String,
    /// WhatsApp Cloud API (Graph) base URL.
    pub whatsapp_api_base: String,
    /// Viber REST bot API base URL.
    pub viber_api_base: String,
    /// VK API base URL.
    pub vk_api_base: String,
    /// How long shutdown waits for in-flight work.
    pub shutdown_grace: Duration,
    /// How long a held message waits for the customer (window service).
    pub window_hold: Duration,
    /// Logs and traces.
    pub telemetry: TelemetryConfig,
}

impl ServerConfig {
    /// Reads the configuration through `lookup` (the environment in `main`).
    pub fn from_lookup(
        service: Service,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let or = |name: &str, default: &str| get(name).unwrap_or_else(|| default.to_owned());
        let stream = or(ENV_STREAM, "OMNIBUS");
        if stream.is_empty()
            || !stream
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(problem(ENV_STREAM, "use letters, digits, _ or - only"));
        }
        let bus = BusConfig {
            nats_url: or(ENV_NATS_URL, "nats://127.0.0.1:4222"),
            stream,
            replicas: number(&get, ENV_STREAM_REPLICAS, 1)?,
            duplicate_window: Duration::from_secs(number(&get, ENV_DUPLICATE_WINDOW, 600)?),
            connection_name: service.process_name(),
            ..BusConfig::default()
        };
        Ok(Self {
            service,
            bus,
            database_url: or(ENV_DATABASE_URL, "sqlite://./data/omnibus.db"),
            http_addr: address(&or(ENV_HTTP_ADDR, "0.0.0.0:8080"), ENV_HTTP_ADDR)?,
            grpc_addr: address(&or(ENV_GRPC_ADDR, "0.0.0.0:50051"), ENV_GRPC_ADDR)?,
            api_token: get(ENV_API_TOKEN),
            public_url: match get(ENV_PUBLIC_URL) {
                Some(url) if !url.starts_with("https://") && !url.starts_with("http://") => {
                    return Err(problem(
                        ENV_PUBLIC_URL,
                        "must start with https:// (or http://)",
                    ));
                }
                url => url,
            },
            telegram_api_base: or(ENV_TELEGRAM_API_BASE, "https://api.telegram.org"),
            whatsapp_api_base: or(ENV_WHATSAPP_API_BASE, "https://graph.facebook.com"),
            viber_api_base: or(ENV_VIBER_API_BASE, "https://chatapi.viber.com"),
            vk_api_base: or(ENV_VK_API_BASE, "https://api.vk.com"),
            shutdown_grace: Duration::from_secs(number(&get, ENV_SHUTDOWN_GRACE, 20)?),
            window_hold: window_hold(&get)?,
            // Traces name the service, so one trace shows which process
            // (ingress, conversations, …) each span ran in.
            telemetry: TelemetryConfig::from_lookup(&service.process_name(), &lookup),
        })
    }

    /// A configuration for tests and tools: defaults, then `overrides`.
    pub fn with(service: Service, overrides: &[(&str, &str)]) -> Result<Self, ConfigError> {
        Self::from_lookup(service, |name| {
            overrides
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }
}

fn problem(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

fn number<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match get(variable) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse()
            .map_err(|_| problem(variable, format!("{value:?} is not a whole number"))),
    }
}

fn window_hold(get: &impl Fn(&str) -> Option<String>) -> Result<Duration, ConfigError> {
    let seconds = number(get, ENV_WINDOW_HOLD, 7 * 24 * 3600u64)?;
    if seconds == 0 {
        return Err(problem(
            ENV_WINDOW_HOLD,
            "must be at least 1 second; held messages need time for the customer to answer",
        ));
    }
    Ok(Duration::from_secs(seconds))
}

fn address(value: &str, variable: &'static str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| {
        problem(
            variable,
            format!("{value:?} is not an address like 0.0.0.0:8080"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_contract() {
        let config = ServerConfig::with(Service::All, &[]).unwrap();
        assert_eq!(config.bus.nats_url, "nats://127.0.0.1:4222");
        assert_eq!(config.bus.stream, "OMNIBUS");
        assert_eq!(config.database_url, "sqlite://./data/omnibus.db");
        assert_eq!(config.http_addr.to_string(), "0.0.0.0:8080");
        assert_eq!(config.grpc_addr.to_string(), "0.0.0.0:50051");
        assert_eq!(config.telegram_api_base, "https://api.telegram.org");
        assert_eq!(config.whatsapp_api_base, "https://graph.facebook.com");
        assert!(config.api_token.is_none() && config.public_url.is_none());
        assert_eq!(config.window_hold, Duration::from_secs(7 * 24 * 3600));
    }

    #[test]
    fn the_hold_time_is_configurable_but_not_zero() {
        let config = ServerConfig::with(Service::Window, &[(ENV_WINDOW_HOLD, "60")]).unwrap();
        assert_eq!(config.window_hold, Duration::from_secs(60));
        assert!(config.service.needs_store());
        let err = ServerConfig::with(Service::All, &[(ENV_WINDOW_HOLD, "0")]).unwrap_err();
        assert!(err.to_string().starts_with(ENV_WINDOW_HOLD), "{err}");
    }

    #[test]
    fn traces_and_connections_name_the_service() {
        let one = ServerConfig::with(Service::IngressTelegram, &[]).unwrap();
        assert_eq!(one.telemetry.service_name, "omnibus-ingress-telegram");
        assert_eq!(one.bus.connection_name, "omnibus-ingress-telegram");
        let all = ServerConfig::with(Service::All, &[]).unwrap();
        assert_eq!(all.telemetry.service_name, "omnibus");
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = ServerConfig::with(Service::All, &[(ENV_HTTP_ADDR, "nowhere")]).unwrap_err();
        assert!(err.to_string().starts_with("OMNIBUS_HTTP_ADDR"), "{err}");
        let err = ServerConfig::with(Service::All, &[(ENV_STREAM, "a.b")]).unwrap_err();
        assert!(err.to_string().starts_with("OMNIBUS_STREAM"), "{err}");
        let err = ServerConfig::with(Service::All, &[(ENV_PUBLIC_URL, "example.com")]).unwrap_err();
        assert!(err.to_string().contains("https://"), "{err}");
    }
}
