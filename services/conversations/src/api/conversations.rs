use omnibus_proto::{
    AssignConversationRequest, CloseConversationRequest, Conversation, GetConversationRequest,
    ListConversationEventsRequest, ListConversationEventsResponse, ListConversationsRequest,
    ListConversationsResponse, ListMessagesRequest, ListMessagesResponse, MarkNoReplyNeededRequest,
    MarkReadRequest, Message, SendMessageRequest, StartConversationRequest,
    conversation_service_server::ConversationService,
};
use tonic::{Request, Response, Status};

use crate::commands::Commands;
use crate::error::ServiceError;
use crate::queries::Queries;

/// `omnibus.v1.ConversationService`.
pub struct ConversationApi {
    pub(crate) commands: Commands,
    pub(crate) queries: Queries,
}

#[tonic::async_trait]
impl ConversationService for ConversationApi {
    async fn list_conversations(
        &self,
        request: Request<ListConversationsRequest>,
    ) -> Result<Response<ListConversationsResponse>, Status> {
        let page = self
            .queries
            .conversations(request.get_ref())
            .await
            .map_err(ServiceError::from)?;
        Ok(Response::new(ListConversationsResponse {
            conversations: page.items,
            next_page_token: page.next_page_token,
        }))
    }

    async fn get_conversation(
        &self,
        request: Request<GetConversationRequest>,
    ) -> Result<Response<Conversation>, Status> {
        let id = request.into_inner().id;
        let conversation = self
            .queries
            .conversation(&id)
            .await
            .map_err(ServiceError::from)?
            .ok_or_else(|| ServiceError::not_found("conversation", &id))?;
        Ok(Response::new(conversation))
    }

    async fn list_messages(
        &self,
        request: Request<ListMessagesRequest>,
    ) -> Result<Response<ListMessagesResponse>, Status> {
        let r = request.into_inner();
        let page = self
            .queries
            .messages(&r.conversation_id, r.page_size, &r.page_token)
            .await
            .map_err(ServiceError::from)?;
        // Only an empty page needs to tell an unknown conversation apart.
        if page.items.is_empty()
            && !self
                .queries
                .conversation_exists(&r.conversation_id)
                .await
                .map_err(ServiceError::from)?
        {
            return Err(ServiceError::not_found("conversation", &r.conversation_id).into());
        }
        Ok(Response::new(ListMessagesResponse {
            messages: page.items,
            next_page_token: page.next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(conversation_id = %request.get_ref().conversation_id))]
    async fn send_message(
        &self,
        request: Request<SendMessageRequest>,
    ) -> Result<Response<Message>, Status> {
        Ok(Response::new(
            self.commands.send_message(request.into_inner()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(contact_id = %request.get_ref().contact_id))]
    async fn start_conversation(
        &self,
        request: Request<StartConversationRequest>,
    ) -> Result<Response<Conversation>, Status> {
        Ok(Response::new(
            self.commands
                .start_conversation(request.into_inner())
                .await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(conversation_id = %request.get_ref().id))]
    async fn close_conversation(
        &self,
        request: Request<CloseConversationRequest>,
    ) -> Result<Response<Conversation>, Status> {
        Ok(Response::new(
            self.commands
                .close_conversation(request.into_inner())
                .await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(conversation_id = %request.get_ref().id))]
    async fn assign_conversation(
        &self,
        request: Request<AssignConversationRequest>,
    ) -> Result<Response<Conversation>, Status> {
        let r = request.into_inner();
        let conversation = self
            .commands
            .assign_conversation(&r.id, r.operator_id, r.group_id)
            .await?;
        Ok(Response::new(conversation))
    }

    async fn mark_no_reply_needed(
        &self,
        request: Request<MarkNoReplyNeededRequest>,
    ) -> Result<Response<Conversation>, Status> {
        Ok(Response::new(
            self.commands
                .mark_no_reply_needed(&request.into_inner().id)
                .await?,
        ))
    }

    async fn mark_read(
        &self,
        request: Request<MarkReadRequest>,
    ) -> Result<Response<Conversation>, Status> {
        Ok(Response::new(
            self.commands.mark_read(&request.into_inner().id).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(conversation_id = %request.get_ref().conversation_id))]
    async fn list_conversation_events(
        &self,
        request: Request<ListConversationEventsRequest>,
    ) -> Result<Response<ListConversationEventsResponse>, Status> {
        let id = request.into_inner().conversation_id;
        let events = self.commands.conversation_events(&id).await?;
        Ok(Response::new(ListConversationEventsResponse { events }))
    }
}
