//! Button presses, reactions and membership changes, with updates in the
//! Bot API's shapes (core.telegram.org/bots/api: `CallbackQuery`,
//! `MessageReactionUpdated`, `ChatMemberUpdated`).

use omnibus_core::ids;
use omnibus_proto::{AuthorKind, Direction, event::Payload};

use crate::normalize::tests::{CHANNEL, event, ignored, received};

const SOJAN: &str = r#"{"id": 100200300, "is_bot": false, "first_name": "Sojan", "last_name": "Jose",
    "username": "sojan", "language_code": "en"}"#;
const PRIVATE: &str = r#"{"id": 100200300, "first_name": "Sojan", "last_name": "Jose",
    "username": "sojan", "type": "private"}"#;
const BOT: &str = r#"{"id": 7000000001, "is_bot": true, "first_name": "SupportBot",
    "username": "acme_support_bot"}"#;
const GROUP: &str = r#"{"id": -1001234567890, "title": "Acme customers", "type": "supergroup"}"#;
const ANNA: &str = r#"{"id": 555, "is_bot": false, "first_name": "Anna", "last_name": "Petrova"}"#;

fn callback(data: &str) -> String {
    format!(
        r#"{{"update_id": 734512060, "callback_query": {{
            "id": "4382bfdwdsb323b2d9", "from": {SOJAN},
            "message": {{"message_id": 77, "from": {BOT}, "chat": {PRIVATE}, "date": 1631133100,
                "text": "Was this answer helpful?",
                "reply_markup": {{"inline_keyboard": [[
                    {{"text": "👍 Yes", "callback_data": "helpful:yes"}},
                    {{"text": "👎 No", "callback_data": "helpful:no"}}]]}}}},
            "chat_instance": "-8891234567890123456", "data": "{data}"}}}}"#
    )
}

fn my_chat_member(chat: &str, from: &str, old: &str, new: &str) -> String {
    format!(
        r#"{{"update_id": 734512050, "my_chat_member": {{
            "chat": {chat}, "from": {from}, "date": 1631133000,
            "old_chat_member": {{"user": {BOT}, "status": "{old}"}},
            "new_chat_member": {{"user": {BOT}, "status": "{new}", "until_date": 0}}}}}}"#
    )
}

fn reaction(new_reaction: &str) -> String {
    format!(
        r#"{{"update_id": 734512070, "message_reaction": {{
            "chat": {PRIVATE}, "message_id": 9, "user": {SOJAN}, "date": 1631133200,
            "old_reaction": [], "new_reaction": {new_reaction}}}}}"#
    )
}

#[test]
fn a_button_press_is_the_customers_message_replying_to_the_buttons_message() {
    let event = event(&callback("helpful:yes"));
    assert_eq!(event.id, "telegram:ch_tg1:734512060");
    assert_eq!(
        event.conversation_id,
        ids::conversation_id(CHANNEL, "100200300")
    );
    let Some(Payload::MessageReceived(pressed)) = event.payload else {
        panic!("not a MessageReceived");
    };
    assert_eq!(pressed.text, "Pressed “👍 Yes” (helpful:yes)");
    assert_eq!(pressed.author_kind(), AuthorKind::Contact);
    assert_eq!(pressed.direction(), Direction::Inbound);
    assert_eq!(pressed.author_name, "Sojan Jose");
    assert_eq!(
        pressed.reply_to_message_id,
        ids::inbound_message_id(CHANNEL, "100200300", "77")
    );
    assert_eq!(
        pressed.message_id,
        ids::inbound_message_id(CHANNEL, "100200300", "callback-4382bfdwdsb323b2d9")
    );
    assert_eq!(pressed.provider_message_id, "", "not a Telegram message");
    assert_eq!(pressed.contact_id, ids::contact_id(CHANNEL, "100200300"));
}

#[test]
fn a_press_whose_button_is_gone_shows_the_data() {
    // An inaccessible message: only chat, message_id and date 0.
    let body = format!(
        r#"{{"update_id": 5, "callback_query": {{"id": "q1", "from": {SOJAN},
            "message": {{"chat": {PRIVATE}, "message_id": 12, "date": 0}},
            "chat_instance": "1", "data": "order:42"}}}}"#
    );
    assert_eq!(received(&body).text, "Pressed “order:42”");
    let inline_mode = format!(
        r#"{{"update_id": 6, "callback_query": {{"id": "q2", "from": {SOJAN},
            "inline_message_id": "AAA", "chat_instance": "1", "data": "x"}}}}"#
    );
    assert_eq!(
        ignored(&inline_mode),
        "button of an inline-mode message (no chat)"
    );
}

#[test]
fn a_reaction_is_its_emoji_on_the_reacted_message() {
    let event = event(&reaction(r#"[{"type": "emoji", "emoji": "👍"}]"#));
    assert_eq!(event.occurred_at_ms, 1_631_133_200_000);
    let Some(Payload::MessageReceived(m)) = event.payload else {
        panic!("not a MessageReceived");
    };
    assert_eq!(m.text, "👍");
    assert_eq!(m.author_kind(), AuthorKind::Contact);
    assert_eq!(
        m.reply_to_message_id,
        ids::inbound_message_id(CHANNEL, "100200300", "9")
    );
    assert_eq!(m.author_name, "Sojan Jose");

    let removed = received(&reaction("[]"));
    assert_eq!(removed.text, "(removed a reaction)");
    let custom = received(&reaction(
        r#"[{"type": "emoji", "emoji": "🔥"}, {"type": "custom_emoji", "custom_emoji_id": "5368324170671202286"}]"#,
    ));
    assert_eq!(custom.text, "🔥 (custom emoji)");
}

#[test]
fn an_anonymous_reaction_in_a_group_is_on_the_group() {
    let body = format!(
        r#"{{"update_id": 8, "message_reaction": {{"chat": {GROUP}, "message_id": 44,
            "actor_chat": {GROUP}, "date": 1631133201, "old_reaction": [],
            "new_reaction": [{{"type": "emoji", "emoji": "❤"}}]}}}}"#
    );
    let m = received(&body);
    assert_eq!(m.author_name, "Acme customers");
    assert_eq!(m.contact_id, ids::contact_id(CHANNEL, "-1001234567890"));
    assert_eq!(
        m.reply_to_message_id,
        ids::inbound_message_id(CHANNEL, "-1001234567890", "44")
    );
}

#[test]
fn blocking_and_unblocking_the_bot_are_system_lines() {
    let blocked = received(&my_chat_member(PRIVATE, SOJAN, "member", "kicked"));
    assert_eq!(blocked.text, "The customer blocked the bot");
    assert_eq!(blocked.author_kind(), AuthorKind::System);
    assert_eq!(blocked.direction(), Direction::Inbound);
    assert_eq!(blocked.contact_id, ids::contact_id(CHANNEL, "100200300"));
    let peer = blocked.peer.expect("peer");
    assert_eq!(peer.first_name, "Sojan");
    assert!(!peer.is_group);
    let event = event(&my_chat_member(PRIVATE, SOJAN, "member", "kicked"));
    assert_eq!(
        event.conversation_id,
        ids::conversation_id(CHANNEL, "100200300")
    );
    assert_eq!(event.occurred_at_ms, 1_631_133_000_000);

    let unblocked = received(&my_chat_member(PRIVATE, SOJAN, "kicked", "member"));
    assert_eq!(unblocked.text, "The customer unblocked the bot");
}

#[test]
fn the_bot_added_to_and_removed_from_a_group_shows_on_the_group() {
    let added = event(&my_chat_member(GROUP, ANNA, "left", "member"));
    assert_eq!(
        added.conversation_id,
        ids::conversation_id(CHANNEL, "-1001234567890")
    );
    let Some(Payload::MessageReceived(added)) = added.payload else {
        panic!("not a MessageReceived");
    };
    assert_eq!(added.text, "Anna Petrova added the bot to the group");
    assert_eq!(added.author_kind(), AuthorKind::System);
    assert!(added.peer.expect("peer").is_group);

    let cases = [
        (
            "member",
            "left",
            "Anna Petrova removed the bot from the group",
        ),
        (
            "administrator",
            "kicked",
            "Anna Petrova removed the bot from the group",
        ),
        (
            "member",
            "administrator",
            "Anna Petrova made the bot an administrator",
        ),
        (
            "administrator",
            "member",
            "Anna Petrova took the bot's administrator rights",
        ),
    ];
    for (old, new, text) in cases {
        assert_eq!(
            received(&my_chat_member(GROUP, ANNA, old, new)).text,
            text,
            "{old} → {new}"
        );
    }
    assert_eq!(
        ignored(&my_chat_member(GROUP, ANNA, "member", "member")),
        "bot membership unchanged"
    );
    let channel = r#"{"id": -100777, "title": "News", "type": "channel"}"#;
    assert_eq!(
        ignored(&my_chat_member(channel, ANNA, "left", "administrator")),
        "channel chat"
    );
}
