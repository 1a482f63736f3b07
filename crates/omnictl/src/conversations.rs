//! `omnictl conversations …`: list, show and act on conversations.

use omnibus_proto::{
    AssignConversationRequest, CloseConversationRequest, Conversation, ConversationStatus,
    GetConversationRequest, ListConversationsRequest, ListMessagesRequest,
    MarkNoReplyNeededRequest, MarkReadRequest, Message, StartConversationRequest,
};
use serde_json::json;

use crate::cli::{ConversationListArgs, ConversationStartArgs, ConversationsCmd, StatusArg};
use crate::client::{Api, collect_pages, or_empty};
use crate::json;
use crate::output::{self, Output};

/// Runs one `conversations` subcommand.
pub async fn run(api: &Api, cmd: ConversationsCmd, out: &mut Output<'_>) -> anyhow::Result<()> {
    let mut client = api.conversations();
    let conversation = match cmd {
        ConversationsCmd::List(args) => return list(api, args, out).await,
        ConversationsCmd::Show { id, limit } => return show(api, id, limit, out).await,
        ConversationsCmd::Start(args) => return start(api, args, out).await,
        ConversationsCmd::Events { id } => return crate::events::run(api, id, out).await,
        ConversationsCmd::Close { id, operator } => {
            let request = CloseConversationRequest {
                id,
                operator_id: or_empty(operator),
            };
            client.close_conversation(request).await?
        }
        ConversationsCmd::Assign {
            id,
            operator,
            group,
        } => {
            let request = AssignConversationRequest {
                id,
                operator_id: or_empty(operator),
                group_id: or_empty(group),
            };
            client.assign_conversation(request).await?
        }
        ConversationsCmd::Read { id } => client.mark_read(MarkReadRequest { id }).await?,
        ConversationsCmd::NoReplyNeeded { id } => {
            client
                .mark_no_reply_needed(MarkNoReplyNeededRequest { id })
                .await?
        }
    }
    .into_inner();
    emit_conversation(&conversation, out)
}

fn emit_conversation(conversation: &Conversation, out: &mut Output<'_>) -> anyhow::Result<()> {
    out.emit(
        || json::conversation(conversation),
        || output::conversation_block(conversation),
    )?;
    Ok(())
}

/// Maps the `--status` flag to the proto filter (none lists both).
pub fn status_filter(status: Option<StatusArg>) -> ConversationStatus {
    match status {
        None => ConversationStatus::Unspecified,
        Some(StatusArg::Open) => ConversationStatus::Open,
        Some(StatusArg::Closed) => ConversationStatus::Closed,
    }
}

/// Builds the first `ListConversations` request from the flags.
pub fn list_request(args: &ConversationListArgs) -> ListConversationsRequest {
    ListConversationsRequest {
        status: status_filter(args.status).into(),
        channel_id: args.channel_id.clone().unwrap_or_default(),
        assignee_id: args.assignee_id.clone().unwrap_or_default(),
        unanswered_only: args.unanswered,
        query: args.query.clone().unwrap_or_default(),
        page_size: args.page.page_size.unwrap_or(0),
        page_token: args.page.page_token.clone(),
        contact_id: args.contact_id.clone().unwrap_or_default(),
        group_id: args.group_id.clone().unwrap_or_default(),
        unassigned_only: args.unassigned,
    }
}

async fn list(api: &Api, args: ConversationListArgs, out: &mut Output<'_>) -> anyhow::Result<()> {
    let client = api.conversations();
    let template = list_request(&args);
    let first = template.page_token.clone();
    let (conversations, next) = collect_pages(first, args.page.all, |page_token| {
        let mut client = client.clone();
        let request = ListConversationsRequest {
            page_token,
            ..template.clone()
        };
        async move {
            let page = client.list_conversations(request).await?.into_inner();
            Ok((page.conversations, page.next_page_token))
        }
    })
    .await?;
    out.emit(
        || {
            let items = conversations.iter().map(json::conversation).collect();
            json::page("conversations", items, &next)
        },
        || output::conversation_table(&conversations) + &output::next_page_hint(&next),
    )?;
    Ok(())
}

async fn show(api: &Api, id: String, limit: usize, out: &mut Output<'_>) -> anyhow::Result<()> {
    let mut client = api.conversations();
    let conversation = client
        .get_conversation(GetConversationRequest { id: id.clone() })
        .await?
        .into_inner();
    let messages = latest_messages(api, &id, limit).await?;
    out.emit(
        || {
            json!({
                "conversation": json::conversation(&conversation),
                "messages": messages.iter().map(json::message).collect::<Vec<_>>(),
            })
        },
        || {
            let mut text = output::conversation_block(&conversation);
            text.push('\n');
            if messages.is_empty() {
                text.push_str("(no messages)\n");
            } else {
                text.push_str(&output::message_table(&messages));
            }
            text
        },
    )?;
    Ok(())
}

/// Returns the last `limit` messages, oldest first. `ListMessages` pages
/// from the oldest, so this follows every page and keeps the tail.
async fn latest_messages(api: &Api, id: &str, limit: usize) -> anyhow::Result<Vec<Message>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let client = api.conversations();
    let (mut messages, _) = collect_pages(String::new(), true, |page_token| {
        let mut client = client.clone();
        let request = ListMessagesRequest {
            conversation_id: id.to_owned(),
            page_size: 0,
            page_token,
        };
        async move {
            let page = client.list_messages(request).await?.into_inner();
            Ok((page.messages, page.next_page_token))
        }
    })
    .await?;
    let skip = messages.len().saturating_sub(limit);
    messages.drain(..skip);
    Ok(messages)
}

async fn start(api: &Api, args: ConversationStartArgs, out: &mut Output<'_>) -> anyhow::Result<()> {
    let request = StartConversationRequest {
        contact_id: or_empty(args.contact_id),
        channel_id: args.channel_id,
        text: or_empty(args.text),
        template: args.template.to_ref(),
        operator_id: or_empty(args.operator),
        phone: or_empty(args.phone),
        idempotency_key: or_empty(args.idempotency_key),
    };
    let conversation = api
        .conversations()
        .start_conversation(request)
        .await?
        .into_inner();
    emit_conversation(&conversation, out)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn list_args(argv: &[&str]) -> ConversationListArgs {
        let cli = Cli::try_parse_from(argv).unwrap();
        match cli.command {
            Command::Conversations(ConversationsCmd::List(args)) => args,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn list_flags_become_the_request() {
        let args = list_args(&[
            "omnictl",
            "conversations",
            "list",
            "--status",
            "open",
            "--channel",
            "ch_1",
            "--assignee",
            "op_7",
            "--unanswered",
            "--query",
            "refund",
            "--contact",
            "ct_3",
            "--page-size",
            "50",
            "--page-token",
            "t1",
        ]);
        let request = list_request(&args);
        assert_eq!(request.status(), ConversationStatus::Open);
        assert_eq!(request.channel_id, "ch_1");
        assert_eq!(request.assignee_id, "op_7");
        assert!(request.unanswered_only);
        assert_eq!(request.query, "refund");
        assert_eq!(request.contact_id, "ct_3");
        assert_eq!(request.page_size, 50);
        assert_eq!(request.page_token, "t1");
    }

    #[test]
    fn no_status_lists_both() {
        let request = list_request(&list_args(&["omnictl", "conversations", "list"]));
        assert_eq!(request.status(), ConversationStatus::Unspecified);
        assert!(!request.unanswered_only);
    }
}
