//! Tables of the notifications projection (prefix `notif_`). Portable SQL for
//! SQLite and PostgreSQL; times are unix milliseconds, enums their protobuf
//! numbers. `ord` is `seq * 1024 + n`: the order of notifications on the
//! stream, so "after id" and per-conversation delivery order are one index.

use omnibus_store::Migration;

/// The migrations of this service, applied in order at start.
pub const MIGRATIONS: &[Migration] = &[
    Migration::portable(
        1,
        "notifications, conversation waits, webhooks, deliveries",
        r#"
CREATE TABLE notif_channels (
    id TEXT PRIMARY KEY,
    unanswered_after_ms BIGINT NOT NULL
);
CREATE TABLE notif_conversations (
    id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL,
    assignee_id TEXT NOT NULL,
    closed BIGINT NOT NULL,
    waiting_seq BIGINT NOT NULL,
    waiting_message_id TEXT NOT NULL,
    waiting_since_ms BIGINT NOT NULL,
    deadline_ms BIGINT NOT NULL
);
CREATE INDEX notif_conversations_deadline ON notif_conversations (deadline_ms);
CREATE TABLE notif_notifications (
    ord BIGINT PRIMARY KEY,
    kind BIGINT NOT NULL,
    conversation_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    text TEXT NOT NULL,
    operator_id TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE TABLE notif_webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    kinds TEXT NOT NULL,
    status BIGINT NOT NULL,
    status_reason TEXT NOT NULL,
    failing_since_ms BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE TABLE notif_deliveries (
    webhook_id TEXT NOT NULL,
    ord BIGINT NOT NULL,
    conversation_id TEXT NOT NULL,
    body TEXT NOT NULL,
    state BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    PRIMARY KEY (webhook_id, ord)
);
CREATE INDEX notif_deliveries_due ON notif_deliveries (state, next_attempt_ms);
CREATE INDEX notif_deliveries_lane ON notif_deliveries (webhook_id, conversation_id, state, ord);
CREATE TABLE notif_attempts (
    webhook_id TEXT NOT NULL,
    ord BIGINT NOT NULL,
    attempt BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    status_code BIGINT NOT NULL,
    error TEXT NOT NULL,
    PRIMARY KEY (webhook_id, ord, attempt)
);
"#,
    ),
    Migration::portable(
        2,
        "conversations each operator answered, per UTC day",
        r#"
CREATE TABLE notif_handled (
    operator_id TEXT NOT NULL,
    day BIGINT NOT NULL,
    conversation_id TEXT NOT NULL,
    PRIMARY KEY (operator_id, day, conversation_id)
);
CREATE INDEX notif_handled_day ON notif_handled (day, operator_id);
"#,
    ),
    Migration::portable(
        3,
        "operator groups (routing targets)",
        r#"
CREATE TABLE notif_groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    operator_ids TEXT NOT NULL,
    rule BIGINT NOT NULL
);
"#,
    ),
];
