//! `omnictl webhooks …`: signed outbound webhooks to internal services
//! (create, list, delete) and their delivery attempts, through
//! `NotificationService`.

use clap::{Args, Subcommand};
use omnibus_proto::{
    CreateWebhookRequest, DeleteWebhookRequest, Delivery, ListDeliveriesRequest,
    ListWebhooksRequest, NotificationKind, Webhook,
};
use serde_json::{Value, json};

use crate::cli::ApiToken;
use crate::client::Api;
use crate::json::rfc3339;
use crate::output::{self, Output};
use crate::reflect;
use crate::watch::parse_notification_kind;

/// `omnictl webhooks …`
#[derive(Debug, Subcommand)]
pub enum WebhooksCmd {
    /// Register a URL that receives notifications as signed JSON POSTs.
    Create(WebhookCreateArgs),
    /// List webhooks.
    List,
    /// Delete a webhook; its pending deliveries are abandoned.
    Delete {
        /// Webhook id.
        id: String,
    },
    /// Show a webhook's delivery attempts, newest first.
    Deliveries {
        /// Webhook id.
        id: String,
        /// At most this many (server default 100, at most 1000).
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
    },
}

/// Arguments of `webhooks create`.
#[derive(Debug, Args)]
pub struct WebhookCreateArgs {
    /// http(s) URL receiving the POSTs.
    #[arg(long)]
    pub url: String,
    /// Key of `X-Omnibus-Signature: sha256=<hex HMAC-SHA256(secret, body)>`;
    /// never printed.
    #[arg(long, env = "OMNIBUS_WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: ApiToken,
    /// Only this kind (repeat for several); none means every kind.
    #[arg(long = "kind", value_name = "KIND", value_parser = parse_notification_kind)]
    pub kinds: Vec<NotificationKind>,
}

/// Runs one `webhooks` subcommand.
pub async fn run(api: &Api, cmd: WebhooksCmd, out: &mut Output<'_>) -> anyhow::Result<()> {
    let mut client = api.notifications();
    match cmd {
        WebhooksCmd::Create(args) => {
            let request = CreateWebhookRequest {
                url: args.url,
                secret: args.secret.expose().to_owned(),
                kinds: args.kinds.iter().map(|k| *k as i32).collect(),
            };
            let webhook = client.create_webhook(request).await?.into_inner();
            out.emit(|| webhook_json(&webhook), || webhook_block(&webhook))?;
        }
        WebhooksCmd::List => {
            let webhooks = client
                .list_webhooks(ListWebhooksRequest {})
                .await?
                .into_inner()
                .webhooks;
            out.emit(
                || json!({ "webhooks": webhooks.iter().map(webhook_json).collect::<Vec<_>>() }),
                || webhook_table(&webhooks),
            )?;
        }
        WebhooksCmd::Delete { id } => {
            client
                .delete_webhook(DeleteWebhookRequest { id: id.clone() })
                .await?;
            out.emit(
                || json!({ "deleted": id }),
                || format!("deleted webhook {id}\n"),
            )?;
        }
        WebhooksCmd::Deliveries { id, limit } => {
            let request = ListDeliveriesRequest {
                webhook_id: id,
                limit: limit.unwrap_or(0),
            };
            let deliveries = client
                .list_deliveries(request)
                .await?
                .into_inner()
                .deliveries;
            out.emit(
                || {
                    let all = deliveries.iter().map(delivery_json).collect::<Vec<_>>();
                    json!({ "deliveries": all })
                },
                || delivery_table(&deliveries),
            )?;
        }
    }
    Ok(())
}

fn webhook_json(webhook: &Webhook) -> Value {
    reflect::to_json(webhook, "omnibus.v1.Webhook")
}

fn delivery_json(delivery: &Delivery) -> Value {
    reflect::to_json(delivery, "omnibus.v1.Delivery")
}

fn short(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_owned()
}

fn kinds(webhook: &Webhook) -> String {
    if webhook.kinds.is_empty() {
        return "all".to_owned();
    }
    let names: Vec<String> = webhook
        .kinds()
        .map(|k| short(k.as_str_name(), "NOTIFICATION_KIND_").to_ascii_lowercase())
        .collect();
    names.join(",")
}

fn webhook_block(w: &Webhook) -> String {
    output::kv(&[
        ("id", w.id.clone()),
        ("url", w.url.clone()),
        ("kinds", kinds(w)),
        ("status", short(w.status().as_str_name(), "WEBHOOK_STATUS_")),
        ("status_reason", w.status_reason.clone()),
        (
            "created_at",
            rfc3339(w.created_at.as_ref()).unwrap_or_default(),
        ),
    ])
}

fn webhook_table(webhooks: &[Webhook]) -> String {
    let rows: Vec<Vec<String>> = webhooks
        .iter()
        .map(|w| {
            vec![
                w.id.clone(),
                short(w.status().as_str_name(), "WEBHOOK_STATUS_"),
                kinds(w),
                w.url.clone(),
            ]
        })
        .collect();
    output::table(&["ID", "STATUS", "KINDS", "URL"], &rows)
}

fn delivery_table(deliveries: &[Delivery]) -> String {
    let rows: Vec<Vec<String>> = deliveries
        .iter()
        .map(|d| {
            let last = d.attempts.last();
            vec![
                d.notification_id.clone(),
                short(d.state().as_str_name(), "DELIVERY_STATE_"),
                d.attempts.len().to_string(),
                last.map_or("-".to_owned(), |a| a.status_code.to_string()),
                last.map_or(String::new(), |a| output::one_line(&a.error, 60)),
                d.conversation_id.clone(),
            ]
        })
        .collect();
    output::table(
        &[
            "NOTIFICATION",
            "STATE",
            "ATTEMPTS",
            "LAST_STATUS",
            "LAST_ERROR",
            "CONVERSATION",
        ],
        &rows,
    )
}
