//! The conversation's form actions. Each calls one RPC as the signed-in
//! operator and sends the browser back to the page it came from, with the
//! API's own words when it refused (a closed window without a default
//! template, an unknown operator, …).

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse as _, Response};
use omnibus_proto::{
    AssignConversationRequest, CloseConversationRequest, MarkNoReplyNeededRequest, MarkReadRequest,
    SendMessageRequest, TemplateRef,
};
use serde::Deserialize;

use super::{act, back, done};
use crate::AppState;
use crate::html::url_enc;
use crate::session::Session;

/// The longest reply the console sends (Telegram's limit is the smallest).
const MAX_TEXT: usize = 4096;

#[derive(Deserialize)]
pub(crate) struct Back {
    #[serde(default)]
    back: String,
}

#[derive(Deserialize)]
pub(crate) struct SendForm {
    #[serde(default)]
    back: String,
    text: String,
    #[serde(default)]
    reply_to: String,
    #[serde(default)]
    idempotency_key: String,
}

#[derive(Deserialize)]
pub(crate) struct AssignForm {
    #[serde(default)]
    back: String,
    #[serde(default)]
    operator_id: String,
    #[serde(default)]
    group_id: String,
}

/// Only our own pages: a form cannot send the browser elsewhere.
fn return_to(back: &str, id: &str) -> String {
    if back.starts_with("/console/") && !back.starts_with("/console//") {
        back.to_owned()
    } else {
        format!("/console/c/{}", url_enc(id))
    }
}

/// `POST /console/c/{id}/send`.
pub(crate) async fn send(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<SendForm>,
) -> Response {
    let to = return_to(&form.back, &id);
    let text = form.text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT {
        return back(&to, "Not sent: write between 1 and 4096 characters.").into_response();
    }
    let request = SendMessageRequest {
        conversation_id: id.clone(),
        text: text.to_owned(),
        reply_to_message_id: form.reply_to,
        idempotency_key: form.idempotency_key,
        operator_id: session.operator_id.clone(),
        ..Default::default()
    };
    let result = act(&state, &session, |api| async move {
        api.conversations().send_message(request).await?;
        Ok(String::new())
    });
    done(result.await, &to, "Not sent")
}

/// `POST /console/c/{id}/template`: an approved template with its parameters.
pub(crate) async fn send_template(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    let to = return_to(&field("back"), &id);
    let request = SendMessageRequest {
        conversation_id: id.clone(),
        template: Some(template_ref(&form)),
        idempotency_key: field("idempotency_key"),
        operator_id: session.operator_id.clone(),
        ..Default::default()
    };
    let result = act(&state, &session, |api| async move {
        api.conversations().send_message(request).await?;
        Ok("Template sent.".to_owned())
    });
    done(result.await, &to, "Not sent")
}

/// The template of a form: `name`, `language`, and `p_<placeholder>` fields,
/// positional when every placeholder is a number.
fn template_ref(form: &HashMap<String, String>) -> TemplateRef {
    let mut positional: Vec<(u32, String)> = Vec::new();
    let mut named = HashMap::new();
    for (key, value) in form {
        let Some(placeholder) = key.strip_prefix("p_") else {
            continue;
        };
        match placeholder.parse::<u32>() {
            Ok(n) => positional.push((n, value.trim().to_owned())),
            Err(_) => {
                named.insert(placeholder.to_owned(), value.trim().to_owned());
            }
        }
    }
    positional.sort();
    TemplateRef {
        name: form.get("name").cloned().unwrap_or_default(),
        language: form.get("language").cloned().unwrap_or_default(),
        parameters: positional.into_iter().map(|(_, v)| v).collect(),
        named_parameters: named,
    }
}

/// `POST /console/c/{id}/close`.
pub(crate) async fn close(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<Back>,
) -> Response {
    let request = CloseConversationRequest {
        id: id.clone(),
        operator_id: session.operator_id.clone(),
    };
    let result = act(&state, &session, |api| async move {
        api.conversations().close_conversation(request).await?;
        Ok("Conversation closed.".to_owned())
    });
    done(result.await, &return_to(&form.back, &id), "Not closed")
}

/// `POST /console/c/{id}/assign`: to an operator, or a group.
pub(crate) async fn assign(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<AssignForm>,
) -> Response {
    let request = AssignConversationRequest {
        id: id.clone(),
        operator_id: form.operator_id.trim().to_owned(),
        group_id: form.group_id.trim().to_owned(),
    };
    let said = match (request.operator_id.as_str(), request.group_id.as_str()) {
        ("", "") => "Unassigned.".to_owned(),
        ("", group) => format!("Assigned to group {group}."),
        (operator, _) => format!("Assigned to {operator}."),
    };
    let result = act(&state, &session, |api| async move {
        api.conversations().assign_conversation(request).await?;
        Ok(said)
    });
    done(result.await, &return_to(&form.back, &id), "Not assigned")
}

/// `POST /console/c/{id}/no-reply`.
pub(crate) async fn no_reply(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<Back>,
) -> Response {
    let request = MarkNoReplyNeededRequest { id: id.clone() };
    let result = act(&state, &session, |api| async move {
        api.conversations().mark_no_reply_needed(request).await?;
        Ok("Marked as needing no reply.".to_owned())
    });
    done(result.await, &return_to(&form.back, &id), "Not marked")
}

/// `POST /console/c/{id}/read`.
pub(crate) async fn mark_read(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<Back>,
) -> Response {
    let request = MarkReadRequest { id: id.clone() };
    let result = act(&state, &session, |api| async move {
        api.conversations().mark_read(request).await?;
        Ok("Marked read.".to_owned())
    });
    done(result.await, &return_to(&form.back, &id), "Not marked")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parameters_keep_their_order_past_nine() {
        let form: HashMap<String, String> = [
            ("name", "order_update"),
            ("language", "en_US"),
            ("p_10", "ten"),
            ("p_2", "two"),
            ("p_1", " one "),
            ("back", "/console/"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let t = template_ref(&form);
        assert_eq!(t.parameters, ["one", "two", "ten"]);
        assert!(t.named_parameters.is_empty());
        assert_eq!(
            (t.name.as_str(), t.language.as_str()),
            ("order_update", "en_US")
        );
    }

    #[test]
    fn actions_only_return_to_console_pages() {
        assert_eq!(
            return_to("/console/c/1?view=all", "1"),
            "/console/c/1?view=all"
        );
        assert_eq!(return_to("https://evil.example/", "1"), "/console/c/1");
        assert_eq!(return_to("/console//evil.example", "1"), "/console/c/1");
    }
}
