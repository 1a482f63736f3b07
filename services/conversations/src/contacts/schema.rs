//! Tables of the contacts read model, beside the conversations tables (whose
//! `conv_contacts` rows are the per-channel identities). Migrated as their
//! own component so they evolve apart from the conversations schema.

use omnibus_store::Migration;

/// The migrations of the contacts tables, applied in order at start.
pub const MIGRATIONS: &[Migration] = &[Migration::portable(
    1,
    "people across channels: links, phones, emails, pending joins",
    r#"
CREATE TABLE ct_links (
    identity_id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL
);
CREATE INDEX ct_links_person ON ct_links (person_id);
CREATE TABLE ct_identity_phones (
    identity_id TEXT PRIMARY KEY,
    phone TEXT NOT NULL,
    seq BIGINT NOT NULL
);
CREATE INDEX ct_identity_phones_phone ON ct_identity_phones (phone, seq);
CREATE TABLE ct_people (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE TABLE ct_phones (
    person_id TEXT NOT NULL,
    phone TEXT NOT NULL,
    PRIMARY KEY (person_id, phone)
);
CREATE INDEX ct_phones_phone ON ct_phones (phone);
CREATE TABLE ct_emails (
    person_id TEXT NOT NULL,
    email TEXT NOT NULL,
    PRIMARY KEY (person_id, email)
);
CREATE TABLE ct_pending_joins (
    identity_id TEXT PRIMARY KEY,
    into_id TEXT NOT NULL,
    phone TEXT NOT NULL,
    seq BIGINT NOT NULL
);
"#,
)];
