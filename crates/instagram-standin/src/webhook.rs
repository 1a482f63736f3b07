//! The webhooks Meta posts for Instagram messaging, in their real shape
//! (providers.md §5.2, §5.3), and their `X-Hub-Signature-256`.
//!
//! Direct events are built one by one ([`sample`] covers every kind) and
//! wrapped with [`messaging`]; comments with [`comment`]; [`sign`] gives the
//! header value (the same algorithm as WhatsApp's, so the same function).

use serde_json::{Value, json};

pub use omnibus_whatsapp_standin::webhook::{SIGNATURE_HEADER, sign};

/// The professional account (IGID) of the examples.
pub const ACCOUNT_ID: &str = "17841400000000001";
/// The customer's Instagram-scoped id (IGSID) of the examples.
pub const CUSTOMER_ID: &str = "6543210987654321";
/// The customer's username on comments.
pub const CUSTOMER_USERNAME: &str = "jane.doe";
/// The post comments are under.
pub const MEDIA_ID: &str = "17887498072083520";
/// Milliseconds of the examples' first event.
pub const T0_MS: i64 = 1_717_000_000_000;

/// Every Direct event kind [`sample`] builds.
pub const DIRECT_KINDS: [&str; 14] = [
    "text",
    "image",
    "video",
    "audio",
    "file",
    "share",
    "reply",
    "story_reply",
    "story_mention",
    "reaction",
    "unreact",
    "unsend",
    "read",
    "echo",
];

/// An `object: instagram` webhook with one entry carrying `events` in
/// `messaging[]`.
pub fn messaging(events: Vec<Value>) -> Value {
    json!({ "object": "instagram", "entry": [{
        "id": ACCOUNT_ID, "time": T0_MS, "messaging": events
    }]})
}

/// The same events in `standby[]` (another app holds thread control).
pub fn standby(events: Vec<Value>) -> Value {
    json!({ "object": "instagram", "entry": [{
        "id": ACCOUNT_ID, "time": T0_MS, "standby": events
    }]})
}

/// The App Dashboard's test shape: `changes[]` with `field: messages`.
pub fn dashboard_test(event: Value) -> Value {
    json!({ "object": "instagram", "entry": [{
        "id": ACCOUNT_ID, "time": T0_MS,
        "changes": [{ "field": "messages", "value": event }]
    }]})
}

/// A message from the customer (`sender`) to the account.
pub fn from_customer(mid: &str, message: Value) -> Value {
    let mut message = message;
    message["mid"] = json!(mid);
    json!({
        "sender": { "id": CUSTOMER_ID }, "recipient": { "id": ACCOUNT_ID },
        "timestamp": T0_MS, "message": message
    })
}

/// The Direct event of kind `kind` with message id `mid` (see [`DIRECT_KINDS`]).
///
/// # Panics
/// On a kind not in [`DIRECT_KINDS`]: a mistake in the test.
pub fn sample(kind: &str, mid: &str) -> Value {
    let attachment = |kind: &str, url: &str| json!({ "attachments": [{ "type": kind, "payload": { "url": url } }] });
    let cdn = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1801&signature=abc";
    match kind {
        "text" => from_customer(
            mid,
            json!({ "text": "Hi! Is this jacket still available?" }),
        ),
        "image" | "video" | "audio" | "file" | "share" | "story_mention" => {
            from_customer(mid, attachment(kind, cdn))
        }
        "reply" => from_customer(
            mid,
            json!({ "text": "And in blue?", "reply_to": { "mid": "m_earlier" } }),
        ),
        "story_reply" => from_customer(
            mid,
            json!({ "text": "Love this! Do you ship to Almaty?",
                    "reply_to": { "story": { "id": "18012345678901234", "url": cdn } } }),
        ),
        "reaction" | "unreact" => json!({
            "sender": { "id": CUSTOMER_ID }, "recipient": { "id": ACCOUNT_ID },
            "timestamp": T0_MS,
            "reaction": if kind == "reaction" {
                json!({ "mid": mid, "action": "react", "reaction": "love", "emoji": "\u{2764}" })
            } else {
                json!({ "mid": mid, "action": "unreact" })
            }
        }),
        "unsend" => from_customer(mid, json!({ "is_deleted": true })),
        "read" => json!({
            "sender": { "id": CUSTOMER_ID }, "recipient": { "id": ACCOUNT_ID },
            "timestamp": T0_MS, "read": { "mid": mid }
        }),
        "echo" => json!({
            "sender": { "id": ACCOUNT_ID }, "recipient": { "id": CUSTOMER_ID },
            "timestamp": T0_MS,
            "message": { "mid": mid, "text": "Sent from the phone", "is_echo": true }
        }),
        other => panic!("unknown instagram sample kind {other}"),
    }
}

/// A comment by the customer under [`MEDIA_ID`], in `changes[]`.
pub fn comment(comment_id: &str, text: &str) -> Value {
    json!({ "object": "instagram", "entry": [{
        "id": ACCOUNT_ID, "time": T0_MS / 1000,
        "changes": [{ "field": "comments", "value": comment_value(comment_id, text) }]
    }]})
}

/// The same comment written straight into the entry (Meta's examples page).
pub fn comment_inline(comment_id: &str, text: &str) -> Value {
    json!({ "object": "instagram", "entry": [{
        "id": ACCOUNT_ID, "time": T0_MS / 1000,
        "field": "comments", "value": comment_value(comment_id, text)
    }]})
}

fn comment_value(comment_id: &str, text: &str) -> Value {
    json!({
        "id": comment_id,
        "from": { "id": CUSTOMER_ID, "username": CUSTOMER_USERNAME },
        "text": text,
        "media": { "id": MEDIA_ID, "media_product_type": "FEED" }
    })
}
