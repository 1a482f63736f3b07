//! The gRPC adapter of `TemplateService`: thin, errors mapped once through
//! [`WindowError`](crate::WindowError).

use std::time::Duration;

use omnibus_proto::{
    DeleteTemplateRequest, GetWindowRequest, ListTemplatesRequest, ListTemplatesResponse,
    SyncTemplatesRequest, SyncTemplatesResponse, Template, UpsertTemplateRequest, Window,
    template_service_server::TemplateService,
};
use tonic::{Request, Response, Status};

use crate::commands::Commands;
use crate::model::TemplateRow;
use crate::queries::Queries;

/// `TemplateService` over the projection.
#[derive(Clone)]
pub struct TemplateApi {
    pub commands: Commands,
    pub queries: Queries,
    /// How long a sync waits for the ingress (it follows every page).
    pub fetch_timeout: Duration,
}

#[tonic::async_trait]
impl TemplateService for TemplateApi {
    async fn list_templates(
        &self,
        request: Request<ListTemplatesRequest>,
    ) -> Result<Response<ListTemplatesResponse>, Status> {
        let request = request.into_inner();
        let channel = self.queries.channel(&request.channel_id).await?;
        let templates = self
            .queries
            .templates(&channel.id, request.status())
            .await?;
        Ok(Response::new(ListTemplatesResponse {
            templates: templates.iter().map(TemplateRow::to_proto).collect(),
        }))
    }

    async fn upsert_template(
        &self,
        request: Request<UpsertTemplateRequest>,
    ) -> Result<Response<Template>, Status> {
        let template = self.commands.upsert(request.into_inner()).await?;
        tracing::info!(channel_id = %template.channel_id, name = %template.name, "template upserted");
        Ok(Response::new(template.to_proto()))
    }

    async fn delete_template(
        &self,
        request: Request<DeleteTemplateRequest>,
    ) -> Result<Response<Template>, Status> {
        let template = self.commands.delete(request.into_inner()).await?;
        tracing::info!(channel_id = %template.channel_id, name = %template.name, "template deleted");
        Ok(Response::new(template.to_proto()))
    }

    async fn sync_templates(
        &self,
        request: Request<SyncTemplatesRequest>,
    ) -> Result<Response<SyncTemplatesResponse>, Status> {
        let channel_id = request.into_inner().channel_id;
        let synced = self.commands.sync(&channel_id, self.fetch_timeout).await?;
        tracing::info!(
            %channel_id,
            added = synced.added,
            updated = synced.updated,
            removed = synced.removed,
            "templates synced"
        );
        Ok(Response::new(synced))
    }

    async fn get_window(
        &self,
        request: Request<GetWindowRequest>,
    ) -> Result<Response<Window>, Status> {
        let window = self
            .queries
            .window(&request.into_inner().conversation_id)
            .await?;
        Ok(Response::new(window))
    }
}
