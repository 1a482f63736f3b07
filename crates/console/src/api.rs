//! The console's only way to the data: the public gRPC API, called with the
//! signed-in operator's token, exactly as omnictl or any integration would.

use omnibus_api::auth::BearerAuth;
use omnibus_proto::channel_service_client::ChannelServiceClient;
use omnibus_proto::contact_service_client::ContactServiceClient;
use omnibus_proto::conversation_service_client::ConversationServiceClient;
use omnibus_proto::notification_service_client::NotificationServiceClient;
use omnibus_proto::operator_service_client::OperatorServiceClient;
use omnibus_proto::template_service_client::TemplateServiceClient;
use omnibus_proto::{Channel, ListChannelsRequest, ListOperatorsRequest, Operator};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel as Transport;

use crate::error::PageError;
use crate::session::Session;

/// A transport with the operator's bearer token.
pub type Authed = InterceptedService<Transport, BearerAuth>;

/// Typed clients for one request, sharing the process's HTTP/2 connection.
#[derive(Clone)]
pub struct Api {
    transport: Transport,
    auth: BearerAuth,
}

impl Api {
    /// Clients that carry `token` (empty: none).
    pub fn new(transport: Transport, token: &str) -> Result<Self, PageError> {
        let auth = BearerAuth::new(Some(token)).map_err(|e| PageError::Invalid(e.to_string()))?;
        Ok(Self { transport, auth })
    }

    /// Clients acting for `session`.
    pub fn of(transport: Transport, session: &Session) -> Result<Self, PageError> {
        Self::new(transport, &session.token)
    }

    /// `ConversationService`.
    pub fn conversations(&self) -> ConversationServiceClient<Authed> {
        ConversationServiceClient::with_interceptor(self.transport.clone(), self.auth.clone())
    }

    /// `ContactService`.
    pub fn contacts(&self) -> ContactServiceClient<Authed> {
        ContactServiceClient::with_interceptor(self.transport.clone(), self.auth.clone())
    }

    /// `ChannelService`.
    pub fn channels(&self) -> ChannelServiceClient<Authed> {
        ChannelServiceClient::with_interceptor(self.transport.clone(), self.auth.clone())
    }

    /// `TemplateService`.
    pub fn templates(&self) -> TemplateServiceClient<Authed> {
        TemplateServiceClient::with_interceptor(self.transport.clone(), self.auth.clone())
    }

    /// `NotificationService`.
    pub fn notifications(&self) -> NotificationServiceClient<Authed> {
        NotificationServiceClient::with_interceptor(self.transport.clone(), self.auth.clone())
    }

    /// `OperatorService`.
    pub fn operators(&self) -> OperatorServiceClient<Authed> {
        OperatorServiceClient::with_interceptor(self.transport.clone(), self.auth.clone())
    }

    /// Every operator Omnibus knows, with presence.
    pub async fn all_operators(&self) -> Result<Vec<Operator>, PageError> {
        Ok(self
            .operators()
            .list_operators(ListOperatorsRequest {})
            .await?
            .into_inner()
            .operators)
    }

    /// Every live channel (the console shows at most a few hundred).
    pub async fn all_channels(&self) -> Result<Vec<Channel>, PageError> {
        let mut client = self.channels();
        let mut all = Vec::new();
        let mut page_token = String::new();
        for _ in 0..20 {
            let page = client
                .list_channels(ListChannelsRequest {
                    page_size: 500,
                    page_token,
                    include_deleted: false,
                })
                .await?
                .into_inner();
            all.extend(page.channels);
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        Ok(all)
    }
}
