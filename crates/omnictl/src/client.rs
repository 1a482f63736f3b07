//! The gRPC connection: endpoint, bearer-token interceptor, typed clients and
//! page following.

use std::future::Future;
use std::time::Duration;

use omnibus_proto::channel_service_client::ChannelServiceClient;
use omnibus_proto::contact_service_client::ContactServiceClient;
use omnibus_proto::conversation_service_client::ConversationServiceClient;
use omnibus_proto::notification_service_client::NotificationServiceClient;
use omnibus_proto::operator_service_client::OperatorServiceClient;
use omnibus_proto::template_service_client::TemplateServiceClient;
use tonic::Status;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::cli::ApiToken;
use crate::error::{ConnectError, UsageError};

/// How long to wait for the TCP (and HTTP/2) connection to the API.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The most pages `--all` follows, a guard against a server that loops.
const MAX_PAGES: usize = 10_000;

/// A transport channel with the bearer-token interceptor.
pub type Authed = InterceptedService<Channel, BearerAuth>;

pub use omnibus_api::auth::BearerAuth;

/// The interceptor for `--token`; an empty token sends no header.
pub fn bearer(token: Option<&ApiToken>) -> Result<BearerAuth, UsageError> {
    BearerAuth::new(token.map(ApiToken::expose)).map_err(|e| UsageError::new(e.to_string()))
}

/// A connected API: hands out typed clients sharing one HTTP/2 connection.
#[derive(Clone)]
pub struct Api {
    channel: Channel,
    auth: BearerAuth,
}

impl Api {
    /// Connects to `addr` (a missing scheme means `http://`).
    pub async fn connect(addr: &str, token: Option<&ApiToken>) -> anyhow::Result<Self> {
        let auth = bearer(token)?;
        let uri = normalize_addr(addr);
        let endpoint = Endpoint::from_shared(uri.clone())
            .map_err(|e| UsageError::new(format!("invalid --addr {addr:?}: {e}")))?
            .connect_timeout(CONNECT_TIMEOUT);
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| ConnectError::new(&uri, &e))?;
        Ok(Self { channel, auth })
    }

    /// Returns a `ChannelService` client.
    pub fn channels(&self) -> ChannelServiceClient<Authed> {
        ChannelServiceClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }

    /// Returns a `ConversationService` client.
    pub fn conversations(&self) -> ConversationServiceClient<Authed> {
        ConversationServiceClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }

    /// Returns a `ContactService` client.
    pub fn contacts(&self) -> ContactServiceClient<Authed> {
        ContactServiceClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }

    /// Returns a `NotificationService` client (webhooks, deliveries).
    pub fn notifications(&self) -> NotificationServiceClient<Authed> {
        NotificationServiceClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }

    /// Returns an `OperatorService` client.
    pub fn operators(&self) -> OperatorServiceClient<Authed> {
        OperatorServiceClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }

    /// The connection with the bearer token, for generic clients (`call`).
    pub fn authed_channel(&self) -> Authed {
        InterceptedService::new(self.channel.clone(), self.auth.clone())
    }

    /// Returns a `TemplateService` client.
    pub fn templates(&self) -> TemplateServiceClient<Authed> {
        TemplateServiceClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }
}

/// Adds `http://` to an address given as `host:port`.
pub fn normalize_addr(addr: &str) -> String {
    let addr = addr.trim();
    if addr.contains("://") {
        addr.to_owned()
    } else {
        format!("http://{addr}")
    }
}

/// One page of a list: its items and `next_page_token`.
pub type Page<T> = (Vec<T>, String);

/// Fetches the page at `first_token` and, when `all` is set, every page after
/// it. Returns the items and the `next_page_token` still to follow (empty
/// after `--all`).
pub async fn collect_pages<T, F, Fut>(
    first_token: String,
    all: bool,
    mut fetch: F,
) -> Result<Page<T>, Status>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<Page<T>, Status>>,
{
    let (mut items, mut next) = fetch(first_token).await?;
    let mut pages = 1;
    while all && !next.is_empty() {
        if pages >= MAX_PAGES {
            return Err(Status::internal(format!(
                "gave up after {MAX_PAGES} pages; the server keeps returning a next_page_token"
            )));
        }
        let (more, token) = fetch(std::mem::take(&mut next)).await?;
        items.extend(more);
        next = token;
        pages += 1;
    }
    Ok((items, next))
}

/// Turns an optional flag into the proto's "empty means unset" string.
pub fn or_empty(value: Option<String>) -> String {
    value.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Request;
    use tonic::service::Interceptor as _;

    #[test]
    fn interceptor_adds_the_bearer_header() {
        let token: ApiToken = "s3cret".parse().unwrap();
        let mut auth = bearer(Some(&token)).unwrap();
        let request = auth.call(Request::new(())).unwrap();
        let value = request.metadata().get("authorization").unwrap();
        assert_eq!(value.to_str().unwrap(), "Bearer s3cret");
    }

    #[test]
    fn no_or_empty_token_sends_no_header() {
        let empty: ApiToken = "".parse().unwrap();
        for token in [None, Some(&empty)] {
            let mut auth = bearer(token).unwrap();
            let request = auth.call(Request::new(())).unwrap();
            assert!(request.metadata().get("authorization").is_none());
        }
    }

    #[test]
    fn a_token_with_a_newline_is_refused_without_echoing_it() {
        let token: ApiToken = "abc\ndef".parse().unwrap();
        let err = bearer(Some(&token)).err().unwrap();
        assert!(!err.to_string().contains("abc"));
    }

    #[test]
    fn addresses_without_a_scheme_get_http() {
        assert_eq!(normalize_addr("127.0.0.1:50051"), "http://127.0.0.1:50051");
        assert_eq!(
            normalize_addr("https://api.example:443"),
            "https://api.example:443"
        );
    }

    #[tokio::test]
    async fn all_follows_every_page_and_one_page_stops() {
        let pages = |token: String| async move {
            let next = match token.as_str() {
                "" => "p2",
                "p2" => "p3",
                _ => "",
            };
            Ok::<_, Status>((vec![token.clone()], next.to_owned()))
        };
        let (items, next) = collect_pages(String::new(), true, pages).await.unwrap();
        assert_eq!(items, ["", "p2", "p3"]);
        assert_eq!(next, "");

        let (items, next) = collect_pages("p2".to_owned(), false, pages).await.unwrap();
        assert_eq!(items, ["p2"]);
        assert_eq!(next, "p3");
    }
}
