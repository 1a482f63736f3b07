//! `omnictl contacts …`: list, show, find and merge contacts (one person
//! across channels).

use omnibus_proto::{
    Contact, FindContactsRequest, GetContactRequest, ListContactsRequest, MergeContactsRequest,
};

use crate::cli::ContactsCmd;
use crate::client::{Api, collect_pages};
use crate::json;
use crate::output::{self, Output};

/// Runs one `contacts` subcommand.
pub async fn run(api: &Api, cmd: ContactsCmd, out: &mut Output<'_>) -> anyhow::Result<()> {
    match cmd {
        ContactsCmd::List {
            channel_id,
            query,
            page,
        } => {
            let client = api.contacts();
            let template = ListContactsRequest {
                channel_id: channel_id.unwrap_or_default(),
                query: query.unwrap_or_default(),
                page_size: page.page_size.unwrap_or(0),
                page_token: String::new(),
            };
            let (contacts, next) = collect_pages(page.page_token, page.all, |page_token| {
                let mut client = client.clone();
                let request = ListContactsRequest {
                    page_token,
                    ..template.clone()
                };
                async move {
                    let page = client.list_contacts(request).await?.into_inner();
                    Ok((page.contacts, page.next_page_token))
                }
            })
            .await?;
            out.emit(
                || {
                    json::page(
                        "contacts",
                        contacts.iter().map(json::contact).collect(),
                        &next,
                    )
                },
                || output::contact_table(&contacts) + &output::next_page_hint(&next),
            )?;
        }
        ContactsCmd::Show { id } => {
            let contact = api
                .contacts()
                .get_contact(GetContactRequest { id })
                .await?
                .into_inner();
            emit_one(&contact, out)?;
        }
        ContactsCmd::Find { query } => {
            let contacts = api
                .contacts()
                .find_contacts(FindContactsRequest {
                    query,
                    page_size: 0,
                })
                .await?
                .into_inner()
                .contacts;
            out.emit(
                || json::page("contacts", contacts.iter().map(json::contact).collect(), ""),
                || output::contact_table(&contacts),
            )?;
        }
        ContactsCmd::Merge {
            into_id,
            from_id,
            operator,
        } => {
            let contact = api
                .contacts()
                .merge_contacts(MergeContactsRequest {
                    into_id,
                    from_id,
                    operator_id: operator.unwrap_or_default(),
                })
                .await?
                .into_inner();
            emit_one(&contact, out)?;
        }
    }
    Ok(())
}

fn emit_one(contact: &Contact, out: &mut Output<'_>) -> anyhow::Result<()> {
    out.emit(|| json::contact(contact), || output::contact_block(contact))?;
    Ok(())
}
