//! Structured answers a customer sends: a cart from the business's catalog
//! (`type: order`) and the answers of a WhatsApp Flow (`interactive.type:
//! nfm_reply`), written as text an operator reads at a glance.

use serde_json::Value;

use crate::wire::{FlowReply, Order};

/// The most answers of a flow shown; the rest are counted.
const MAX_ANSWERS: usize = 50;
/// The longest answer shown, in characters.
const MAX_ANSWER_CHARS: usize = 500;

/// `Order from catalog <id>:`, one line per item, then the customer's note.
pub(super) fn order(order: &Order) -> String {
    let mut lines = vec![if order.catalog_id.is_empty() {
        "Order:".to_owned()
    } else {
        format!("Order from catalog {}:", order.catalog_id)
    }];
    for item in &order.product_items {
        let quantity = if item.quantity.is_empty() {
            "1"
        } else {
            &item.quantity
        };
        let mut line = format!("- {quantity} × {}", item.product_retailer_id);
        if !item.item_price.is_empty() {
            line.push_str(&format!(" at {} {}", item.item_price, item.currency));
        }
        lines.push(line.trim_end().to_owned());
    }
    if order.product_items.is_empty() {
        lines.push("(no items)".to_owned());
    }
    if !order.text.trim().is_empty() {
        lines.push(format!("Note: {}", order.text.trim()));
    }
    lines.join("\n")
}

/// The flow's answers as `name: value` lines (the `flow_token` left out),
/// or its body when `response_json` holds none.
pub(super) fn flow(flow: &FlowReply) -> String {
    let answers = answers(&flow.response_json);
    if answers.is_empty() {
        return if flow.body.is_empty() {
            format!("(answered the form {})", flow.name)
        } else {
            flow.body.clone()
        };
    }
    let mut lines = Vec::with_capacity(answers.len().min(MAX_ANSWERS) + 1);
    for (name, value) in answers.iter().take(MAX_ANSWERS) {
        lines.push(format!("{name}: {value}"));
    }
    if answers.len() > MAX_ANSWERS {
        lines.push(format!(
            "(and {} more answers)",
            answers.len() - MAX_ANSWERS
        ));
    }
    lines.join("\n")
}

/// The answers in `response_json`, by name; none when it is not a
/// JSON object.
fn answers(response_json: &str) -> Vec<(String, String)> {
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(response_json) else {
        return Vec::new();
    };
    fields
        .into_iter()
        .filter(|(name, _)| name != "flow_token")
        .map(|(name, value)| (name, shown(&value)))
        .collect()
}

fn shown(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(shown).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    };
    if text.chars().count() > MAX_ANSWER_CHARS {
        let cut: String = text.chars().take(MAX_ANSWER_CHARS).collect();
        format!("{cut}…")
    } else {
        text
    }
}
