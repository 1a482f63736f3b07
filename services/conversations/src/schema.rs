//! Tables of the conversations projection. Portable SQL: the same statements
//! run on SQLite and PostgreSQL. Times are unix milliseconds; enums are their
//! protobuf numbers; nested values (settings, attachments) are base64
//! protobuf, which both databases store as text.

use omnibus_store::Migration;

/// The migrations of this service, applied in order at start.
pub const MIGRATIONS: &[Migration] = &[
    Migration::portable(
        1,
        "channels, contacts, conversations, messages",
        r#"
CREATE TABLE conv_channels (
    id TEXT PRIMARY KEY,
    kind BIGINT NOT NULL,
    name TEXT NOT NULL,
    status BIGINT NOT NULL,
    status_reason TEXT NOT NULL,
    settings TEXT NOT NULL,
    api_base_url TEXT NOT NULL,
    credential_keys TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE TABLE conv_contacts (
    id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL,
    provider_user_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    username TEXT NOT NULL,
    phone TEXT NOT NULL,
    is_group BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX conv_contacts_channel ON conv_contacts (channel_id, id);
CREATE TABLE conv_conversations (
    id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL,
    channel_kind BIGINT NOT NULL,
    contact_id TEXT NOT NULL,
    provider_chat_id TEXT NOT NULL,
    title TEXT NOT NULL,
    is_group BIGINT NOT NULL,
    status BIGINT NOT NULL,
    close_reason BIGINT NOT NULL,
    assignee_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    unread_count BIGINT NOT NULL,
    unanswered BIGINT NOT NULL,
    last_message_id TEXT NOT NULL,
    last_activity_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX conv_conversations_activity ON conv_conversations (last_activity_ms, id);
CREATE INDEX conv_conversations_channel ON conv_conversations (channel_id, last_activity_ms);
CREATE INDEX conv_conversations_contact ON conv_conversations (contact_id);
CREATE TABLE conv_messages (
    id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    conversation_id TEXT NOT NULL,
    direction BIGINT NOT NULL,
    author_kind BIGINT NOT NULL,
    author_name TEXT NOT NULL,
    operator_id TEXT NOT NULL,
    text TEXT NOT NULL,
    attachments TEXT NOT NULL,
    template TEXT NOT NULL,
    status BIGINT NOT NULL,
    failure_reason TEXT NOT NULL,
    provider_message_id TEXT NOT NULL,
    reply_to_message_id TEXT NOT NULL,
    edited BIGINT NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX conv_messages_conversation ON conv_messages (conversation_id, seq);
CREATE INDEX conv_messages_provider_id ON conv_messages (conversation_id, provider_message_id);
CREATE INDEX conv_messages_idempotency ON conv_messages (conversation_id, idempotency_key);
"#,
    ),
    Migration::portable(
        2,
        "delivery statuses that arrived before the provider's message id was known",
        r#"
CREATE TABLE conv_early_statuses (
    conversation_id TEXT NOT NULL,
    provider_message_id TEXT NOT NULL,
    status BIGINT NOT NULL,
    failure_reason TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, provider_message_id, status)
);
"#,
    ),
    Migration::portable(
        3,
        "index only the messages looked up by idempotency key and provider id",
        // Customer messages have neither an idempotency key nor delivery
        // statuses: leaving them out of these indexes halves the index
        // writes of the hottest insert.
        r#"
DROP INDEX conv_messages_idempotency;
CREATE INDEX conv_messages_idempotency ON conv_messages (conversation_id, idempotency_key)
    WHERE idempotency_key <> '';
DROP INDEX conv_messages_provider_id;
CREATE INDEX conv_messages_provider_id ON conv_messages (conversation_id, provider_message_id)
    WHERE direction = 2;
"#,
    ),
    Migration::portable(
        4,
        "messages unsent by their author (Instagram unsend, Wazzup delete)",
        r#"
ALTER TABLE conv_messages ADD COLUMN deleted BIGINT NOT NULL DEFAULT 0;
"#,
    ),
    Migration::portable(
        5,
        "the post or item a comment conversation is about (VK, Instagram)",
        r#"
ALTER TABLE conv_conversations ADD COLUMN subject_url TEXT NOT NULL DEFAULT '';
"#,
    ),
    Migration::portable(
        6,
        "channels re-created for the same provider account carry on its conversations",
        r#"
ALTER TABLE conv_channels ADD COLUMN account_key TEXT NOT NULL DEFAULT '';
ALTER TABLE conv_channels ADD COLUMN conversation_scope TEXT NOT NULL DEFAULT '';
CREATE INDEX conv_channels_account ON conv_channels (kind, account_key);
"#,
    ),
    Migration::portable(
        7,
        "a read receipt kept early that covers the earlier messages too (Instagram)",
        r#"
ALTER TABLE conv_early_statuses ADD COLUMN and_earlier BIGINT NOT NULL DEFAULT 0;
"#,
    ),
];
