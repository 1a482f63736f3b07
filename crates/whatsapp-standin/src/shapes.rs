//! Newer webhook shapes of the Cloud API, as Meta's references show them:
//! customers known by a business-scoped user id (usernames), carts
//! (`order`), WhatsApp Flow answers (`nfm_reply`), edits and deletions
//! (`edit`, `revoke`), messages in groups (`group_id`), and a type no
//! client knows yet.

use serde_json::{Value, json};

use crate::webhook::{change, envelope, message, metadata, text};

/// The business-scoped user id of the examples (Meta's own).
pub const USER_ID: &str = "US.13491208655302741918";
/// The customer's WhatsApp username.
pub const USERNAME: &str = "sheena.nelson";
/// A group the business is in (Meta's Groups API id).
pub const GROUP_ID: &str = "Y2FwaV9ncm91cDoxNjUwNTU1MTIzNDoxMjAzNjM0MDQ4MzA3";

/// A customer with a username: always a user id, a phone only when
/// WhatsApp shares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCustomer {
    pub user_id: String,
    pub username: String,
    pub name: String,
    /// `wa_id`/`from`, when WhatsApp shares the phone.
    pub phone: Option<String>,
}

impl Default for UserCustomer {
    fn default() -> Self {
        Self {
            user_id: USER_ID.into(),
            username: USERNAME.into(),
            name: "Sheena Nelson".into(),
            phone: None,
        }
    }
}

impl UserCustomer {
    /// The same customer, with the phone WhatsApp now shares.
    pub fn with_phone(mut self, phone: &str) -> Self {
        self.phone = Some(phone.to_owned());
        self
    }

    /// `contacts[]` of a webhook from this customer.
    fn contact(&self) -> Value {
        let mut contact = json!({
            "profile": { "name": self.name, "username": self.username },
            "user_id": self.user_id,
        });
        if let Some(phone) = &self.phone {
            contact["wa_id"] = json!(phone);
        }
        contact
    }

    /// A text from this customer: `from_user_id`, and `from` only with a phone.
    pub fn text(&self, wamid: &str, timestamp: i64, body: &str) -> Value {
        let mut message = text(
            self.phone.as_deref().unwrap_or_default(),
            wamid,
            timestamp,
            body,
        );
        if self.phone.is_none() {
            message
                .as_object_mut()
                .map(|m| m.remove("from"))
                .unwrap_or_default();
        }
        message["from_user_id"] = json!(self.user_id);
        message
    }
}

/// A `field: messages` payload of `messages` from `customer`.
pub fn from_user(phone_number_id: &str, customer: &UserCustomer, messages: Vec<Value>) -> Value {
    let value = json!({
        "messaging_product": "whatsapp",
        "metadata": metadata(phone_number_id),
        "contacts": [customer.contact()],
        "messages": messages,
    });
    envelope(vec![change("messages", value)])
}

/// A status of a message sent to a customer by user id: `recipient_user_id`
/// and no `recipient_id`.
pub fn user_status(wamid: &str, status: &str, timestamp: i64, user_id: &str) -> Value {
    json!({
        "id": wamid,
        "status": status,
        "timestamp": timestamp.to_string(),
        "recipient_user_id": user_id,
    })
}

/// A cart of two items with a note (`type: order`).
pub fn order(from: &str, wamid: &str, timestamp: i64) -> Value {
    message(
        from,
        wamid,
        timestamp,
        "order",
        json!({
            "catalog_id": "194836987003835",
            "text": "Please gift-wrap the mug",
            "product_items": [
                { "product_retailer_id": "mug-blue", "quantity": "2", "item_price": "12.5", "currency": "USD" },
                { "product_retailer_id": "tee-m", "quantity": 1, "item_price": 20, "currency": "USD" },
            ],
        }),
    )
}

/// A WhatsApp Flow's answers (`interactive.type: nfm_reply`).
pub fn flow_reply(from: &str, wamid: &str, timestamp: i64) -> Value {
    let answers = json!({
        "flow_token": "AQAAAAACS5FpgQ_cAAAAAD0QI3s.",
        "delivery_date": "2026-12-24",
        "size": "M",
        "wants_newsletter": true,
    });
    message(
        from,
        wamid,
        timestamp,
        "interactive",
        json!({
            "type": "nfm_reply",
            "nfm_reply": { "name": "flow", "body": "Sent", "response_json": answers.to_string() },
        }),
    )
}

/// The customer edited `original` to say `body` (`type: edit`).
pub fn edit(from: &str, wamid: &str, timestamp: i64, original: &str, body: &str) -> Value {
    message(
        from,
        wamid,
        timestamp,
        "edit",
        json!({
            "original_message_id": original,
            "message": { "type": "text", "text": { "body": body } },
        }),
    )
}

/// The customer deleted `original` (`type: revoke`).
pub fn revoke(from: &str, wamid: &str, timestamp: i64, original: &str) -> Value {
    message(
        from,
        wamid,
        timestamp,
        "revoke",
        json!({ "original_message_id": original }),
    )
}

/// `message` written in the group `group_id`.
pub fn in_group(mut message: Value, group_id: &str) -> Value {
    message["group_id"] = json!(group_id);
    message
}

/// A message of a type no client knows (`kind`), with its own object.
pub fn of_unknown_kind(from: &str, wamid: &str, timestamp: i64, kind: &str) -> Value {
    message(
        from,
        wamid,
        timestamp,
        kind,
        json!({ "question": "Tea or coffee?" }),
    )
}

/// A `field: messages` payload of messages written in a group by several
/// members: `contacts[]` names each author.
pub fn group_messages(
    phone_number_id: &str,
    members: &[(&str, &str)],
    messages: Vec<Value>,
) -> Value {
    let contacts: Vec<Value> = members
        .iter()
        .map(|(wa_id, name)| json!({ "profile": { "name": name }, "wa_id": wa_id }))
        .collect();
    let value = json!({
        "messaging_product": "whatsapp",
        "metadata": metadata(phone_number_id),
        "contacts": contacts,
        "messages": messages,
    });
    envelope(vec![change("messages", value)])
}
