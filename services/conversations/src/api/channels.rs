use omnibus_proto::{
    Channel, CreateChannelRequest, DeleteChannelRequest, GetChannelRequest, ListChannelsRequest,
    ListChannelsResponse, ListProviderChannelsRequest, ListProviderChannelsResponse,
    UpdateChannelRequest, channel_service_server::ChannelService,
};
use tonic::{Request, Response, Status};

use crate::commands::Commands;
use crate::error::ServiceError;
use crate::queries::Queries;

/// `omnibus.v1.ChannelService`.
pub struct ChannelApi {
    pub(crate) commands: Commands,
    pub(crate) queries: Queries,
}

#[tonic::async_trait]
impl ChannelService for ChannelApi {
    #[tracing::instrument(skip_all, fields(kind = request.get_ref().kind))]
    async fn create_channel(
        &self,
        request: Request<CreateChannelRequest>,
    ) -> Result<Response<Channel>, Status> {
        Ok(Response::new(
            self.commands.create_channel(request.into_inner()).await?,
        ))
    }

    async fn get_channel(
        &self,
        request: Request<GetChannelRequest>,
    ) -> Result<Response<Channel>, Status> {
        let id = request.into_inner().id;
        let channel = self
            .queries
            .channel(&id)
            .await
            .map_err(ServiceError::from)?
            .ok_or_else(|| ServiceError::not_found("channel", &id))?;
        Ok(Response::new(channel))
    }

    async fn list_channels(
        &self,
        request: Request<ListChannelsRequest>,
    ) -> Result<Response<ListChannelsResponse>, Status> {
        let request = request.into_inner();
        let page = self
            .queries
            .channels(
                request.page_size,
                &request.page_token,
                request.include_deleted,
            )
            .await
            .map_err(ServiceError::from)?;
        Ok(Response::new(ListChannelsResponse {
            channels: page.items,
            next_page_token: page.next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(channel_id = %request.get_ref().id))]
    async fn update_channel(
        &self,
        request: Request<UpdateChannelRequest>,
    ) -> Result<Response<Channel>, Status> {
        Ok(Response::new(
            self.commands.update_channel(request.into_inner()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(channel_id = %request.get_ref().id))]
    async fn delete_channel(
        &self,
        request: Request<DeleteChannelRequest>,
    ) -> Result<Response<Channel>, Status> {
        Ok(Response::new(
            self.commands
                .delete_channel(&request.into_inner().id)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(kind = request.get_ref().kind))]
    async fn list_provider_channels(
        &self,
        request: Request<ListProviderChannelsRequest>,
    ) -> Result<Response<ListProviderChannelsResponse>, Status> {
        let channels = self
            .commands
            .provider_channels(request.into_inner())
            .await?;
        Ok(Response::new(ListProviderChannelsResponse { channels }))
    }
}
