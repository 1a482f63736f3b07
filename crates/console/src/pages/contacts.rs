//! Contacts, as a support desk keeps its customers: one person across every
//! messenger they wrote from, with their conversations. The list searches
//! by name, username, email or phone; a contact's page shows who they are
//! on each channel, lets an operator correct the name, phones and emails,
//! and merge a duplicate into them (people the API could not join by phone,
//! e.g. the same customer on Telegram and Instagram). The forms' actions
//! are in `contacts/actions.rs`.

pub(crate) mod actions;

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Html;
use omnibus_proto::{
    Channel, Contact, Conversation, Direction, FindContactsRequest, GetContactRequest,
    ListContactConversationsRequest, ListContactsRequest,
};
use serde::Deserialize;

use super::Notice;
use super::list::initials;
use crate::AppState;
use crate::api::Api;
use crate::error::PageError;
use crate::html::{self, Nav, esc, url_enc};
use crate::session::Session;

/// Contacts per page of the list.
const PAGE_SIZE: u32 = 50;
/// A contact's most recent conversations shown on their page.
const CONVERSATIONS: u32 = 50;
/// Possible duplicates offered for a merge.
const DUPLICATES: u32 = 10;

/// The list's search, from the query string.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Search {
    /// A name, username, email or phone in any form.
    #[serde(default)]
    q: String,
    /// A channel id, or empty for every channel.
    #[serde(default)]
    channel: String,
    /// The page to show.
    #[serde(default)]
    page: String,
    notice: Option<String>,
}

/// `GET /console/contacts`. The search goes through `ListContacts`' own
/// `query`: it matches exactly as `FindContacts` does (a phone in any form
/// included) and, unlike it, pages and narrows to a channel.
pub(crate) async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(search): Query<Search>,
) -> Result<Html<String>, PageError> {
    let api = Api::of(state.transport.clone(), &session)?;
    let channels = api.all_channels().await?;
    let page = api
        .contacts()
        .list_contacts(ListContactsRequest {
            channel_id: search.channel.clone(),
            query: search.q.trim().to_owned(),
            page_size: PAGE_SIZE,
            page_token: search.page.clone(),
        })
        .await?
        .into_inner();
    let rows: String = page.contacts.iter().map(list_row).collect();
    let searching = !search.q.trim().is_empty() || !search.channel.is_empty();
    let table = match (rows.is_empty(), searching) {
        (true, true) => r#"<p class="muted" id="no-contacts">No contacts match.</p>"#.to_owned(),
        (true, false) => r#"<p class="muted" id="no-contacts">No contacts yet. They appear as customers write.</p>"#.to_owned(),
        (false, _) => format!(
            r#"<div class="scroll"><table id="contacts"><thead><tr><th>Contact</th><th>Channels</th><th>Phones</th><th>Emails</th><th>Updated</th></tr></thead><tbody>{rows}</tbody></table></div>"#
        ),
    };
    let more = match page.next_page_token.as_str() {
        "" => String::new(),
        token => format!(
            r#"<p><a class="more" href="/console/contacts?q={}&channel={}&page={}">More contacts</a></p>"#,
            url_enc(&search.q),
            url_enc(&search.channel),
            url_enc(token)
        ),
    };
    let body = format!(
        r#"<section class="panel wide"><h1>Contacts</h1>{notice}{form}{table}{more}</section>"#,
        notice = html::notice(search.notice.as_deref()),
        form = search_form(&search, &channels),
    );
    Ok(Html(html::page(
        "Contacts",
        Nav::Contacts,
        &session.operator_id,
        &body,
    )))
}

fn search_form(search: &Search, channels: &[Channel]) -> String {
    let options: String = std::iter::once((String::new(), "All channels".to_owned()))
        .chain(channels.iter().map(|c| {
            let label = format!("{} · {}", html::kind_name(c.kind()), c.name);
            (c.id.clone(), label)
        }))
        .map(|(id, label)| {
            let selected = if id == search.channel {
                " selected"
            } else {
                ""
            };
            format!(
                r#"<option value="{}"{selected}>{}</option>"#,
                esc(&id),
                esc(&label)
            )
        })
        .collect();
    format!(
        r#"<form method="get" action="/console/contacts" class="filter-form" role="search"><label class="sr" for="contact-q">Search by name, username, email or phone</label><input id="contact-q" name="q" type="search" placeholder="Name, @username, email or phone" value="{}"><label class="sr" for="contact-channel">Channel</label><select id="contact-channel" name="channel">{options}</select><button type="submit" id="contact-search">Search</button></form>"#,
        esc(&search.q)
    )
}

fn list_row(c: &Contact) -> String {
    let name = name_of(c);
    let channels: String = c
        .identities
        .iter()
        .map(|i| {
            let handle = match i.username.as_str() {
                "" => String::new(),
                u => format!(" @{}", esc(u)),
            };
            format!(
                r#"<span class="identity">{}{handle}</span> "#,
                html::kind_badge(i.channel_kind())
            )
        })
        .collect();
    format!(
        r#"<tr data-contact="{id}"><td><span class="avatar small" aria-hidden="true">{initials}</span> <a href="/console/contacts/{path}">{name}</a>{group}</td><td>{channels}</td><td>{phones}</td><td>{emails}</td><td>{updated}</td></tr>"#,
        id = esc(&c.id),
        path = url_enc(&c.id),
        initials = esc(&initials(&name)),
        name = esc(&name),
        group = group_pill(c),
        phones = esc(&c.phones.join(", ")),
        emails = esc(&c.emails.join(", ")),
        updated = html::time(c.updated_at.as_ref()),
    )
}

/// `GET /console/contacts/{id}`: who the contact is on each channel, their
/// conversations, and the forms to edit and merge.
pub(crate) async fn page(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(notice): Query<Notice>,
) -> Result<Html<String>, PageError> {
    let api = Api::of(state.transport.clone(), &session)?;
    let contact = api
        .contacts()
        .get_contact(GetContactRequest { id: id.clone() })
        .await?
        .into_inner();
    let conversations = api
        .contacts()
        .list_contact_conversations(ListContactConversationsRequest {
            contact_id: contact.id.clone(),
            page_size: CONVERSATIONS,
            page_token: String::new(),
        })
        .await?
        .into_inner();
    let duplicates = duplicates(&api, &contact).await?;
    let channels = api.all_channels().await?;
    let names: HashMap<&str, &str> = channels
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    let name = name_of(&contact);
    // A merged-away id (an old link) reads as the contact it joined.
    let merged = match id == contact.id {
        true => String::new(),
        false => format!(
            r#"<p class="muted">Contact <code>{}</code> is part of this contact.</p>"#,
            esc(&id)
        ),
    };
    let more = match conversations.next_page_token.is_empty() {
        true => String::new(),
        false => {
            format!(r#"<p class="muted">The {CONVERSATIONS} most recently active are shown.</p>"#)
        }
    };
    let body = format!(
        r#"<section class="panel wide"><p><a href="/console/contacts">← All contacts</a></p>{notice}<div class="head"><span class="avatar big" aria-hidden="true">{initials}</span><div><h1 id="contact-name">{title}</h1><p class="tags">{group}<code id="contact-id">{cid}</code></p></div></div>{merged}{facts}</section><section class="panel wide"><h2>Channels</h2>{identities}</section><section class="panel wide"><h2>Conversations</h2>{rows}{more}</section><section class="panel wide"><h2>Edit</h2>{edit}</section><section class="panel wide"><h2>Merge a duplicate into this contact</h2>{merge}</section>"#,
        notice = html::notice(notice.notice.as_deref()),
        initials = esc(&initials(&name)),
        title = esc(&name),
        group = group_pill(&contact),
        cid = esc(&contact.id),
        facts = facts(&contact),
        identities = identities(&contact, &names),
        rows = conversation_rows(&conversations.conversations, &names),
        edit = edit_form(&contact),
        merge = merge_form(&contact, &duplicates),
    );
    Ok(Html(html::page(
        &name,
        Nav::Contacts,
        &session.operator_id,
        &body,
    )))
}

/// Other contacts with the same name: the likely duplicates to merge.
async fn duplicates(api: &Api, contact: &Contact) -> Result<Vec<Contact>, PageError> {
    if contact.display_name.trim().is_empty() {
        return Ok(Vec::new());
    }
    let found = api
        .contacts()
        .find_contacts(FindContactsRequest {
            query: contact.display_name.clone(),
            page_size: DUPLICATES,
        })
        .await?
        .into_inner()
        .contacts;
    Ok(found.into_iter().filter(|c| c.id != contact.id).collect())
}

fn facts(c: &Contact) -> String {
    let or_none = |values: &[String]| match values.is_empty() {
        true => r#"<span class="muted">none</span>"#.to_owned(),
        false => esc(&values.join(", ")),
    };
    format!(
        r#"<dl class="facts"><dt>Phones</dt><dd id="contact-phones">{}</dd><dt>Emails</dt><dd id="contact-emails">{}</dd><dt>First seen</dt><dd>{}</dd></dl>"#,
        or_none(&c.phones),
        or_none(&c.emails),
        html::time(c.created_at.as_ref()),
    )
}

fn identities(c: &Contact, channel_names: &HashMap<&str, &str>) -> String {
    let rows: String = c
        .identities
        .iter()
        .map(|i| {
            format!(
                r#"<tr><td>{badge} {channel}</td><td>{name}</td><td>{username}</td><td>{phone}</td><td><code>{user}</code></td></tr>"#,
                badge = html::kind_badge(i.channel_kind()),
                channel = esc(channel_names
                    .get(i.channel_id.as_str())
                    .copied()
                    .unwrap_or(html::kind_name(i.channel_kind()))),
                name = esc(&i.display_name),
                username = match i.username.as_str() {
                    "" => String::new(),
                    u => format!("@{}", esc(u)),
                },
                phone = esc(&i.phone),
                user = esc(&i.provider_user_id),
            )
        })
        .collect();
    format!(
        r#"<div class="scroll"><table id="identities"><thead><tr><th>Channel</th><th>Name there</th><th>Username</th><th>Phone</th><th>Messenger's id</th></tr></thead><tbody>{rows}</tbody></table></div>"#
    )
}

fn conversation_rows(
    conversations: &[Conversation],
    channel_names: &HashMap<&str, &str>,
) -> String {
    if conversations.is_empty() {
        return r#"<p class="muted" id="contact-conversations">No conversations.</p>"#.to_owned();
    }
    let rows: String = conversations
        .iter()
        .map(|c| {
            let last = c.last_message.as_ref();
            let preview = last.map_or(String::new(), |m| {
                let you = if m.direction() == Direction::Outbound { "You: " } else { "" };
                format!("{you}{}", m.text.chars().take(90).collect::<String>())
            });
            format!(
                r#"<li><a class="row" href="/console/c/{path}" data-conversation="{id}"><span class="row-main"><span class="row-top"><span class="name">{title}</span><span class="when">{when}</span></span><span class="preview">{preview}</span><span class="tags">{badge}<span class="channel">{channel}</span>{status}</span></span></a></li>"#,
                path = url_enc(&c.id),
                id = esc(&c.id),
                title = esc(if c.title.is_empty() { "Customer" } else { &c.title }),
                when = html::time(last.and_then(|m| m.created_at.as_ref()).or(c.updated_at.as_ref())),
                preview = esc(&preview),
                badge = html::kind_badge(c.channel_kind()),
                channel = esc(channel_names.get(c.channel_id.as_str()).copied().unwrap_or("")),
                status = html::status_pill(c.status()),
            )
        })
        .collect();
    format!(r#"<ul class="rows" id="contact-conversations">{rows}</ul>"#)
}

/// The phones operators set: the contact's phones less the messengers' own,
/// which stay with their identities whatever the form says.
fn operator_phones(c: &Contact) -> Vec<String> {
    c.phones
        .iter()
        .filter(|p| !c.identities.iter().any(|i| &i.phone == *p))
        .cloned()
        .collect()
}

fn edit_form(c: &Contact) -> String {
    let phones = operator_phones(c).join("\n");
    let emails = c.emails.join("\n");
    format!(
        r#"<form method="post" action="/console/contacts/{path}/edit" class="stack" id="edit-contact"><label for="display_name">Name <span class="muted">(empty: the name the messengers give)</span></label><input id="display_name" name="display_name" maxlength="200" value="{name}"><input type="hidden" name="was_name" value="{name}"><label for="phones">Phones, one a line, any form <span class="muted">(besides the messengers' own)</span></label><textarea id="phones" name="phones" rows="2">{phones}</textarea><input type="hidden" name="was_phones" value="{phones}"><label for="emails">Emails, one a line</label><textarea id="emails" name="emails" rows="2">{emails}</textarea><input type="hidden" name="was_emails" value="{emails}"><button class="primary" id="save-contact">Save</button></form>"#,
        path = url_enc(&c.id),
        name = esc(&c.display_name),
        phones = esc(&phones),
        emails = esc(&emails),
    )
}

fn merge_form(c: &Contact, duplicates: &[Contact]) -> String {
    let path = url_enc(&c.id);
    let suggestions: String = duplicates
        .iter()
        .map(|d| {
            let kinds: String = d
                .identities
                .iter()
                .map(|i| html::kind_badge(i.channel_kind()))
                .collect();
            format!(
                r#"<li data-duplicate="{id}"><a href="/console/contacts/{dpath}">{name}</a>{kinds}<span class="muted">{phones}</span><form method="post" action="/console/contacts/{path}/merge"><input type="hidden" name="from_id" value="{id}"><button>Merge into this contact</button></form></li>"#,
                id = esc(&d.id),
                dpath = url_enc(&d.id),
                name = esc(&name_of(d)),
                phones = esc(&d.phones.join(", ")),
            )
        })
        .collect();
    let suggestions = match suggestions.is_empty() {
        true => String::new(),
        false => format!(
            r#"<p class="hint">Contacts with the same name:</p><ul class="inline-list" id="duplicates">{suggestions}</ul>"#
        ),
    };
    format!(
        r#"<p class="hint">The other contact's channels, phones, emails and conversations join this one; its id keeps leading here. A merge cannot be undone.</p>{suggestions}<form method="post" action="/console/contacts/{path}/merge" class="filter-form" id="merge-contact"><label class="sr" for="merge-from">Id of the contact to merge</label><input id="merge-from" name="from_id" placeholder="Contact id, from the contact list" autocomplete="off" spellcheck="false"><button id="merge">Merge</button></form>"#
    )
}

/// The name to show: the contact's, else a handle or phone, else a word.
fn name_of(c: &Contact) -> String {
    if !c.display_name.trim().is_empty() {
        return c.display_name.clone();
    }
    c.identities
        .iter()
        .find(|i| !i.username.is_empty())
        .map(|i| format!("@{}", i.username))
        .or_else(|| c.phones.first().cloned())
        .unwrap_or_else(|| "Unnamed contact".to_owned())
}

fn group_pill(c: &Contact) -> &'static str {
    match c.is_group {
        true => r#" <span class="pill">Group chat</span> "#,
        false => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omnibus_proto::Identity;

    #[test]
    fn the_form_offers_only_the_phones_operators_set() {
        let contact = Contact {
            phones: vec!["+15550100".into(), "+15550199".into()],
            identities: vec![Identity {
                phone: "+15550100".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(operator_phones(&contact), ["+15550199"]);
    }

    #[test]
    fn names_from_the_api_are_escaped_and_never_empty() {
        let contact = Contact {
            id: "ct_1".into(),
            display_name: "<b>Eve</b>".into(),
            ..Default::default()
        };
        let row = list_row(&contact);
        assert!(
            row.contains("&lt;b&gt;Eve&lt;/b&gt;") && !row.contains("<b>"),
            "{row}"
        );
        assert_eq!(name_of(&Contact::default()), "Unnamed contact");
    }
}
