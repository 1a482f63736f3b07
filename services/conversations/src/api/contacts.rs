use omnibus_proto::{
    Contact, GetContactRequest, ListContactsRequest, ListContactsResponse,
    contact_service_server::ContactService,
};
use tonic::{Request, Response, Status};

use crate::error::ServiceError;
use crate::queries::Queries;

/// `omnibus.v1.ContactService`.
pub struct ContactApi {
    pub(crate) queries: Queries,
}

#[tonic::async_trait]
impl ContactService for ContactApi {
    async fn get_contact(
        &self,
        request: Request<GetContactRequest>,
    ) -> Result<Response<Contact>, Status> {
        let id = request.into_inner().id;
        let contact = self
            .queries
            .contact(&id)
            .await
            .map_err(ServiceError::from)?
            .ok_or_else(|| ServiceError::not_found("contact", &id))?;
        Ok(Response::new(contact))
    }

    async fn list_contacts(
        &self,
        request: Request<ListContactsRequest>,
    ) -> Result<Response<ListContactsResponse>, Status> {
        let r = request.into_inner();
        let page = self
            .queries
            .contacts(&r.channel_id, &r.query, r.page_size, &r.page_token)
            .await
            .map_err(ServiceError::from)?;
        Ok(Response::new(ListContactsResponse {
            contacts: page.items,
            next_page_token: page.next_page_token,
        }))
    }
}
