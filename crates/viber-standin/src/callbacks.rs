//! The callbacks Viber POSTs to a bot's webhook (providers.md §3.3), with
//! their `X-Viber-Content-Signature`.
//!
//! Every builder returns the JSON body; [`signed`] serializes it and signs
//! it with the bot's auth token, as Viber does.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// The header Viber signs callbacks with.
pub const SIGNATURE_HEADER: &str = "X-Viber-Content-Signature";

/// `hex(HMAC-SHA256(auth_token, body))`, lowercase, no prefix.
pub fn sign(auth_token: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length, an empty one included.
    let mut mac = Hmac::<Sha256>::new_from_slice(auth_token.as_bytes())
        .unwrap_or_else(|_| unreachable!("hmac accepts keys of any length"));
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The body as bytes and its signature header value.
pub fn signed(auth_token: &str, callback: &Value) -> (Vec<u8>, String) {
    let body = callback.to_string().into_bytes();
    let signature = sign(auth_token, &body);
    (body, signature)
}

/// A Viber user as callbacks describe them.
pub fn user(id: &str, name: &str) -> Value {
    json!({
        "id": id,
        "name": name,
        "avatar": "http://avatar.example.com/a.jpg",
        "country": "UK",
        "language": "en",
        "api_version": 10,
    })
}

/// A `message` callback from `user_id` carrying `message` (a `message`
/// object: see [`text`], [`picture`], …).
pub fn message(token: u64, user_id: &str, name: &str, message: Value) -> Value {
    json!({
        "event": "message",
        "timestamp": 1_457_764_197_627_u64 + token % 1000,
        "chat_hostname": "SN-CHAT-05_",
        "message_token": token,
        "sender": user(user_id, name),
        "message": message,
        "silent": false,
    })
}

/// A `text` message object.
pub fn text(text: &str) -> Value {
    json!({ "type": "text", "text": text })
}

/// A `picture` with a caption.
pub fn picture(url: &str, caption: &str) -> Value {
    json!({ "type": "picture", "text": caption, "media": url, "thumbnail": url, "file_name": "photo.jpg", "size": 34567 })
}

/// A `video`.
pub fn video(url: &str, size: u64) -> Value {
    json!({ "type": "video", "media": url, "thumbnail": url, "size": size, "duration": 12 })
}

/// A `file`.
pub fn file(url: &str, file_name: &str, size: u64) -> Value {
    json!({ "type": "file", "media": url, "file_name": file_name, "size": size })
}

/// A `sticker`.
pub fn sticker(sticker_id: u64) -> Value {
    json!({ "type": "sticker", "sticker_id": sticker_id, "media": format!("https://viber.example/stickers/{sticker_id}.png") })
}

/// A shared `contact`.
pub fn contact(name: &str, phone: &str) -> Value {
    json!({ "type": "contact", "contact": { "name": name, "phone_number": phone, "avatar": "" } })
}

/// A shared `location`.
pub fn location(lat: f64, lon: f64) -> Value {
    json!({ "type": "location", "location": { "lat": lat, "lon": lon } })
}

/// A shared `url`.
pub fn url(url: &str) -> Value {
    json!({ "type": "url", "media": url })
}

/// A `delivered`, `seen` or `failed` callback about our message `token`.
pub fn status(event: &str, token: u64, user_id: &str, desc: &str) -> Value {
    let mut callback = json!({
        "event": event,
        "timestamp": 1_457_764_198_000_u64,
        "chat_hostname": "SN-CHAT-05_",
        "message_token": token,
        "user_id": user_id,
    });
    if event == "failed" {
        callback["desc"] = json!(desc);
    }
    callback
}

/// `subscribed`.
pub fn subscribed(token: u64, user_id: &str, name: &str) -> Value {
    json!({
        "event": "subscribed",
        "timestamp": 1_457_764_199_000_u64,
        "chat_hostname": "SN-CHAT-05_",
        "user": user(user_id, name),
        "message_token": token,
    })
}

/// `unsubscribed` (it names the user by `user_id` only).
pub fn unsubscribed(token: u64, user_id: &str) -> Value {
    json!({
        "event": "unsubscribed",
        "timestamp": 1_457_764_200_000_u64,
        "chat_hostname": "SN-CHAT-05_",
        "user_id": user_id,
        "message_token": token,
    })
}

/// `conversation_started`: the customer opened the chat.
pub fn conversation_started(token: u64, user_id: &str, name: &str) -> Value {
    json!({
        "event": "conversation_started",
        "timestamp": 1_457_764_201_000_u64,
        "chat_hostname": "SN-CHAT-05_",
        "message_token": token,
        "type": "open",
        "context": "context information",
        "user": user(user_id, name),
        "subscribed": false,
    })
}

/// `webhook`: Viber checking the URL after `set_webhook`.
pub fn webhook(token: u64) -> Value {
    json!({
        "event": "webhook",
        "timestamp": 1_457_764_202_000_u64,
        "chat_hostname": "SN-CHAT-05_",
        "message_token": token,
    })
}

/// Every callback kind once, for fixtures and fuzzing seeds.
pub fn all_kinds() -> Vec<Value> {
    let user_id = "01234567890A=";
    vec![
        message(1, user_id, "John McClane", text("a message to the service")),
        message(
            2,
            user_id,
            "John McClane",
            picture("https://dl.example/p.jpg", "the box"),
        ),
        message(
            3,
            user_id,
            "John McClane",
            video("https://dl.example/v.mp4", 5_000_000),
        ),
        message(
            4,
            user_id,
            "John McClane",
            file("https://dl.example/f.pdf", "invoice.pdf", 20_480),
        ),
        message(5, user_id, "John McClane", sticker(46105)),
        message(6, user_id, "John McClane", contact("Holly", "+15550001111")),
        message(7, user_id, "John McClane", location(51.5, -0.12)),
        message(
            8,
            user_id,
            "John McClane",
            url("https://example.com/order/1"),
        ),
        status("delivered", 9, user_id, ""),
        status("seen", 9, user_id, ""),
        status("failed", 10, user_id, "keyboard is not valid"),
        subscribed(11, user_id, "John McClane"),
        unsubscribed(12, user_id),
        conversation_started(13, user_id, "John McClane"),
        webhook(14),
    ]
}
