//! The team lead's read-mostly pages: templates with sync, outbound webhooks
//! with their delivery log, and operators with presence and the dashboard
//! figures `OperatorService` computes.

use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use futures::future::join_all;
use omnibus_proto::{
    DeliveryState, ListDeliveriesRequest, ListOperatorsRequest, ListTemplatesRequest,
    ListWebhooksRequest, NotificationKind, Presence, SyncTemplatesRequest, TemplateStatus,
    WebhookStatus,
};

use super::{Notice, act, done};
use crate::AppState;
use crate::api::Api;
use crate::error::PageError;
use crate::html::{self, Nav, esc};
use crate::session::Session;

/// Deliveries shown per webhook.
const DELIVERIES: u32 = 10;

/// `GET /console/templates`: every channel's templates.
pub(crate) async fn templates(
    State(state): State<AppState>,
    session: Session,
    Query(notice): Query<Notice>,
) -> Result<Html<String>, PageError> {
    let api = Api::of(state.transport.clone(), &session)?;
    let channels = api.all_channels().await?;
    let lists = join_all(channels.iter().map(|c| {
        let api = api.clone();
        async move {
            api.templates()
                .list_templates(ListTemplatesRequest {
                    channel_id: c.id.clone(),
                    status: 0,
                })
                .await
                .map(|r| r.into_inner().templates)
        }
    }))
    .await;
    let mut sections = String::new();
    for (c, list) in channels.iter().zip(lists) {
        let rows: String = list?
            .iter()
            .map(|t| {
                let status = TemplateStatus::try_from(t.status).unwrap_or_default();
                format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td><span class=\"pill t-{}\">{}</span> {}</td><td class=\"template-body\">{}</td></tr>",
                    esc(&t.name),
                    esc(&t.language),
                    esc(&t.category),
                    status.as_str_name().trim_start_matches("TEMPLATE_STATUS_").to_lowercase(),
                    status.as_str_name().trim_start_matches("TEMPLATE_STATUS_"),
                    esc(&t.status_reason),
                    esc(&t.body),
                )
            })
            .collect();
        let table = if rows.is_empty() {
            r#"<p class="muted">No templates.</p>"#.to_owned()
        } else {
            format!(
                r#"<div class="scroll"><table><thead><tr><th>Name</th><th>Language</th><th>Category</th><th>Status</th><th>Body</th></tr></thead><tbody>{rows}</tbody></table></div>"#
            )
        };
        let sync = match html::windowed(c.kind()) {
            true => format!(
                r#"<form method="post" action="/console/templates/{}/sync"><button>Sync with the provider</button></form>"#,
                esc(&c.id)
            ),
            false => String::new(),
        };
        sections.push_str(&format!(
            r#"<section class="panel wide"><h2>{} {}</h2>{sync}{table}</section>"#,
            html::kind_badge(c.kind()),
            esc(&c.name)
        ));
    }
    let body = format!(
        r#"<section class="panel wide"><h1>Templates</h1>{}</section>{sections}"#,
        html::notice(notice.notice.as_deref())
    );
    Ok(Html(html::page(
        "Templates",
        Nav::Templates,
        &session.operator_id,
        &body,
    )))
}

/// `POST /console/templates/{channel}/sync`.
pub(crate) async fn sync(
    State(state): State<AppState>,
    session: Session,
    Path(channel): Path<String>,
) -> Response {
    let request = SyncTemplatesRequest {
        channel_id: channel,
    };
    let result = act(&state, &session, |api| async move {
        let r = api.templates().sync_templates(request).await?.into_inner();
        Ok(format!(
            "Synced: {} added, {} updated, {} removed.",
            r.added, r.updated, r.removed
        ))
    });
    done(result.await, "/console/templates", "Not synced")
}

/// `GET /console/webhooks`: outbound webhooks and their recent deliveries.
pub(crate) async fn webhooks(
    State(state): State<AppState>,
    session: Session,
) -> Result<Html<String>, PageError> {
    let api = Api::of(state.transport.clone(), &session)?;
    let hooks = api
        .notifications()
        .list_webhooks(ListWebhooksRequest {})
        .await?
        .into_inner()
        .webhooks;
    let mut cards = String::new();
    for hook in &hooks {
        let deliveries = api
            .notifications()
            .list_deliveries(ListDeliveriesRequest {
                webhook_id: hook.id.clone(),
                limit: DELIVERIES,
            })
            .await?
            .into_inner()
            .deliveries;
        let rows: String = deliveries
            .iter()
            .map(|d| {
                let last = d.attempts.last();
                format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(DeliveryState::try_from(d.state)
                        .unwrap_or_default()
                        .as_str_name()
                        .trim_start_matches("DELIVERY_STATE_")),
                    d.attempts.len(),
                    last.map_or(String::new(), |a| a.status_code.to_string()),
                    esc(last.map_or("", |a| a.error.as_str())),
                    html::time(last.and_then(|a| a.at.as_ref())),
                )
            })
            .collect();
        let kinds: Vec<&str> = hook
            .kinds
            .iter()
            .map(|k| {
                NotificationKind::try_from(*k)
                    .unwrap_or_default()
                    .as_str_name()
                    .trim_start_matches("NOTIFICATION_KIND_")
            })
            .collect();
        let status = match hook.status() {
            WebhookStatus::Disabled => format!(
                r#"<span class="pill error">Disabled</span> {}"#,
                esc(&hook.status_reason)
            ),
            _ => r#"<span class="pill open">Active</span>"#.to_owned(),
        };
        cards.push_str(&format!(
            r#"<section class="panel wide"><h2><code>{}</code></h2><p>{status} <span class="muted">{}</span></p><div class="scroll"><table><thead><tr><th>State</th><th>Attempts</th><th>Last status</th><th>Last error</th><th>At</th></tr></thead><tbody>{rows}</tbody></table></div></section>"#,
            esc(&hook.url),
            esc(&if kinds.is_empty() { "every notification".to_owned() } else { kinds.join(", ") }),
        ));
    }
    if hooks.is_empty() {
        cards = r#"<section class="panel wide"><p class="muted">No outbound webhooks. Create them with <code>omnictl</code> or <code>NotificationService.CreateWebhook</code>.</p></section>"#.to_owned();
    }
    let body =
        format!(r#"<section class="panel wide"><h1>Outbound webhooks</h1></section>{cards}"#);
    Ok(Html(html::page(
        "Webhooks",
        Nav::Webhooks,
        &session.operator_id,
        &body,
    )))
}

/// `GET /console/operators`: presence and the dashboard.
pub(crate) async fn operators(
    State(state): State<AppState>,
    session: Session,
) -> Result<Html<String>, PageError> {
    let api = Api::of(state.transport.clone(), &session)?;
    let list = api
        .operators()
        .list_operators(ListOperatorsRequest {})
        .await?
        .into_inner();
    let rows: String = list
        .operators
        .iter()
        .map(|o| {
            let presence = Presence::try_from(o.presence).unwrap_or_default();
            let word = presence.as_str_name().trim_start_matches("PRESENCE_").to_lowercase();
            format!(
                r#"<tr data-operator="{id}"><td><span class="avatar small" aria-hidden="true">{initial}</span> {id}</td><td><span class="presence {word}">{word}</span></td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                o.waiting,
                o.handled_today,
                html::time(o.last_seen_at.as_ref()),
                id = esc(&o.id),
                initial = esc(&o.id.chars().next().map(|c| c.to_uppercase().to_string()).unwrap_or_default()),
            )
        })
        .collect();
    let body = format!(
        r#"<section class="panel wide"><h1>Operators</h1><div class="figures" id="figures" data-live><div class="figure"><strong>{}</strong><span>online</span></div><div class="figure"><strong>{}</strong><span>waiting, unassigned</span></div></div><div class="scroll" id="operators-live" data-live data-refresh-when-online><table id="operators"><thead><tr><th>Operator</th><th>Presence</th><th>Waiting</th><th>Handled today</th><th>Last seen</th></tr></thead><tbody>{rows}</tbody></table></div></section>"#,
        list.operators
            .iter()
            .filter(|o| o.presence() == Presence::Online)
            .count(),
        list.unassigned_waiting,
    );
    Ok(Html(html::page(
        "Operators",
        Nav::Operators,
        &session.operator_id,
        &body,
    )))
}
