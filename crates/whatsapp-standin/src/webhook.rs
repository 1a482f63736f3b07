//! The webhooks Meta posts to a WhatsApp Cloud API app, built in their real
//! shape (providers.md §1.3–§1.5), and their `X-Hub-Signature-256`.
//!
//! Messages are built one by one ([`sample`] covers every type) and wrapped
//! in a payload with [`messages`]; statuses with [`statuses`]; template
//! status updates with [`template_status`]. [`sign`] gives the header value.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// The header Meta signs every POST with.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";
/// The business number's id in the examples of providers.md.
pub const PHONE_NUMBER_ID: &str = "106540352242922";
/// The business number as Meta writes it in `metadata`.
pub const DISPLAY_PHONE_NUMBER: &str = "15550783881";
/// The WhatsApp Business Account id (`entry[].id`).
pub const BUSINESS_ACCOUNT_ID: &str = "102290129340398";

/// Every message type [`sample`] builds.
pub const MESSAGE_KINDS: [&str; 16] = [
    "text",
    "image",
    "audio",
    "voice",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "button_reply",
    "list_reply",
    "button",
    "reaction",
    "unsupported",
    "system",
    "errors",
];

/// `sha256=<hex HMAC-SHA256(app_secret, body)>`, the header value Meta sends.
pub fn sign(app_secret: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).expect("hmac accepts any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The customer writing: `wa_id` (digits of the phone) and profile name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// The WhatsApp id, the phone number in E.164 without `+`.
    pub wa_id: String,
    /// `contacts[].profile.name`.
    pub name: String,
}

impl Default for Customer {
    fn default() -> Self {
        Self {
            wa_id: "16505551234".into(),
            name: "Sheena Nelson".into(),
        }
    }
}

/// A `field: messages` payload carrying `messages` from `customer` to the
/// business number `phone_number_id`.
pub fn messages(phone_number_id: &str, customer: &Customer, messages: Vec<Value>) -> Value {
    let value = json!({
        "messaging_product": "whatsapp",
        "metadata": metadata(phone_number_id),
        "contacts": [{ "profile": { "name": customer.name }, "wa_id": customer.wa_id }],
        "messages": messages,
    });
    envelope(vec![change("messages", value)])
}

/// A `field: messages` payload carrying delivery `statuses`.
pub fn statuses(phone_number_id: &str, statuses: Vec<Value>) -> Value {
    let value = json!({
        "messaging_product": "whatsapp",
        "metadata": metadata(phone_number_id),
        "statuses": statuses,
    });
    envelope(vec![change("messages", value)])
}

/// One entry per `(phone_number_id, payload)`: the `changes` of several
/// payloads in one webhook, as Meta batches them.
pub fn batch(payloads: &[Value]) -> Value {
    let changes: Vec<Value> = payloads
        .iter()
        .flat_map(|p| p["entry"].as_array().cloned().unwrap_or_default())
        .collect();
    json!({ "object": "whatsapp_business_account", "entry": changes })
}

/// A `message_template_status_update` (APPROVED, REJECTED, PAUSED, …).
pub fn template_status(
    template_id: i64,
    name: &str,
    language: &str,
    event: &str,
    reason: &str,
) -> Value {
    let value = json!({
        "event": event,
        "message_template_id": template_id,
        "message_template_name": name,
        "message_template_language": language,
        "reason": reason,
    });
    envelope(vec![change("message_template_status_update", value)])
}

/// An `smb_message_echoes` payload: a text the business sent from the
/// WhatsApp Business app on its phone.
pub fn echo(phone_number_id: &str, to: &str, wamid: &str, timestamp: i64, text: &str) -> Value {
    let value = json!({
        "messaging_product": "whatsapp",
        "metadata": metadata(phone_number_id),
        "message_echoes": [{
            "from": DISPLAY_PHONE_NUMBER,
            "to": to,
            "id": wamid,
            "timestamp": timestamp.to_string(),
            "type": "text",
            "text": { "body": text },
        }],
    });
    envelope(vec![change("smb_message_echoes", value)])
}

/// A `calls` payload (Business Calling API): the customer called.
pub fn call(
    phone_number_id: &str,
    customer: &Customer,
    call_id: &str,
    event: &str,
    timestamp: i64,
) -> Value {
    let value = json!({
        "messaging_product": "whatsapp",
        "metadata": metadata(phone_number_id),
        "contacts": [{ "profile": { "name": customer.name }, "wa_id": customer.wa_id }],
        "calls": [{
            "id": call_id,
            "from": customer.wa_id,
            "to": DISPLAY_PHONE_NUMBER,
            "event": event,
            "timestamp": timestamp.to_string(),
            "direction": "USER_INITIATED",
            "status": if event == "terminate" { "Completed" } else { "Ringing" },
            "duration": if event == "terminate" { json!(42) } else { Value::Null },
        }],
    });
    envelope(vec![change("calls", value)])
}

pub(crate) fn metadata(phone_number_id: &str) -> Value {
    json!({ "display_phone_number": DISPLAY_PHONE_NUMBER, "phone_number_id": phone_number_id })
}

pub(crate) fn change(field: &str, value: Value) -> Value {
    json!({ "value": value, "field": field })
}

pub(crate) fn envelope(changes: Vec<Value>) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": BUSINESS_ACCOUNT_ID, "changes": changes }],
    })
}

// === messages ===

/// A message of `kind` with its `content` object (`{"body": …}` for text).
pub fn message(from: &str, wamid: &str, timestamp: i64, kind: &str, content: Value) -> Value {
    let mut message = json!({
        "from": from,
        "id": wamid,
        "timestamp": timestamp.to_string(),
        "type": kind,
    });
    message[kind] = content;
    message
}

/// A text message.
pub fn text(from: &str, wamid: &str, timestamp: i64, body: &str) -> Value {
    message(from, wamid, timestamp, "text", json!({ "body": body }))
}

/// `message` quoting `quoted_wamid` (a reply): Meta adds `context`.
pub fn replying_to(mut message: Value, quoted_from: &str, quoted_wamid: &str) -> Value {
    message["context"] = json!({ "from": quoted_from, "id": quoted_wamid });
    message
}

/// A realistic message of every type in [`MESSAGE_KINDS`], as Meta's
/// reference pages show them; `None` for an unknown kind.
pub fn sample(kind: &str, from: &str, wamid: &str, timestamp: i64) -> Option<Value> {
    let m = |kind: &str, content: Value| Some(message(from, wamid, timestamp, kind, content));
    match kind {
        "text" => Some(text(
            from,
            wamid,
            timestamp,
            "Does it come in another color?",
        )),
        "image" => m(
            "image",
            json!({
                "caption": "Photo of the damaged box",
                "mime_type": "image/jpeg",
                "sha256": "81d3bd8a8db4868c9520ed47186e8b7c5789e61ff79f7f834be6950b808a90d3",
                "id": "2754859441498128",
            }),
        ),
        "audio" => m(
            "audio",
            json!({
                "mime_type": "audio/mpeg", "sha256": "4f3a9c", "id": "1003383421387256", "voice": false,
            }),
        ),
        "voice" => m(
            "audio",
            json!({
                "mime_type": "audio/ogg; codecs=opus", "sha256": "9b2f4e", "id": "1003383421387257",
                "voice": true,
            }),
        ),
        "video" => m(
            "video",
            json!({
                "caption": "Unboxing", "mime_type": "video/mp4", "sha256": "c0ffee", "id": "1184104909773373",
            }),
        ),
        "document" => m(
            "document",
            json!({
                "caption": "My invoice", "filename": "invoice-A12345.pdf", "mime_type": "application/pdf",
                "sha256": "d0c0ffee", "id": "1229413348612353",
            }),
        ),
        "sticker" => m(
            "sticker",
            json!({
                "mime_type": "image/webp", "sha256": "5t1ck3r", "id": "1312245659870264", "animated": false,
            }),
        ),
        "location" => m(
            "location",
            json!({
                "latitude": 37.483307, "longitude": -122.148981,
                "name": "Philz Coffee", "address": "101 Forest Ave, Palo Alto, CA 94301",
                "url": "https://philzcoffee.com",
            }),
        ),
        "contacts" => Some(message(
            from,
            wamid,
            timestamp,
            "contacts",
            json!([{
                "name": { "formatted_name": "Barbara Johnson", "first_name": "Barbara", "last_name": "Johnson" },
                "phones": [{ "phone": "+1 (940) 555-1234", "wa_id": "19405551234", "type": "MOBILE" }],
            }]),
        )),
        "button_reply" => m(
            "interactive",
            json!({
                "type": "button_reply",
                "button_reply": { "id": "change-button", "title": "Change" },
            }),
        ),
        "list_reply" => m(
            "interactive",
            json!({
                "type": "list_reply",
                "list_reply": { "id": "priority_express", "title": "Express Shipping",
                                "description": "Next Day to 2 Days" },
            }),
        ),
        "button" => m(
            "button",
            json!({ "payload": "Unsubscribe", "text": "Stop promotions" }),
        ),
        "reaction" => m(
            "reaction",
            json!({
                "message_id": "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                "emoji": "\u{1F44D}",
            }),
        ),
        "unsupported" => Some(json!({
            "from": from, "id": wamid, "timestamp": timestamp.to_string(), "type": "unsupported",
            "errors": [{
                "code": 131051, "title": "Message type unknown", "message": "Message type unknown",
                "error_data": { "details": "Message type is currently not supported." },
            }],
            "unsupported": { "type": "poll" },
        })),
        "system" => m(
            "system",
            json!({
                "body": format!("User {from} changed from {from} to 16505559999"),
                "wa_id": "16505559999", "type": "user_changed_number",
            }),
        ),
        "errors" => Some(json!({
            "from": from, "id": wamid, "timestamp": timestamp.to_string(), "type": "unknown",
            "errors": [{
                "code": 131060, "title": "Message couldn't be processed",
                "message": "Message couldn't be processed",
                "error_data": { "details": "The message could not be decrypted." },
            }],
        })),
        _ => None,
    }
}

/// A status of an outbound message: `sent`, `delivered` or `read`.
pub fn status(wamid: &str, status: &str, timestamp: i64, recipient: &str) -> Value {
    let mut value = json!({
        "id": wamid,
        "status": status,
        "timestamp": timestamp.to_string(),
        "recipient_id": recipient,
    });
    if status == "sent" {
        value["conversation"] = json!({
            "id": "a75d17ad06104c51166f948319b03c6a",
            "expiration_timestamp": (timestamp + 86_400).to_string(),
            "origin": { "type": "service" },
        });
        value["pricing"] =
            json!({ "billable": true, "pricing_model": "CBP", "category": "service" });
    }
    value
}

/// A `failed` status with one error.
pub fn failed_status(
    wamid: &str,
    timestamp: i64,
    recipient: &str,
    code: i64,
    title: &str,
    details: &str,
) -> Value {
    json!({
        "id": wamid,
        "status": "failed",
        "timestamp": timestamp.to_string(),
        "recipient_id": recipient,
        "errors": [{
            "code": code,
            "title": title,
            "message": title,
            "error_data": { "details": details },
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
        }],
    })
}
