//! Tables of the window projection (prefix `window_`). Portable SQL for
//! SQLite and PostgreSQL; times are unix milliseconds, enums their protobuf
//! numbers, a stored request base64 protobuf.

use omnibus_store::Migration;

/// The migrations of this service, applied in order at start.
pub const MIGRATIONS: &[Migration] = &[
    Migration::portable(
        1,
        "channels, conversation windows, templates and gated messages",
        r#"
CREATE TABLE window_channels (
    id TEXT PRIMARY KEY,
    kind BIGINT NOT NULL,
    deleted BIGINT NOT NULL,
    default_template TEXT NOT NULL
);
CREATE TABLE window_conversations (
    id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL,
    last_customer_ms BIGINT NOT NULL,
    provider_closed BIGINT NOT NULL,
    reopen_sent BIGINT NOT NULL
);
CREATE TABLE window_templates (
    channel_id TEXT NOT NULL,
    name TEXT NOT NULL,
    language TEXT NOT NULL,
    body TEXT NOT NULL,
    category TEXT NOT NULL,
    status BIGINT NOT NULL,
    status_reason TEXT NOT NULL,
    provider_template_id TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (channel_id, name, language)
);
CREATE TABLE window_messages (
    message_id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    state TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    held_until_ms BIGINT NOT NULL,
    request TEXT NOT NULL
);
CREATE INDEX window_messages_state ON window_messages (state, seq);
CREATE INDEX window_messages_conversation ON window_messages (conversation_id, state, seq);
"#,
    ),
    Migration::portable(
        2,
        "the channel's human_agent_tag setting (Instagram's 7-day HUMAN_AGENT window)",
        "ALTER TABLE window_channels ADD COLUMN human_agent_tag BIGINT NOT NULL DEFAULT 0;",
    ),
];
