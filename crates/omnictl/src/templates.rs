//! `omnictl templates …` and `omnictl window`: message templates of
//! windowed channels (WhatsApp, Instagram) and a conversation's 24-hour
//! window, through `TemplateService`.

use clap::{Args, Subcommand};
use omnibus_proto::{
    DeleteTemplateRequest, GetWindowRequest, ListTemplatesRequest, SyncTemplatesRequest, Template,
    TemplateStatus, UpsertTemplateRequest, Window,
};
use serde_json::{Value, json};

use crate::client::Api;
use crate::json::rfc3339;
use crate::output::{self, Output};

/// `omnictl templates …`
#[derive(Debug, Subcommand)]
pub enum TemplatesCmd {
    /// List a channel's templates.
    List {
        /// Channel id.
        channel_id: String,
        /// Only templates in this status (pending, approved, rejected, paused, disabled).
        #[arg(long, value_parser = parse_status)]
        status: Option<TemplateStatus>,
    },
    /// Create or replace a template by channel, name and language.
    Upsert(UpsertArgs),
    /// Delete a template.
    Delete {
        /// Channel id.
        channel_id: String,
        /// Template name.
        name: String,
        /// Language code, e.g. en_US.
        #[arg(long)]
        language: String,
    },
    /// Pull every template of the channel's WhatsApp Business Account.
    Sync {
        /// Channel id.
        channel_id: String,
    },
}

/// Arguments of `templates upsert`.
#[derive(Debug, Args)]
pub struct UpsertArgs {
    /// Channel id.
    pub channel_id: String,
    /// Template name (lowercase letters, digits, underscores).
    pub name: String,
    /// The body, with `{{1}}`… or `{{name}}` placeholders.
    pub body: String,
    /// Language code, e.g. en_US.
    #[arg(long)]
    pub language: String,
    /// MARKETING, UTILITY or AUTHENTICATION.
    #[arg(long, default_value = "UTILITY")]
    pub category: String,
    /// Status to record (default pending; `approved` for a template the
    /// provider approved outside Omnibus).
    #[arg(long, value_parser = parse_status)]
    pub status: Option<TemplateStatus>,
}

/// Arguments of `omnictl window`.
#[derive(Debug, Args)]
pub struct WindowArgs {
    /// Conversation id.
    pub conversation_id: String,
}

/// Parses `approved` or `TEMPLATE_STATUS_APPROVED`.
pub fn parse_status(name: &str) -> Result<TemplateStatus, String> {
    let upper = name.trim().to_ascii_uppercase();
    let short = upper.strip_prefix("TEMPLATE_STATUS_").unwrap_or(&upper);
    TemplateStatus::from_str_name(&format!("TEMPLATE_STATUS_{short}"))
        .filter(|s| *s != TemplateStatus::Unspecified)
        .ok_or_else(|| {
            format!("unknown status {name:?}; use pending, approved, rejected, paused or disabled")
        })
}

/// Runs one `templates` subcommand.
pub async fn run(api: &Api, cmd: TemplatesCmd, out: &mut Output<'_>) -> anyhow::Result<()> {
    let mut client = api.templates();
    match cmd {
        TemplatesCmd::List { channel_id, status } => {
            let request = ListTemplatesRequest {
                channel_id,
                status: status.unwrap_or(TemplateStatus::Unspecified) as i32,
            };
            let templates = client.list_templates(request).await?.into_inner().templates;
            out.emit(
                || json!({ "templates": templates.iter().map(template_json).collect::<Vec<_>>() }),
                || template_table(&templates),
            )?;
        }
        TemplatesCmd::Upsert(args) => {
            let request = UpsertTemplateRequest {
                channel_id: args.channel_id,
                name: args.name,
                language: args.language,
                body: args.body,
                category: args.category,
                status: args.status.unwrap_or(TemplateStatus::Pending) as i32,
            };
            let template = client.upsert_template(request).await?.into_inner();
            out.emit(|| template_json(&template), || template_block(&template))?;
        }
        TemplatesCmd::Delete {
            channel_id,
            name,
            language,
        } => {
            let request = DeleteTemplateRequest {
                channel_id,
                name,
                language,
            };
            let template = client.delete_template(request).await?.into_inner();
            out.emit(
                || template_json(&template),
                || format!("deleted {} ({})\n", template.name, template.language),
            )?;
        }
        TemplatesCmd::Sync { channel_id } => {
            let synced = client
                .sync_templates(SyncTemplatesRequest { channel_id })
                .await?
                .into_inner();
            out.emit(
                || {
                    json!({
                        "added": synced.added,
                        "updated": synced.updated,
                        "removed": synced.removed,
                        "templates": synced.templates.iter().map(template_json).collect::<Vec<_>>(),
                    })
                },
                || {
                    format!(
                        "{} added, {} updated, {} removed\n{}",
                        synced.added,
                        synced.updated,
                        synced.removed,
                        template_table(&synced.templates)
                    )
                },
            )?;
        }
    }
    Ok(())
}

/// Runs `omnictl window <conversation>`.
pub async fn window(api: &Api, args: WindowArgs, out: &mut Output<'_>) -> anyhow::Result<()> {
    let request = GetWindowRequest {
        conversation_id: args.conversation_id,
    };
    let window = api.templates().get_window(request).await?.into_inner();
    out.emit(|| window_json(&window), || window_block(&window))?;
    Ok(())
}

fn status_name(status: i32) -> String {
    TemplateStatus::try_from(status)
        .unwrap_or(TemplateStatus::Unspecified)
        .as_str_name()
        .trim_start_matches("TEMPLATE_STATUS_")
        .to_owned()
}

fn template_json(t: &Template) -> Value {
    json!({
        "channel_id": t.channel_id,
        "name": t.name,
        "language": t.language,
        "body": t.body,
        "category": t.category,
        "status": status_name(t.status),
        "status_reason": t.status_reason,
        "provider_template_id": t.provider_template_id,
        "parameters": t.parameters,
        "updated_at": rfc3339(t.updated_at.as_ref()),
    })
}

fn template_table(templates: &[Template]) -> String {
    let rows: Vec<Vec<String>> = templates
        .iter()
        .map(|t| {
            vec![
                t.name.clone(),
                t.language.clone(),
                status_name(t.status),
                t.category.clone(),
                output::one_line(&t.body, 50),
            ]
        })
        .collect();
    output::table(&["NAME", "LANGUAGE", "STATUS", "CATEGORY", "BODY"], &rows)
}

fn template_block(t: &Template) -> String {
    output::kv(&[
        ("channel", t.channel_id.clone()),
        ("name", t.name.clone()),
        ("language", t.language.clone()),
        ("status", status_name(t.status)),
        ("category", t.category.clone()),
        ("parameters", t.parameters.join(", ")),
        ("body", t.body.clone()),
    ])
}

fn window_json(w: &Window) -> Value {
    json!({
        "open": w.open,
        "windowed": w.windowed,
        "expires_at": rfc3339(w.expires_at.as_ref()),
        "last_customer_message_at": rfc3339(w.last_customer_message_at.as_ref()),
        "held_messages": w.held_messages,
        "human_agent": w.human_agent,
    })
}

fn window_block(w: &Window) -> String {
    let time = |ts: Option<&prost_types::Timestamp>| rfc3339(ts).unwrap_or_else(|| "-".into());
    let state = match (w.windowed, w.open, w.human_agent) {
        (false, _, _) => "no window on this channel",
        (true, true, true) => "open for operators with the HUMAN_AGENT tag (24 hours passed)",
        (true, true, false) => "open",
        (true, false, _) => "closed: only approved templates go out",
    };
    output::kv(&[
        ("window", state.to_owned()),
        ("expires at", time(w.expires_at.as_ref())),
        ("customer wrote", time(w.last_customer_message_at.as_ref())),
        ("held messages", w.held_messages.to_string()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_in_every_spelling() {
        assert_eq!(parse_status("approved"), Ok(TemplateStatus::Approved));
        assert_eq!(
            parse_status("TEMPLATE_STATUS_PAUSED"),
            Ok(TemplateStatus::Paused)
        );
        assert!(parse_status("unspecified").is_err());
        assert!(parse_status("ok").unwrap_err().contains("approved"));
    }

    #[test]
    fn a_closed_window_reads_as_such() {
        let window = Window {
            windowed: true,
            held_messages: 2,
            ..Default::default()
        };
        let text = window_block(&window);
        assert!(text.contains("closed: only approved templates"), "{text}");
        assert!(text.contains("held messages:  2"), "{text}");
        assert_eq!(window_json(&window)["open"], false);
    }
}
