//! One person across channels. Each channel knows the customer as an
//! identity (a `conv_contacts` row, whose id conversations keep); a contact
//! is the person those identities belong to. Identities with the same phone
//! join automatically, operators merge the rest, and both are events, so a
//! rebuild of the projection gives the same contacts.
//!
//! - [`phone`] — E.164 normalization with libphonenumber's rules
//! - [`schema`] — the tables
//! - `projection` — events → tables (inside the conversations projection)
//! - `joiner` — pending phone joins → `ContactsMerged` events
//! - [`queries`] — tables → `Contact`

pub(crate) mod joiner;
pub mod phone;
pub(crate) mod projection;
pub mod queries;
pub mod schema;
