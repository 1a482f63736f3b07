//! The notifications VK's Callback API POSTs (providers.md §4.1, §4.2):
//! `{type, object, group_id, event_id, v, secret}`, with the secret inside.

use serde_json::{Value, json};

/// The API version the stand-in's objects are written in.
pub const API_VERSION: &str = "5.199";

/// A notification of `kind` about `object`, carrying `secret`.
pub fn notification(
    kind: &str,
    object: Value,
    group_id: i64,
    event_id: &str,
    secret: &str,
) -> Value {
    json!({
        "type": kind,
        "object": object,
        "group_id": group_id,
        "event_id": event_id,
        "v": API_VERSION,
        "secret": secret,
    })
}

/// The `confirmation` request (without a secret, as VK documents it).
pub fn confirmation(group_id: i64) -> Value {
    json!({ "type": "confirmation", "group_id": group_id })
}

/// A `messages_message` from `from_id` in dialog `peer_id`.
pub fn message(id: i64, peer_id: i64, from_id: i64, text: &str) -> Value {
    json!({
        "date": 1_717_000_000 + id,
        "from_id": from_id,
        "id": id,
        "out": 0,
        "attachments": [],
        "conversation_message_id": id,
        "fwd_messages": [],
        "important": false,
        "is_hidden": false,
        "peer_id": peer_id,
        "random_id": 0,
        "text": text,
    })
}

/// `message_new`'s object: the message and the client's capabilities.
pub fn message_new(message: Value) -> Value {
    json!({
        "message": message,
        "client_info": {
            "button_actions": ["text", "vkpay", "open_app", "location", "open_link", "callback"],
            "keyboard": true,
            "inline_keyboard": true,
            "carousel": true,
            "lang_id": 0,
        },
    })
}

/// `message_reply`'s object: the community's own message (in 5.199 the
/// message itself is the object).
pub fn reply(id: i64, peer_id: i64, group_id: i64, text: &str, random_id: i64) -> Value {
    let mut message = message(id, peer_id, -group_id, text);
    message["out"] = json!(1);
    message["random_id"] = json!(random_id);
    message
}

/// A photo attachment.
pub fn photo(owner_id: i64, id: i64, url: &str) -> Value {
    json!({ "type": "photo", "photo": {
        "id": id, "owner_id": owner_id, "access_key": "a1b2c3", "date": 1_717_000_000,
        "sizes": [
            { "type": "s", "url": format!("{url}?size=s"), "width": 75, "height": 56 },
            { "type": "x", "url": url, "width": 604, "height": 453 },
        ],
    }})
}

/// A document attachment.
pub fn doc(owner_id: i64, id: i64, title: &str, url: &str, size: u64) -> Value {
    json!({ "type": "doc", "doc": {
        "id": id, "owner_id": owner_id, "title": title, "size": size,
        "ext": title.rsplit('.').next().unwrap_or_default(), "url": url, "type": 1,
    }})
}

/// A voice message attachment.
pub fn audio_message(owner_id: i64, id: i64, url: &str) -> Value {
    json!({ "type": "audio_message", "audio_message": {
        "id": id, "owner_id": owner_id, "duration": 4, "waveform": [0, 5, 10],
        "link_ogg": url, "link_mp3": format!("{url}.mp3"), "access_key": "k1",
    }})
}

/// A sticker attachment.
pub fn sticker(sticker_id: i64) -> Value {
    json!({ "type": "sticker", "sticker": {
        "product_id": 1, "sticker_id": sticker_id,
        "images": [{ "url": format!("https://vk.example/sticker/{sticker_id}-128"), "width": 128, "height": 128 }],
    }})
}

/// A link attachment.
pub fn link(url: &str, title: &str) -> Value {
    json!({ "type": "link", "link": { "url": url, "title": title, "caption": "example.com" } })
}

/// A reposted wall post.
pub fn wall(owner_id: i64, id: i64, text: &str) -> Value {
    json!({ "type": "wall", "wall": { "id": id, "owner_id": owner_id, "from_id": owner_id, "date": 1_716_000_000, "text": text } })
}

/// A location for a message's `geo`.
pub fn geo(latitude: f64, longitude: f64, title: &str) -> Value {
    json!({ "type": "point", "coordinates": { "latitude": latitude, "longitude": longitude }, "place": { "title": title } })
}

/// `message_allow` / `message_deny`'s object.
pub fn permission(user_id: i64) -> Value {
    json!({ "user_id": user_id, "key": "promo" })
}

/// `message_read`'s object.
pub fn read(peer_id: i64, read_message_id: i64) -> Value {
    json!({ "from_id": peer_id, "peer_id": peer_id, "read_message_id": read_message_id, "conversation_message_id": read_message_id })
}

/// `wall_reply_new`'s object: a comment under post `post_id` of `owner_id`.
pub fn wall_comment(id: i64, owner_id: i64, post_id: i64, from_id: i64, text: &str) -> Value {
    json!({
        "id": id, "from_id": from_id, "date": 1_717_000_500, "text": text,
        "post_owner_id": owner_id, "owner_id": owner_id, "post_id": post_id,
        "parents_stack": [], "thread": { "count": 0 },
    })
}

/// `market_comment_new`'s object: a comment under item `item_id`.
pub fn market_comment(id: i64, owner_id: i64, item_id: i64, from_id: i64, text: &str) -> Value {
    json!({
        "id": id, "from_id": from_id, "date": 1_717_000_600, "text": text,
        "market_owner_id": owner_id, "item_id": item_id,
    })
}

/// Every notification kind once, for fixtures and fuzzing seeds.
pub fn all_kinds(group_id: i64, secret: &str) -> Vec<Value> {
    let user = 501_234_567;
    let with = |id: i64, attachments: Value| {
        let mut m = message(id, user, user, "look");
        m["attachments"] = attachments;
        message_new(m)
    };
    let mut replying = message(10, user, user, "and this");
    replying["reply_message"] = message(9, user, -group_id, "our answer");
    replying["fwd_messages"] = json!([message(3, 42, 42, "forwarded text")]);
    let mut located = message(11, user, user, "");
    located["geo"] = geo(55.75, 37.61, "Moscow");
    let n = |kind: &str, object: Value, event: &str| {
        notification(kind, object, group_id, event, secret)
    };
    vec![
        confirmation(group_id),
        n(
            "message_new",
            message_new(message(1, user, user, "Hello, my order hasn't arrived")),
            "e1",
        ),
        n(
            "message_new",
            with(
                2,
                json!([photo(user, 457239017, "https://sun9.example/p.jpg")]),
            ),
            "e2",
        ),
        n(
            "message_new",
            with(
                3,
                json!([doc(user, 6, "invoice.pdf", "https://vk.example/doc6", 2048)]),
            ),
            "e3",
        ),
        n(
            "message_new",
            with(
                4,
                json!([audio_message(user, 7, "https://vk.example/v.ogg")]),
            ),
            "e4",
        ),
        n("message_new", with(5, json!([sticker(163)])), "e5"),
        n(
            "message_new",
            with(6, json!([link("https://example.com/a", "A")])),
            "e6",
        ),
        n(
            "message_new",
            with(7, json!([wall(-group_id, 12, "our post")])),
            "e7",
        ),
        n("message_new", message_new(replying), "e8"),
        n("message_new", message_new(located), "e9"),
        n(
            "message_new",
            message_new(message(12, 2_000_000_001, user, "chat")),
            "e10",
        ),
        n(
            "message_reply",
            reply(13, user, group_id, "from the admin", 0),
            "e11",
        ),
        n("message_edit", message(1, user, user, "edited"), "e12"),
        n("message_allow", permission(user), "e13"),
        n("message_deny", permission(user), "e14"),
        n("message_read", read(user, 13), "e15"),
        n(
            "wall_reply_new",
            wall_comment(90, -group_id, 12, user, "price?"),
            "e16",
        ),
        n(
            "market_comment_new",
            market_comment(91, -group_id, 55, user, "in stock?"),
            "e17",
        ),
    ]
}
