//! The server's configuration, read once from the environment (through a
//! lookup function, so tests never touch the process environment).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use omnibus_bus::BusConfig;
use omnibus_core::sealed::Keyring;
use omnibus_core::secret::url_for_logs;
use omnibus_egress::{AllowList, AllowListError};
use omnibus_telemetry::TelemetryConfig;

use crate::listener::ListenerConfig;

mod media;

pub use media::{
    ENV_MEDIA_CACHE_SECONDS, ENV_MEDIA_MAX_BYTES, ENV_MEDIA_RETENTION_DAYS, MediaSettings,
};

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
/// `OMNIBUS_OUTBOUND_ALLOW`: internal hosts and networks (comma-separated,
/// e.g. `127.0.0.1/32`) that outbound calls may reach; every other
/// loopback, link-local, private or unique-local address is refused.
pub const ENV_OUTBOUND_ALLOW: &str = "OMNIBUS_OUTBOUND_ALLOW";
/// Instagram messaging (Graph API) base URL.
pub const ENV_INSTAGRAM_API_BASE: &str = "OMNIBUS_INSTAGRAM_API_BASE";
/// Wazzup public API v3 base URL.
pub const ENV_WAZZUP_API_BASE: &str = "OMNIBUS_WAZZUP_API_BASE";
/// `OMNIBUS_WHATSAPP_API_BASE`: the Graph API (the version is the client's).
pub const ENV_WHATSAPP_API_BASE: &str = "OMNIBUS_WHATSAPP_API_BASE";
/// `OMNIBUS_HTTP_MAX_CONNECTIONS`: open connections the HTTP listener
/// accepts at once (default 4096).
pub const ENV_HTTP_MAX_CONNECTIONS: &str = "OMNIBUS_HTTP_MAX_CONNECTIONS";
/// `OMNIBUS_HTTP_HEADER_TIMEOUT_SECONDS`: time to send complete request
/// headers (default 10).
pub const ENV_HTTP_HEADER_TIMEOUT: &str = "OMNIBUS_HTTP_HEADER_TIMEOUT_SECONDS";
/// `OMNIBUS_HTTP_BODY_TIMEOUT_SECONDS`: time to send a request body after
/// its headers (default 30).
pub const ENV_HTTP_BODY_TIMEOUT: &str = "OMNIBUS_HTTP_BODY_TIMEOUT_SECONDS";
/// `OMNIBUS_HTTP_IDLE_TIMEOUT_SECONDS`: how long an idle keep-alive
/// connection stays open (default 60).
pub const ENV_HTTP_IDLE_TIMEOUT: &str = "OMNIBUS_HTTP_IDLE_TIMEOUT_SECONDS";
/// The shortest `OMNIBUS_API_TOKEN` accepted: shorter ones are guessable
/// (and usually placeholders such as `change-me`).
pub const MIN_API_TOKEN_LEN: usize = 16;
/// `OMNIBUS_VIBER_API_BASE`.
pub const ENV_VIBER_API_BASE: &str = "OMNIBUS_VIBER_API_BASE";
/// `OMNIBUS_VK_API_BASE`.
pub const ENV_VK_API_BASE: &str = "OMNIBUS_VK_API_BASE";
/// `OMNIBUS_SHUTDOWN_GRACE_SECONDS`: how long in-flight work may take at shutdown.
pub const ENV_SHUTDOWN_GRACE: &str = "OMNIBUS_SHUTDOWN_GRACE_SECONDS";
/// `OMNIBUS_WINDOW_HOLD_SECONDS`: how long a message held outside the 24-hour
/// window waits for the customer to answer before it fails (default 7 days).
pub const ENV_WINDOW_HOLD: &str = "OMNIBUS_WINDOW_HOLD_SECONDS";

/// `OMNIBUS_DEFAULT_REGION`: where phones without a country code are read.
pub const ENV_DEFAULT_REGION: &str = "OMNIBUS_DEFAULT_REGION";
/// `OMNIBUS_CREDENTIALS_KEY`: `<key id>:<32 bytes, base64>`, several
/// separated by commas; the first seals credentials, all of them open.
pub const ENV_CREDENTIALS_KEY: &str = "OMNIBUS_CREDENTIALS_KEY";
/// `OMNIBUS_NATS_CREDS`: a NATS credentials file (user JWT and NKey seed).
pub const ENV_NATS_CREDS: &str = "OMNIBUS_NATS_CREDS";
/// `OMNIBUS_NATS_CA`: the CA bundle (PEM) of the NATS server; set, TLS is required.
pub const ENV_NATS_CA: &str = "OMNIBUS_NATS_CA";
/// `OMNIBUS_CONSOLE`: the operator console at `/console/` (`on` for `serve
/// all` and `serve console`, `off` for single services).
pub const ENV_CONSOLE: &str = "OMNIBUS_CONSOLE";
/// `OMNIBUS_CONSOLE_GRPC_URL`: where the console finds the gRPC API (default:
/// this process's own gRPC listener; set it for `serve console`).
pub const ENV_CONSOLE_GRPC_URL: &str = "OMNIBUS_CONSOLE_GRPC_URL";

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
    /// Instagram webhooks (Direct and comments) and outbound delivery.
    IngressInstagram,
    /// Wazzup webhooks (one account, several channels) and outbound delivery.
    IngressWazzup,
    /// Viber bot callbacks and outbound delivery.
    IngressViber,
    /// VK Callback API notifications and outbound delivery.
    IngressVk,
    /// Operators' live notifications and outbound webhooks.
    Notifications,
    /// Inactivity close, closing messages, auto-replies and off-hours replies.
    Timers,
    /// Assigns new and reopened conversations by their channel's routing.
    Routing,
    /// The 24-hour window of WhatsApp and Instagram, held messages and templates.
    Window,
    /// Only the operator console, a client of the API at `OMNIBUS_CONSOLE_GRPC_URL`.
    Console,
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

/// Everything the server needs, validated. Its `Debug` hides the API token
/// and the passwords of the NATS and database URLs.
#[derive(Clone)]
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
    /// Timeouts and the connection cap of the HTTP listener.
    pub http: ListenerConfig,
    /// Required on every gRPC call when set. Never logged.
    pub api_token: Option<String>,
    /// Public base URL of the webhooks, for registering them with providers.
    pub public_url: Option<String>,
    /// Telegram Bot API base URL.
    pub telegram_api_base: String,
    /// WhatsApp Cloud API (Graph) base URL.
    pub whatsapp_api_base: String,
    /// Internal addresses outbound calls may reach (`OMNIBUS_OUTBOUND_ALLOW`).
    pub outbound_allow: AllowList,
    /// Instagram messaging (Graph API) base URL.
    pub instagram_api_base: String,
    /// Wazzup public API v3 base URL.
    pub wazzup_api_base: String,
    /// Viber REST bot API base URL.
    pub viber_api_base: String,
    /// VK API base URL.
    pub vk_api_base: String,
    /// How long shutdown waits for in-flight work.
    pub shutdown_grace: Duration,
    /// How long a held message waits for the customer (window service).
    pub window_hold: Duration,
    /// Whether `/console/` is served.
    pub console: bool,
    /// The console's gRPC API; `None`: this process's own listener.
    pub console_grpc_url: Option<String>,
    /// Logs and traces.
    pub telemetry: TelemetryConfig,
    /// Region of phone numbers written without a country code.
    pub default_region: omnibus_conversations::contacts::phone::Region,
    /// `GET /media`: the size cap and how long files are kept.
    pub media: MediaSettings,
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
            credentials_file: get(ENV_NATS_CREDS).map(PathBuf::from),
            ca_file: get(ENV_NATS_CA).map(PathBuf::from),
            keyring: match get(ENV_CREDENTIALS_KEY) {
                None => Keyring::default(),
                Some(value) => Keyring::parse(&value)
                    .map_err(|e| problem(ENV_CREDENTIALS_KEY, e.to_string()))?,
            },
            ..BusConfig::default()
        };
        Ok(Self {
            service,
            bus,
            database_url: or(ENV_DATABASE_URL, "sqlite://./data/omnibus.db"),
            http_addr: address(&or(ENV_HTTP_ADDR, "0.0.0.0:8080"), ENV_HTTP_ADDR)?,
            grpc_addr: address(&or(ENV_GRPC_ADDR, "0.0.0.0:50051"), ENV_GRPC_ADDR)?,
            http: listener(&get)?,
            api_token: api_token(get(ENV_API_TOKEN))?,
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
            outbound_allow: or(ENV_OUTBOUND_ALLOW, "")
                .parse()
                .map_err(|err: AllowListError| problem(ENV_OUTBOUND_ALLOW, err.to_string()))?,
            instagram_api_base: or(ENV_INSTAGRAM_API_BASE, "https://graph.facebook.com"),
            wazzup_api_base: or(ENV_WAZZUP_API_BASE, "https://api.wazzup24.com"),
            viber_api_base: or(ENV_VIBER_API_BASE, "https://chatapi.viber.com"),
            vk_api_base: or(ENV_VK_API_BASE, "https://api.vk.com"),
            shutdown_grace: Duration::from_secs(number(&get, ENV_SHUTDOWN_GRACE, 20)?),
            window_hold: window_hold(&get)?,
            default_region: omnibus_conversations::contacts::phone::Region::parse(&or(
                ENV_DEFAULT_REGION,
                "RU",
            ))
            .map_err(|e| problem(ENV_DEFAULT_REGION, e.to_string()))?,
            console: switch(
                &get,
                ENV_CONSOLE,
                matches!(service, Service::All | Service::Console),
            )?,
            console_grpc_url: get(ENV_CONSOLE_GRPC_URL),
            media: media::media(&get)?,
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

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("service", &self.service)
            .field("nats_url", &url_for_logs(&self.bus.nats_url))
            .field("stream", &self.bus.stream)
            .field("replicas", &self.bus.replicas)
            .field("database_url", &url_for_logs(&self.database_url))
            .field("http_addr", &self.http_addr)
            .field("grpc_addr", &self.grpc_addr)
            .field("http", &self.http)
            .field("api_token", &self.api_token.as_ref().map(|_| "<hidden>"))
            .field("public_url", &self.public_url)
            .field("telegram_api_base", &self.telegram_api_base)
            .field("whatsapp_api_base", &self.whatsapp_api_base)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("window_hold", &self.window_hold)
            .finish_non_exhaustive()
    }
}

fn api_token(token: Option<String>) -> Result<Option<String>, ConfigError> {
    match token {
        Some(token) if token.trim().chars().count() < MIN_API_TOKEN_LEN => Err(problem(
            ENV_API_TOKEN,
            format!(
                "the API token is shorter than {MIN_API_TOKEN_LEN} characters and could be \
                 guessed; set a random one, e.g. `openssl rand -hex 32`, or unset it to run \
                 without authentication"
            ),
        )),
        token => Ok(token.map(|t| t.trim().to_owned())),
    }
}

fn listener(get: &impl Fn(&str) -> Option<String>) -> Result<ListenerConfig, ConfigError> {
    let defaults = ListenerConfig::default();
    let seconds = |variable, default: Duration| -> Result<Duration, ConfigError> {
        match number(get, variable, default.as_secs())? {
            0 => Err(problem(variable, "must be at least 1 second")),
            n => Ok(Duration::from_secs(n)),
        }
    };
    let max_connections = number(get, ENV_HTTP_MAX_CONNECTIONS, defaults.max_connections)?;
    if max_connections == 0 {
        return Err(problem(ENV_HTTP_MAX_CONNECTIONS, "must be at least 1"));
    }
    Ok(ListenerConfig {
        header_timeout: seconds(ENV_HTTP_HEADER_TIMEOUT, defaults.header_timeout)?,
        body_timeout: seconds(ENV_HTTP_BODY_TIMEOUT, defaults.body_timeout)?,
        idle_timeout: seconds(ENV_HTTP_IDLE_TIMEOUT, defaults.idle_timeout)?,
        max_connections,
    })
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

fn switch(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(variable)
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None => Ok(default),
        Some("on" | "true" | "1" | "yes") => Ok(true),
        Some("off" | "false" | "0" | "no") => Ok(false),
        Some(other) => Err(problem(variable, format!("{other:?} is not on or off"))),
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
        assert_eq!(config.default_region, Default::default());
        let err = ServerConfig::with(Service::All, &[(ENV_DEFAULT_REGION, "Narnia")]).unwrap_err();
        assert!(err.to_string().starts_with(ENV_DEFAULT_REGION), "{err}");
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
    fn the_listener_follows_the_contract_and_is_configurable() {
        let config = ServerConfig::with(Service::All, &[]).unwrap();
        assert_eq!(config.http, ListenerConfig::default());
        assert_eq!(config.http.header_timeout, Duration::from_secs(10));
        assert_eq!(config.http.body_timeout, Duration::from_secs(30));
        assert_eq!(config.http.idle_timeout, Duration::from_secs(60));
        assert_eq!(config.http.max_connections, 4096);
        let config = ServerConfig::with(
            Service::All,
            &[
                (ENV_HTTP_MAX_CONNECTIONS, "8"),
                (ENV_HTTP_IDLE_TIMEOUT, "5"),
            ],
        )
        .unwrap();
        assert_eq!(config.http.max_connections, 8);
        assert_eq!(config.http.idle_timeout, Duration::from_secs(5));
        assert!(ServerConfig::with(Service::All, &[(ENV_HTTP_MAX_CONNECTIONS, "0")]).is_err());
    }

    #[test]
    fn short_or_placeholder_api_tokens_are_refused() {
        for token in ["change-me", "t0ken", "123456789012345"] {
            let err = ServerConfig::with(Service::All, &[(ENV_API_TOKEN, token)]).unwrap_err();
            let text = err.to_string();
            assert!(text.starts_with("OMNIBUS_API_TOKEN"), "{text}");
            assert!(text.contains("16 characters"), "{text}");
            assert!(!text.contains(token), "the token is not echoed: {text}");
        }
        let token = "0123456789abcdef";
        let config = ServerConfig::with(Service::All, &[(ENV_API_TOKEN, token)]).unwrap();
        assert_eq!(config.api_token.as_deref(), Some(token));
    }

    #[test]
    fn debug_hides_the_token_and_url_passwords() {
        let config = ServerConfig::with(
            Service::All,
            &[
                (ENV_API_TOKEN, "a-very-secret-api-token"),
                (ENV_NATS_URL, "nats://omnibus:nats-pass@nats:4222"),
                (ENV_DATABASE_URL, "postgres://app:db-pass@db:5432/omnibus"),
            ],
        )
        .unwrap();
        let shown = format!("{config:?}");
        for secret in ["a-very-secret-api-token", "nats-pass", "db-pass"] {
            assert!(!shown.contains(secret), "{secret} shown in {shown}");
        }
        assert!(shown.contains("nats://<hidden>@nats:4222"), "{shown}");
        assert!(shown.contains("api_token: Some(\"<hidden>\")"), "{shown}");
    }

    #[test]
    fn the_credentials_key_and_nats_security_are_read_once() {
        let key = "k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
        let config = ServerConfig::with(
            Service::All,
            &[
                (ENV_CREDENTIALS_KEY, key),
                (ENV_NATS_CREDS, "/etc/nats/omnibus.creds"),
                (ENV_NATS_CA, "/etc/nats/ca.pem"),
            ],
        )
        .unwrap();
        assert_eq!(config.bus.keyring.sealing_key_id(), Some("k1"));
        assert_eq!(
            config.bus.credentials_file.as_deref(),
            Some(std::path::Path::new("/etc/nats/omnibus.creds"))
        );
        assert!(config.bus.ca_file.is_some());
        let unset = ServerConfig::with(Service::All, &[]).unwrap();
        assert!(!unset.bus.keyring.is_enabled());
        let err =
            ServerConfig::with(Service::All, &[(ENV_CREDENTIALS_KEY, "k1:short")]).unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with(ENV_CREDENTIALS_KEY), "{message}");
        assert!(message.contains("32 bytes"), "{message}");
    }

    #[test]
    fn the_console_is_on_for_serve_all_and_off_for_single_services() {
        assert!(ServerConfig::with(Service::All, &[]).unwrap().console);
        assert!(ServerConfig::with(Service::Console, &[]).unwrap().console);
        assert!(
            !ServerConfig::with(Service::Conversations, &[])
                .unwrap()
                .console
        );
        let off = ServerConfig::with(Service::All, &[(ENV_CONSOLE, "off")]).unwrap();
        assert!(!off.console);
        let err = ServerConfig::with(Service::All, &[(ENV_CONSOLE, "maybe")]).unwrap_err();
        assert!(err.to_string().starts_with(ENV_CONSOLE), "{err}");
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
