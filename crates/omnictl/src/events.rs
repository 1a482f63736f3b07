//! `omnictl conversations events <id>`: a conversation's audit trail from
//! the event stream (`ListConversationEvents`), one line per event.

use omnibus_proto::{ConversationEvent, ListConversationEventsRequest};
use serde_json::{Value, json};

use crate::client::Api;
use crate::json::rfc3339;
use crate::output::{self, Output};

/// Prints every event of conversation `id`, oldest first.
pub async fn run(api: &Api, id: String, out: &mut Output<'_>) -> anyhow::Result<()> {
    let request = ListConversationEventsRequest {
        conversation_id: id,
    };
    let events = api
        .conversations()
        .list_conversation_events(request)
        .await?
        .into_inner()
        .events;
    out.emit(
        || json!({ "events": events.iter().map(event_json).collect::<Vec<_>>() }),
        || event_table(&events),
    )?;
    Ok(())
}

/// An event as JSON, its stored form (`json`) parsed back into an object.
pub fn event_json(e: &ConversationEvent) -> Value {
    json!({
        "sequence": e.sequence,
        "id": e.id,
        "kind": e.kind,
        "created_at": rfc3339(e.created_at.as_ref()),
        "recorded_at": rfc3339(e.recorded_at.as_ref()),
        "message_id": e.message_id,
        "provider_id": e.provider_id,
        "event": serde_json::from_str::<Value>(&e.json).unwrap_or(Value::Null),
    })
}

fn event_table(events: &[ConversationEvent]) -> String {
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            vec![
                e.sequence.to_string(),
                rfc3339(e.created_at.as_ref()).unwrap_or_else(|| "-".to_owned()),
                e.kind.clone(),
                dash(&e.message_id),
                dash(&e.provider_id),
            ]
        })
        .collect();
    output::table(&["SEQ", "TIME", "KIND", "MESSAGE", "PROVIDER_ID"], &rows)
}

fn dash(value: &str) -> String {
    if value.is_empty() {
        "-".to_owned()
    } else {
        value.to_owned()
    }
}
