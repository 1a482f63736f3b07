//! A contact's form actions: the edit, sending only what the operator
//! changed, and the merge of another contact into this one. Both call one
//! RPC and return to the contact's page with a line saying what happened,
//! or the API's own words when it refused.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse as _, Response};
use omnibus_proto::{GetContactRequest, MergeContactsRequest, StringList, UpdateContactRequest};
use serde::Deserialize;

use super::name_of;
use crate::AppState;
use crate::html::url_enc;
use crate::pages::{act, back, done};
use crate::session::Session;

/// The edit form, with the values it showed so only changes are sent.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct EditForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    was_name: String,
    #[serde(default)]
    phones: String,
    #[serde(default)]
    was_phones: String,
    #[serde(default)]
    emails: String,
    #[serde(default)]
    was_emails: String,
}

/// The update the form asks for, `None` when nothing changed. Only changed
/// fields are sent: saving an untouched messenger name must not pin it as
/// the operators' (it would stop following the messenger).
fn update_request(id: &str, form: &EditForm) -> Option<UpdateContactRequest> {
    let name = form.display_name.trim();
    let display_name = (name != form.was_name.trim()).then(|| name.to_owned());
    let changed = |now: &str, was: &str| {
        let given = values(now);
        (given != values(was)).then_some(StringList { values: given })
    };
    let request = UpdateContactRequest {
        id: id.to_owned(),
        display_name,
        phones: changed(&form.phones, &form.was_phones),
        emails: changed(&form.emails, &form.was_emails),
    };
    let any =
        request.display_name.is_some() || request.phones.is_some() || request.emails.is_some();
    any.then_some(request)
}

/// One value a line or comma, trimmed, empty ones dropped.
fn values(text: &str) -> Vec<String> {
    text.split(['\n', ','])
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `POST /console/contacts/{id}/edit`.
pub(crate) async fn update(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<EditForm>,
) -> Response {
    let to = format!("/console/contacts/{}", url_enc(&id));
    let Some(request) = update_request(&id, &form) else {
        return back(&to, "Nothing changed.").into_response();
    };
    let result = act(&state, &session, |api| async move {
        let contact = api.contacts().update_contact(request).await?.into_inner();
        Ok(format!("Saved {}.", name_of(&contact)))
    });
    done(result.await, &to, "Not saved")
}

#[derive(Deserialize)]
pub(crate) struct MergeForm {
    #[serde(default)]
    from_id: String,
}

/// `POST /console/contacts/{id}/merge`: `from_id` joins this contact.
pub(crate) async fn merge(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<MergeForm>,
) -> Response {
    let to = format!("/console/contacts/{}", url_enc(&id));
    let from_id = form.from_id.trim().to_owned();
    if from_id.is_empty() {
        return back(&to, "Not merged: give the id of the contact to merge.").into_response();
    }
    let request = MergeContactsRequest {
        into_id: id.clone(),
        from_id: from_id.clone(),
        operator_id: session.operator_id.clone(),
    };
    let result = act(&state, &session, |api| async move {
        let from = api
            .contacts()
            .get_contact(GetContactRequest { id: from_id })
            .await?
            .into_inner();
        let into = api.contacts().merge_contacts(request).await?.into_inner();
        Ok(format!(
            "Merged {} into {}.",
            name_of(&from),
            name_of(&into)
        ))
    });
    done(result.await, &to, "Not merged")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_fields_are_sent() {
        let untouched = EditForm {
            display_name: "Maria".into(),
            was_name: "Maria".into(),
            phones: "+15550100\n".into(),
            was_phones: "+15550100".into(),
            ..Default::default()
        };
        assert!(update_request("ct_1", &untouched).is_none());

        let renamed = EditForm {
            display_name: " Maria Petrova ".into(),
            ..untouched
        };
        let request = update_request("ct_1", &renamed).unwrap();
        assert_eq!(request.display_name.as_deref(), Some("Maria Petrova"));
        assert!(request.phones.is_none() && request.emails.is_none());

        let cleared = EditForm {
            was_name: "Maria".into(),
            emails: "a@example.com, b@example.com".into(),
            ..Default::default()
        };
        let request = update_request("ct_1", &cleared).unwrap();
        assert_eq!(
            request.display_name.as_deref(),
            Some(""),
            "an emptied name goes back to the messengers' name"
        );
        assert_eq!(
            request.emails.unwrap().values,
            ["a@example.com", "b@example.com"]
        );
    }
}
