use omnibus_proto::{
    Contact, FindContactsRequest, FindContactsResponse, GetContactRequest,
    ListContactConversationsRequest, ListContactsRequest, ListContactsResponse,
    ListConversationsRequest, ListConversationsResponse, MergeContactsRequest,
    UpdateContactRequest, contact_service_server::ContactService,
};
use tonic::{Request, Response, Status};

use crate::commands::Commands;
use crate::contacts::queries::ContactQueries;
use crate::error::ServiceError;
use crate::queries::Queries;

/// `omnibus.v1.ContactService`.
pub struct ContactApi {
    pub(crate) commands: Commands,
    pub(crate) queries: Queries,
    pub(crate) contacts: ContactQueries,
}

impl ContactApi {
    async fn contact(&self, id: &str) -> Result<Contact, ServiceError> {
        if id.trim().is_empty() {
            return Err(ServiceError::invalid("contact id is required"));
        }
        self.contacts
            .contact(id)
            .await?
            .ok_or_else(|| ServiceError::not_found("contact", id))
    }
}

#[tonic::async_trait]
impl ContactService for ContactApi {
    async fn get_contact(
        &self,
        request: Request<GetContactRequest>,
    ) -> Result<Response<Contact>, Status> {
        Ok(Response::new(self.contact(&request.into_inner().id).await?))
    }

    async fn list_contacts(
        &self,
        request: Request<ListContactsRequest>,
    ) -> Result<Response<ListContactsResponse>, Status> {
        let r = request.into_inner();
        let page = self
            .contacts
            .contacts(&r.channel_id, &r.query, r.page_size, &r.page_token)
            .await
            .map_err(ServiceError::from)?;
        Ok(Response::new(ListContactsResponse {
            contacts: page.items,
            next_page_token: page.next_page_token,
        }))
    }

    async fn find_contacts(
        &self,
        request: Request<FindContactsRequest>,
    ) -> Result<Response<FindContactsResponse>, Status> {
        let r = request.into_inner();
        if r.query.trim().is_empty() {
            return Err(ServiceError::invalid(
                "query is required: a name, username, email or phone",
            )
            .into());
        }
        let contacts = self
            .contacts
            .find(&r.query, r.page_size)
            .await
            .map_err(ServiceError::from)?;
        Ok(Response::new(FindContactsResponse { contacts }))
    }

    async fn update_contact(
        &self,
        request: Request<UpdateContactRequest>,
    ) -> Result<Response<Contact>, Status> {
        let contact = self.commands.update_contact(request.into_inner()).await?;
        Ok(Response::new(contact))
    }

    async fn merge_contacts(
        &self,
        request: Request<MergeContactsRequest>,
    ) -> Result<Response<Contact>, Status> {
        let contact = self.commands.merge_contacts(request.into_inner()).await?;
        Ok(Response::new(contact))
    }

    async fn list_contact_conversations(
        &self,
        request: Request<ListContactConversationsRequest>,
    ) -> Result<Response<ListConversationsResponse>, Status> {
        let r = request.into_inner();
        let contact = self.contact(&r.contact_id).await?;
        let page = self
            .queries
            .conversations(&ListConversationsRequest {
                contact_id: contact.id,
                page_size: r.page_size,
                page_token: r.page_token,
                ..Default::default()
            })
            .await
            .map_err(ServiceError::from)?;
        Ok(Response::new(ListConversationsResponse {
            conversations: page.items,
            next_page_token: page.next_page_token,
        }))
    }
}
