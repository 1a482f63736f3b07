//! Answering the window service's `SyncTemplates`: every template of the
//! channel's business account at Meta, all pages followed.

use omnibus_ingress::{Context, Provider, ProviderError};
use omnibus_proto::{
    ChannelState, TemplateState, TemplateStatus, TemplatesFetchReply,
    templates_fetch_reply::Outcome,
};
use serde_json::Value;

use crate::graph::templates_page;
use crate::{Whatsapp, template_status_of};

/// More pages than any account has; a guard against a cursor loop.
const MAX_PAGES: usize = 1000;

pub(crate) async fn fetch(context: &Context, channel: ChannelState) -> TemplatesFetchReply {
    let credential = |key: &str| {
        channel
            .credentials
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    };
    let (Some(token), Some(account)) = (
        credential("access_token"),
        credential("business_account_id"),
    ) else {
        return reply(
            Outcome::Invalid,
            "the channel has no business_account_id (or access_token): add the WhatsApp \
             Business Account id with UpdateChannel to sync templates",
        );
    };
    let provider = context.provider::<Whatsapp>(&channel);
    match fetch_all(&provider, token, account).await {
        Ok(templates) => TemplatesFetchReply {
            outcome: Outcome::Ok as i32,
            message: String::new(),
            templates,
        },
        Err(err) => {
            let outcome = if err.is_transient() {
                Outcome::Unavailable
            } else {
                Outcome::Invalid
            };
            reply(
                outcome,
                format!("cannot list the templates: {}", err.reason()),
            )
        }
    }
}

async fn fetch_all(
    provider: &Provider,
    token: &str,
    account: &str,
) -> Result<Vec<TemplateState>, ProviderError> {
    let mut templates = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = templates_page(provider, token, account, after.as_deref()).await?;
        templates.extend(page.data.iter().filter_map(template));
        match page.next {
            Some(next) if after.as_deref() != Some(next.as_str()) => after = Some(next),
            _ => return Ok(templates),
        }
    }
    Ok(templates)
}

/// One Graph template object, or `None` without a name.
pub(crate) fn template(value: &Value) -> Option<TemplateState> {
    let text = |field: &str| value[field].as_str().unwrap_or_default().to_owned();
    let name = text("name");
    if name.is_empty() {
        return None;
    }
    let body = value["components"]
        .as_array()
        .and_then(|components| {
            components.iter().find(|c| {
                c["type"]
                    .as_str()
                    .is_some_and(|t| t.eq_ignore_ascii_case("body"))
            })
        })
        .and_then(|c| c["text"].as_str())
        .unwrap_or_default()
        .to_owned();
    let status = template_status_of(&text("status")).unwrap_or(TemplateStatus::Pending);
    let reason = text("rejected_reason");
    let provider_template_id = match &value["id"] {
        Value::Number(n) => n.to_string(),
        other => other.as_str().unwrap_or_default().to_owned(),
    };
    Some(TemplateState {
        name,
        language: text("language"),
        body,
        category: text("category").to_ascii_uppercase(),
        status: status.into(),
        status_reason: if reason == "NONE" {
            String::new()
        } else {
            reason
        },
        provider_template_id,
    })
}

fn reply(outcome: Outcome, message: impl Into<String>) -> TemplatesFetchReply {
    TemplatesFetchReply {
        outcome: outcome as i32,
        message: message.into(),
        templates: Vec::new(),
    }
}
