//! `omnictl watch`: prints the notification stream for a person, one line
//! per notification, resuming by itself when the server says it fell behind.

use clap::Args;
use omnibus_proto::notification_service_client::NotificationServiceClient;
use omnibus_proto::{Notification, NotificationKind, SubscribeRequest};
use serde_json::{Value, json};
use tonic::Code;
use tonic::transport::Endpoint;

use crate::cli::ApiToken;
use crate::client::{BearerAuth, bearer, normalize_addr};
use crate::error::{ConnectError, UsageError};
use crate::output::{self, Output};

/// Arguments of `watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Only what is assigned to this operator or unassigned.
    #[arg(long, value_name = "ID")]
    pub operator: Option<String>,
    /// Only this kind (repeat for several): new_conversation, new_message,
    /// conversation_assigned, conversation_closed, conversation_reopened,
    /// delivery_failed, unanswered.
    #[arg(long = "kind", value_name = "KIND", value_parser = parse_notification_kind)]
    pub kinds: Vec<NotificationKind>,
    /// Start after this notification id (printed with each line), replaying
    /// what came since.
    #[arg(long, value_name = "ID")]
    pub after: Option<String>,
    /// Stop after printing this many notifications.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

/// Parses a kind by its short or full name, in any case.
pub fn parse_notification_kind(name: &str) -> Result<NotificationKind, String> {
    let upper = name.trim().to_ascii_uppercase();
    let full = if upper.starts_with("NOTIFICATION_KIND_") {
        upper
    } else {
        format!("NOTIFICATION_KIND_{upper}")
    };
    NotificationKind::from_str_name(&full)
        .filter(|k| *k != NotificationKind::Unspecified)
        .ok_or_else(|| {
            format!(
                "unknown notification kind {name:?}; use new_conversation, new_message, \
                 conversation_assigned, conversation_closed, conversation_reopened, \
                 delivery_failed or unanswered"
            )
        })
}

/// Streams notifications to `out` until the server ends the stream, `--count`
/// is reached, or the process is interrupted.
pub async fn run(
    addr: &str,
    token: Option<&ApiToken>,
    args: WatchArgs,
    out: &mut Output<'_>,
) -> anyhow::Result<()> {
    let mut client = connect(addr, token).await?;
    let mut after = args.after.clone().unwrap_or_default();
    let mut printed = 0u64;
    loop {
        let request = SubscribeRequest {
            operator_id: args.operator.clone().unwrap_or_default(),
            kinds: args.kinds.iter().map(|k| *k as i32).collect(),
            after_id: after.clone(),
        };
        let mut stream = client.subscribe(request).await?.into_inner();
        loop {
            if args.count.is_some_and(|count| printed >= count) {
                return Ok(());
            }
            match stream.message().await {
                Ok(Some(note)) => {
                    out.emit_line(|| to_json(&note), || line(&note))?;
                    after.clone_from(&note.id);
                    printed += 1;
                }
                Ok(None) => return Ok(()),
                // Fell behind: the server cut us off; pick up where we were.
                Err(status) if status.code() == Code::ResourceExhausted => {
                    out.emit_line(
                        || json!({"resumed_after": after}),
                        || format!("(fell behind; resuming after {after})"),
                    )?;
                    break;
                }
                Err(status) => return Err(status.into()),
            }
        }
    }
}

type Client = NotificationServiceClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, BearerAuth>,
>;

async fn connect(addr: &str, token: Option<&ApiToken>) -> anyhow::Result<Client> {
    let auth = bearer(token)?;
    let uri = normalize_addr(addr);
    let channel = Endpoint::from_shared(uri.clone())
        .map_err(|e| UsageError::new(format!("invalid --addr {addr:?}: {e}")))?
        .connect()
        .await
        .map_err(|e| ConnectError::new(&uri, &e))?;
    Ok(NotificationServiceClient::with_interceptor(channel, auth))
}

fn short_kind(note: &Notification) -> &'static str {
    note.kind()
        .as_str_name()
        .strip_prefix("NOTIFICATION_KIND_")
        .unwrap_or("UNSPECIFIED")
}

/// `<time>  <KIND>  <conversation>  <text>  [<id>]`
fn line(note: &Notification) -> String {
    let time = crate::json::rfc3339(note.created_at.as_ref()).unwrap_or_else(|| "-".into());
    format!(
        "{time}  {:<21}  {}  {}  [{}]",
        short_kind(note),
        note.conversation_id,
        output::one_line(&note.text, 80),
        note.id
    )
}

fn to_json(note: &Notification) -> Value {
    json!({
        "id": note.id,
        "kind": short_kind(note),
        "conversation_id": note.conversation_id,
        "channel_id": note.channel_id,
        "message_id": note.message_id,
        "operator_id": note.operator_id,
        "text": note.text,
        "created_at": crate::json::rfc3339(note.created_at.as_ref()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_by_short_or_full_name() {
        assert_eq!(
            parse_notification_kind("new_message"),
            Ok(NotificationKind::NewMessage)
        );
        assert_eq!(
            parse_notification_kind("NOTIFICATION_KIND_UNANSWERED"),
            Ok(NotificationKind::Unanswered)
        );
        assert!(parse_notification_kind("unspecified").is_err());
        assert!(parse_notification_kind("nope").is_err());
    }
}
