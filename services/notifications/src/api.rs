//! The gRPC adapter of `NotificationService`: thin, errors mapped once
//! through [`ServiceError`](crate::ServiceError).

use std::pin::Pin;

use futures::Stream;
use omnibus_proto::{
    CreateWebhookRequest, DeleteWebhookRequest, DeleteWebhookResponse, ListDeliveriesRequest,
    ListDeliveriesResponse, ListWebhooksRequest, ListWebhooksResponse, Notification,
    SubscribeRequest, Webhook, notification_service_server::NotificationService,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::commands::Commands;
use crate::hub::Hub;
use crate::queries::Queries;
use crate::subscribe::{self, Subscription};

/// Default and largest `ListDeliveries` limit.
const DELIVERIES_DEFAULT: u32 = 100;
const DELIVERIES_MAX: u32 = 1000;

/// `NotificationService` over the projection.
#[derive(Clone)]
pub struct NotificationApi {
    /// Webhook writes.
    pub commands: Commands,
    /// Reads.
    pub queries: Queries,
    /// Live notifications.
    pub hub: Hub,
    /// Notifications each subscriber may have queued before it is slow.
    pub subscriber_buffer: usize,
    /// Ends the streams at shutdown.
    pub shutdown: CancellationToken,
}

type NotificationStream = Pin<Box<dyn Stream<Item = Result<Notification, Status>> + Send>>;

#[tonic::async_trait]
impl NotificationService for NotificationApi {
    type SubscribeStream = NotificationStream;

    async fn subscribe(
        &self,
        request: Request<SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let request = request.into_inner();
        let subscription = Subscription::parse(&request)?;
        // Subscribed before answering, so nothing committed after the
        // client has its response can be missed.
        let live = self.hub.subscribe(&request.operator_id);
        let (tx, rx) = mpsc::channel(self.subscriber_buffer.max(1));
        let span = tracing::info_span!("subscribe", operator_id = %request.operator_id);
        tokio::spawn(tracing::Instrument::instrument(
            subscribe::run(
                subscription,
                self.hub.clone(),
                live,
                self.queries.clone(),
                tx,
                self.shutdown.clone(),
            ),
            span,
        ));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn create_webhook(
        &self,
        request: Request<CreateWebhookRequest>,
    ) -> Result<Response<Webhook>, Status> {
        let webhook = self.commands.create_webhook(request.into_inner()).await?;
        // The query string may hold the receiver's token: never logged.
        let url = omnibus_core::secret::url_for_logs(&webhook.url);
        tracing::info!(webhook_id = %webhook.id, %url, "webhook created");
        Ok(Response::new(webhook))
    }

    async fn list_webhooks(
        &self,
        _request: Request<ListWebhooksRequest>,
    ) -> Result<Response<ListWebhooksResponse>, Status> {
        let webhooks = self.queries.webhooks().await?;
        Ok(Response::new(ListWebhooksResponse { webhooks }))
    }

    async fn delete_webhook(
        &self,
        request: Request<DeleteWebhookRequest>,
    ) -> Result<Response<DeleteWebhookResponse>, Status> {
        self.commands
            .delete_webhook(&request.into_inner().id)
            .await?;
        Ok(Response::new(DeleteWebhookResponse {}))
    }

    async fn list_deliveries(
        &self,
        request: Request<ListDeliveriesRequest>,
    ) -> Result<Response<ListDeliveriesResponse>, Status> {
        let request = request.into_inner();
        let limit = match request.limit {
            0 => DELIVERIES_DEFAULT,
            n => n.min(DELIVERIES_MAX),
        };
        let deliveries = self
            .queries
            .deliveries(&request.webhook_id, i64::from(limit))
            .await?;
        Ok(Response::new(ListDeliveriesResponse { deliveries }))
    }
}
