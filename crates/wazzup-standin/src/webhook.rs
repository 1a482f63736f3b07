//! The bodies Wazzup posts to a v3 webhook URL, in their real shape
//! (providers.md §6.2, §6.3). Wazzup signs nothing: when the integration
//! gave it a `crmKey` it sends `Authorization: Bearer <crmKey>`
//! ([`authorization`]).

use serde_json::{Value, json};

/// The account's first WhatsApp channel (providers.md's example).
pub const CHANNEL_ID: &str = "f2071598-110c-4529-a0c8-5bdfdc718957";
/// The account's second WhatsApp number.
pub const SECOND_CHANNEL_ID: &str = "c81a7e55-0b1f-4a8e-9d3c-2f6b7a9e0d14";
/// The account's Instagram channel.
pub const INSTAGRAM_CHANNEL_ID: &str = "5e3b9d21-7c44-4f0e-b8a6-1d2c3e4f5a6b";
/// The customer's WhatsApp chat id (phone digits).
pub const CHAT_ID: &str = "79011112233";
/// A WhatsApp group's chat id.
pub const GROUP_CHAT_ID: &str = "120363025246125486";
/// The moment of the examples.
pub const DATE_TIME: &str = "2025-07-27T14:50:59.220Z";

/// Every message kind [`sample`] builds.
pub const MESSAGE_KINDS: [&str; 14] = [
    "text",
    "image",
    "video",
    "audio",
    "document",
    "vcard",
    "geo",
    "wapi_template",
    "unsupported",
    "missing_call",
    "quoted",
    "edited",
    "deleted",
    "echo",
];

/// The `Authorization` header value Wazzup sends with a `crmKey`.
pub fn authorization(crm_key: &str) -> String {
    format!("Bearer {crm_key}")
}

/// The connection check Wazzup posts when the webhook URL is set.
pub fn test() -> Value {
    json!({ "test": true })
}

/// A body with `messages`.
pub fn messages(messages: Vec<Value>) -> Value {
    json!({ "messages": messages })
}

/// A body with `messages` and `statuses` together.
pub fn messages_and_statuses(messages: Vec<Value>, statuses: Vec<Value>) -> Value {
    json!({ "messages": messages, "statuses": statuses })
}

/// A body with `statuses`.
pub fn statuses(statuses: Vec<Value>) -> Value {
    json!({ "statuses": statuses })
}

/// One status of the message Wazzup knows as `message_id`; `error` for
/// `status: error` (`{"error": "24_HOURS_EXCEEDED", "description": …}`).
pub fn status(message_id: &str, status: &str, error: Option<&str>) -> Value {
    let mut value = json!({
        "messageId": message_id, "timestamp": "2025-07-27T14:53:00.000Z", "status": status
    });
    if let Some(code) = error {
        value["error"] = json!({ "error": code, "description": format!("{code} from Wazzup") });
    }
    value
}

/// An incoming text from the customer on `channel_id`.
pub fn text(channel_id: &str, message_id: &str, text: &str) -> Value {
    json!({
        "messageId": message_id, "dateTime": DATE_TIME, "channelId": channel_id,
        "chatType": "whatsapp", "chatId": CHAT_ID, "type": "text", "isEcho": false,
        "contact": { "name": "Ivan", "phone": CHAT_ID },
        "text": text, "status": "inbound"
    })
}

/// A message of kind `kind` (see [`MESSAGE_KINDS`]) on [`CHANNEL_ID`].
///
/// # Panics
/// On a kind not in [`MESSAGE_KINDS`]: a mistake in the test.
pub fn sample(kind: &str, message_id: &str) -> Value {
    let mut message = text(
        CHANNEL_ID,
        message_id,
        "Hello, is delivery available today?",
    );
    let set = |message: &mut Value, fields: Value| {
        for (key, value) in fields.as_object().into_iter().flatten() {
            message[key] = value.clone();
        }
    };
    match kind {
        "text" => {}
        "image" | "video" | "audio" | "document" => set(
            &mut message,
            json!({
                "type": kind, "text": "",
                "contentUri": format!("https://store.wazzup24.com/{message_id}.bin")
            }),
        ),
        "vcard" => set(
            &mut message,
            json!({ "type": "vcard",
            "text": "BEGIN:VCARD\nVERSION:3.0\nFN:Anna Petrova\nTEL;type=CELL:+79161234567\nEND:VCARD" }),
        ),
        "geo" => set(
            &mut message,
            json!({ "type": "geo", "text": "55.751244, 37.618423" }),
        ),
        "wapi_template" => set(
            &mut message,
            json!({ "type": "wapi_template",
            "text": "Your order 123 is ready" }),
        ),
        "unsupported" => set(&mut message, json!({ "type": "unsupported", "text": "" })),
        "missing_call" => set(&mut message, json!({ "type": "missing_call", "text": "" })),
        "quoted" => set(
            &mut message,
            json!({ "text": "This one",
            "quotedMessage": { "messageId": "earlier-1", "text": "Which color?", "type": "text" } }),
        ),
        "edited" => set(
            &mut message,
            json!({ "isEdited": true, "text": "Edited text",
            "oldInfo": { "text": "Old text" } }),
        ),
        "deleted" => set(
            &mut message,
            json!({ "isDeleted": true,
            "oldInfo": { "text": "Hello, is delivery available today?" } }),
        ),
        "echo" => set(
            &mut message,
            json!({ "isEcho": true, "status": "sent",
            "text": "Sent from the phone", "authorName": "Maria", "sentFromApp": false }),
        ),
        other => panic!("unknown wazzup sample kind {other}"),
    }
    message
}

/// An echo of a message Omnibus sent (`crmMessageId` is our id).
pub fn our_echo(message_id: &str, crm_message_id: &str, text: &str) -> Value {
    let mut message = sample("echo", message_id);
    message["text"] = json!(text);
    message["crmMessageId"] = json!(crm_message_id);
    message["authorName"] = json!("");
    message
}

/// A message in a WhatsApp group, by the member `author_name`.
pub fn group(message_id: &str, author_name: &str, author_id: &str, text: &str) -> Value {
    json!({
        "messageId": message_id, "dateTime": DATE_TIME, "channelId": CHANNEL_ID,
        "chatType": "whatsgroup", "chatId": GROUP_CHAT_ID, "type": "text", "isEcho": false,
        "contact": { "name": "Wholesale buyers" },
        "authorName": author_name, "authorId": author_id,
        "text": text, "status": "inbound"
    })
}
