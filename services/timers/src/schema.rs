//! Tables of the timers projection (prefix `timer_`). Portable SQL for SQLite
//! and PostgreSQL; times are unix milliseconds, settings base64 protobuf.

use omnibus_store::Migration;

/// The migrations of this service, applied in order at start.
pub const MIGRATIONS: &[Migration] = &[Migration::portable(
    1,
    "channels, conversations and armed timers",
    r#"
CREATE TABLE timer_channels (
    id TEXT PRIMARY KEY,
    kind BIGINT NOT NULL,
    deleted BIGINT NOT NULL,
    settings TEXT NOT NULL
);
CREATE TABLE timer_conversations (
    id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL,
    provider_chat_id TEXT NOT NULL,
    open BIGINT NOT NULL,
    waiting_since_seq BIGINT NOT NULL,
    off_hours_answered BIGINT NOT NULL
);
CREATE TABLE timer_pending (
    event_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    channel_kind BIGINT NOT NULL,
    provider_chat_id TEXT NOT NULL,
    text TEXT NOT NULL,
    due_ms BIGINT NOT NULL
);
CREATE INDEX timer_pending_conversation ON timer_pending (conversation_id, kind);
"#,
)];
