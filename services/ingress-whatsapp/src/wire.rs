//! serde types of the WhatsApp Cloud API webhook (providers.md §1.3–§1.5),
//! and a parser that tolerates what Meta adds over time.
//!
//! Every field is optional and every list element is decoded on its own: a
//! message of a shape we do not know must not cost the others in the same
//! webhook. Ids and timestamps arrive as strings or numbers depending on the
//! field and the API version, so both are accepted.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The top-level object of every webhook.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Notification {
    /// `whatsapp_business_account`.
    pub object: Option<String>,
    pub entry: Vec<Entry>,
}

/// One business account's changes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Entry {
    /// The WhatsApp Business Account id.
    #[serde(deserialize_with = "lenient_string")]
    pub id: String,
    /// Unix seconds, on account-level fields such as template updates.
    #[serde(deserialize_with = "lenient_string")]
    pub time: String,
    pub changes: Vec<Change>,
}

/// One change: `field` says how to read `value`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Change {
    pub field: String,
    pub value: Value,
}

/// The `value` of the `messages`, `smb_message_echoes` and `calls` fields.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MessagesValue {
    pub metadata: Option<Metadata>,
    pub contacts: Vec<Value>,
    pub messages: Vec<Value>,
    pub statuses: Vec<Value>,
    pub errors: Vec<Value>,
    pub message_echoes: Vec<Value>,
    pub calls: Vec<Value>,
}

/// The business number a change is about.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Metadata {
    #[serde(deserialize_with = "lenient_string")]
    pub phone_number_id: String,
    #[serde(deserialize_with = "lenient_string")]
    pub display_phone_number: String,
}

/// `contacts[]`: who wrote, with their profile name. A customer who took a
/// WhatsApp username may come with only the business-scoped `user_id`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Profile {
    #[serde(deserialize_with = "lenient_string")]
    pub wa_id: String,
    /// The business-scoped user id (BSUID, `US.13491208655302741918`).
    #[serde(deserialize_with = "lenient_string")]
    pub user_id: String,
    /// Some partners put the username beside the profile, Meta inside it.
    pub username: String,
    pub profile: ProfileName,
}

impl Profile {
    /// The username, wherever the webhook put it.
    pub fn username(&self) -> &str {
        if self.profile.username.is_empty() {
            &self.username
        } else {
            &self.profile.username
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProfileName {
    pub name: String,
    pub username: String,
}

/// One inbound message (or an echo: then `to` is the customer).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Message {
    /// The customer's phone number; absent for a customer known only by
    /// their business-scoped user id.
    #[serde(deserialize_with = "lenient_string")]
    pub from: String,
    /// The customer's business-scoped user id (BSUID).
    #[serde(deserialize_with = "lenient_string")]
    pub from_user_id: String,
    /// Set on a message written in a group the business is in.
    #[serde(deserialize_with = "lenient_string")]
    pub group_id: String,
    #[serde(deserialize_with = "lenient_string")]
    pub to: String,
    pub id: String,
    #[serde(deserialize_with = "lenient_string")]
    pub timestamp: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub context: Option<MessageContext>,
    pub text: Option<Text>,
    pub image: Option<Media>,
    pub audio: Option<Media>,
    pub video: Option<Media>,
    pub document: Option<Media>,
    pub sticker: Option<Media>,
    pub location: Option<Place>,
    pub contacts: Option<Vec<Card>>,
    pub interactive: Option<Interactive>,
    pub button: Option<Button>,
    pub reaction: Option<Reaction>,
    pub system: Option<System>,
    pub order: Option<Order>,
    pub edit: Option<Edit>,
    pub revoke: Option<Revoke>,
    pub errors: Vec<GraphErrorObject>,
    pub unsupported: Option<Value>,
}

/// The message a reply quotes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MessageContext {
    #[serde(deserialize_with = "lenient_string")]
    pub from: String,
    pub id: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Text {
    pub body: String,
}

/// An image, audio, video, document or sticker, known by its media id.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Media {
    #[serde(deserialize_with = "lenient_string")]
    pub id: String,
    pub mime_type: String,
    pub caption: String,
    pub filename: String,
    pub url: String,
    /// Audio recorded in WhatsApp (a voice note) rather than a sent file.
    pub voice: bool,
    pub animated: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Place {
    #[serde(deserialize_with = "lenient_f64")]
    pub latitude: f64,
    #[serde(deserialize_with = "lenient_f64")]
    pub longitude: f64,
    pub name: String,
    pub address: String,
}

/// A shared contact card.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Card {
    pub name: CardName,
    pub phones: Vec<CardPhone>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CardName {
    pub formatted_name: String,
    pub first_name: String,
    pub last_name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CardPhone {
    #[serde(deserialize_with = "lenient_string")]
    pub phone: String,
    #[serde(deserialize_with = "lenient_string")]
    pub wa_id: String,
}

/// A reply to an interactive message (reply button, list row, flow).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Interactive {
    #[serde(rename = "type")]
    pub kind: String,
    pub button_reply: Option<Choice>,
    pub list_reply: Option<Choice>,
    pub nfm_reply: Option<FlowReply>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Choice {
    pub id: String,
    pub title: String,
    pub description: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FlowReply {
    pub name: String,
    pub body: String,
    /// The customer's answers: a JSON object written as a string.
    pub response_json: String,
}

/// A cart the customer sent from the business's catalog.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Order {
    #[serde(deserialize_with = "lenient_string")]
    pub catalog_id: String,
    /// The customer's note.
    pub text: String,
    pub product_items: Vec<ProductItem>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProductItem {
    #[serde(deserialize_with = "lenient_string")]
    pub product_retailer_id: String,
    #[serde(deserialize_with = "lenient_string")]
    pub quantity: String,
    #[serde(deserialize_with = "lenient_string")]
    pub item_price: String,
    pub currency: String,
}

/// The customer edited an earlier message: `message` is what it says now.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Edit {
    pub original_message_id: String,
    pub message: Option<Box<Message>>,
}

/// The customer deleted an earlier message.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Revoke {
    pub original_message_id: String,
}

/// A quick-reply button of a template, pressed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Button {
    pub payload: String,
    pub text: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Reaction {
    pub message_id: String,
    /// Empty when the customer removed their reaction.
    pub emoji: String,
}

/// A system notice, e.g. `user_changed_number`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct System {
    pub body: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// An error as webhooks carry it (statuses, unsupported messages).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GraphErrorObject {
    #[serde(deserialize_with = "lenient_i64")]
    pub code: i64,
    pub title: String,
    pub message: String,
    pub error_data: ErrorData,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ErrorData {
    pub details: String,
}

/// A delivery status of an outbound message.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Status {
    pub id: String,
    pub status: String,
    #[serde(deserialize_with = "lenient_string")]
    pub timestamp: String,
    #[serde(deserialize_with = "lenient_string")]
    pub recipient_id: String,
    /// The recipient's business-scoped user id; the only recipient field
    /// when the message went to a customer without a known phone.
    #[serde(deserialize_with = "lenient_string")]
    pub recipient_user_id: String,
    pub recipient_type: String,
    pub errors: Vec<GraphErrorObject>,
}

/// The `value` of `message_template_status_update`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TemplateStatus {
    pub event: String,
    #[serde(deserialize_with = "lenient_string")]
    pub message_template_id: String,
    pub message_template_name: String,
    pub message_template_language: String,
    pub reason: Option<String>,
}

/// One call event of the `calls` field (Business Calling API).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Call {
    pub id: String,
    #[serde(deserialize_with = "lenient_string")]
    pub from: String,
    #[serde(deserialize_with = "lenient_string")]
    pub to: String,
    pub event: String,
    #[serde(deserialize_with = "lenient_string")]
    pub timestamp: String,
    pub direction: String,
    pub status: String,
    #[serde(deserialize_with = "lenient_i64")]
    pub duration: i64,
}

/// Why a body is not a WhatsApp webhook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("not a WhatsApp Cloud API webhook: {0}")]
    NotWhatsapp(String),
}

/// Parses a webhook body. Refuses what is not Meta's envelope at all (not
/// JSON, another `object`, no `entry` list); tolerates everything inside.
pub fn parse_notification(body: &[u8]) -> Result<Notification, ParseError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    let Some(object) = value.as_object() else {
        return Err(ParseError::NotWhatsapp("expected a JSON object".into()));
    };
    match object.get("object").and_then(Value::as_str) {
        None | Some("whatsapp_business_account") => {}
        Some(other) => {
            return Err(ParseError::NotWhatsapp(format!(
                "object is {other:?}, expected \"whatsapp_business_account\""
            )));
        }
    }
    if !object.get("entry").is_some_and(Value::is_array) {
        return Err(ParseError::NotWhatsapp("no entry list".into()));
    }
    // Entries and changes of odd shapes become defaults rather than errors.
    let entries = object["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let entry = entries
        .iter()
        .map(|e| serde_json::from_value(e.clone()).unwrap_or_default())
        .collect();
    Ok(Notification {
        object: Some("whatsapp_business_account".into()),
        entry,
    })
}

/// Decodes one list element, or `None` when it is not of that shape.
pub fn decode<T: serde::de::DeserializeOwned>(value: &Value) -> Option<T> {
    serde_json::from_value(value.clone()).ok()
}

/// A string, a number written as text, or nothing.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    })
}

fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64().unwrap_or_default(),
        Value::String(s) => s.trim().parse().unwrap_or_default(),
        _ => 0,
    })
}

fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64().unwrap_or_default(),
        Value::String(s) => s.trim().parse().unwrap_or_default(),
        _ => 0.0,
    })
}

/// Unix seconds as text → unix ms (0 when unreadable).
pub fn seconds_to_ms(timestamp: &str) -> i64 {
    timestamp
        .trim()
        .parse::<i64>()
        .map(|s| s.saturating_mul(1000))
        .unwrap_or_default()
}
