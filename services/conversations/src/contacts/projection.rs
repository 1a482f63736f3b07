//! Events → the contacts tables, in the conversations projection's
//! transaction (so contacts and conversations always agree).
//!
//! An identity is a `conv_contacts` row (one per channel and provider user).
//! Its person is `ct_links.person_id`, or the identity itself when it has no
//! link. A phone reaching an identity that another person already has is
//! recorded as a pending join; the joiner turns it into a `ContactsMerged`
//! event, so joins, like merges, are facts on the stream and a replay gives
//! the same contacts.

use omnibus_proto::{
    AttachmentKind, ContactUpdated, ContactsMerged, Event, MessageReceived, Peer, event::Payload,
};
use sqlx::AnyConnection;

use super::phone::{Region, normalize};

/// The phone-bearing side of an event: an identity and what it said.
#[derive(Clone, Copy)]
pub(crate) struct Sighting<'a> {
    pub identity_id: &'a str,
    pub peer: &'a Peer,
    pub received: Option<&'a MessageReceived>,
}

impl<'a> Sighting<'a> {
    /// The identity an event is about, if it carries one.
    pub(crate) fn of(event: &'a Event) -> Option<Self> {
        match event.payload.as_ref()? {
            Payload::MessageReceived(received) => Some(Sighting {
                identity_id: &received.contact_id,
                peer: received.peer.as_ref()?,
                received: Some(received),
            }),
            Payload::ConversationStarted(started) => Some(Sighting {
                identity_id: &started.contact_id,
                peer: started.peer.as_ref()?,
                received: None,
            }),
            _ => None,
        }
    }

    /// The same person's other identity the event names (WhatsApp: the
    /// business-scoped user id's contact, beside the phone's), seen with
    /// this sighting's phone: recording it joins the two identities, and
    /// since the link is in the event a replay joins them again.
    fn linked(&self) -> Option<Self> {
        let linked = self.received?.linked_contact_id.as_str();
        let joins = !linked.is_empty() && linked != self.identity_id && !self.peer.phone.is_empty();
        joins.then_some(Sighting {
            identity_id: linked,
            ..*self
        })
    }

    /// This sighting and the linked one, if any.
    fn with_linked(self) -> impl Iterator<Item = Self> {
        let linked = self.linked();
        std::iter::once(self).chain(linked)
    }

    /// The phone this identity is known by: the messenger's own (WhatsApp
    /// `wa_id`), or a contact card the customer shared of themselves
    /// (Telegram `message.contact` whose `user_id` is the sender).
    fn phone(&self) -> Option<&'a str> {
        if self.peer.is_group || self.identity_id.is_empty() {
            return None;
        }
        if !self.peer.phone.is_empty() {
            return Some(&self.peer.phone);
        }
        let user = self.peer.provider_user_id.as_str();
        self.received?
            .attachments
            .iter()
            .filter(|a| a.kind == AttachmentKind::Contact as i32)
            .filter_map(|a| a.contact.as_ref())
            .find(|c| !user.is_empty() && c.provider_user_id == user && !c.phone.is_empty())
            .map(|c| c.phone.as_str())
    }
}

/// Applies what `event` changes about contacts.
pub(crate) async fn apply(
    conn: &mut AnyConnection,
    seq: u64,
    event: &Event,
    region: Region,
) -> Result<(), sqlx::Error> {
    match &event.payload {
        Some(Payload::ContactsMerged(merged)) => self::merged(conn, merged).await,
        Some(Payload::ContactUpdated(updated)) => self::updated(conn, event, updated).await,
        _ => {
            for sighting in Sighting::of(event)
                .into_iter()
                .flat_map(Sighting::with_linked)
            {
                seen(conn, seq, &sighting, region).await?;
            }
            Ok(())
        }
    }
}

/// Records the identity's phone and, when another person has that phone, a
/// pending join.
pub(crate) async fn seen(
    conn: &mut AnyConnection,
    seq: u64,
    sighting: &Sighting<'_>,
    region: Region,
) -> Result<(), sqlx::Error> {
    let Some(phone) = sighting.phone().and_then(|raw| normalize(raw, region).ok()) else {
        return Ok(());
    };
    let identity = sighting.identity_id;
    let known: Option<(String,)> =
        sqlx::query_as("SELECT phone FROM ct_identity_phones WHERE identity_id = $1")
            .bind(identity)
            .fetch_optional(&mut *conn)
            .await?;
    if known.is_some_and(|(p,)| p == phone) {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO ct_identity_phones (identity_id, phone, seq) VALUES ($1, $2, $3)
         ON CONFLICT (identity_id) DO UPDATE SET phone = excluded.phone, seq = excluded.seq",
    )
    .bind(identity)
    .bind(phone.as_str())
    .bind(seq as i64)
    .execute(&mut *conn)
    .await?;
    let me = resolve(conn, identity).await?;
    // The person who had the phone first: identities by when their phone
    // arrived, then phones operators set.
    let owner: Option<(String,)> = sqlx::query_as(
        "SELECT COALESCE(l.person_id, p.identity_id) FROM ct_identity_phones p
             LEFT JOIN ct_links l ON l.identity_id = p.identity_id
         WHERE p.phone = $1 AND p.identity_id <> $2
         ORDER BY p.seq, p.identity_id LIMIT 1",
    )
    .bind(phone.as_str())
    .bind(identity)
    .fetch_optional(&mut *conn)
    .await?;
    let owner = match owner {
        Some(found) => Some(found),
        None => {
            sqlx::query_as(
                "SELECT person_id FROM ct_phones WHERE phone = $1 ORDER BY person_id LIMIT 1",
            )
            .bind(phone.as_str())
            .fetch_optional(&mut *conn)
            .await?
        }
    };
    if let Some((owner,)) = owner
        && owner != me
    {
        sqlx::query(
            "INSERT INTO ct_pending_joins (identity_id, into_id, phone, seq) VALUES ($1, $2, $3, $4)
             ON CONFLICT (identity_id) DO UPDATE SET into_id = excluded.into_id,
                 phone = excluded.phone, seq = excluded.seq",
        )
        .bind(identity)
        .bind(owner.as_str())
        .bind(phone.as_str())
        .bind(seq as i64)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The person an identity (or a merged-away contact id) belongs to.
pub(crate) async fn resolve(conn: &mut AnyConnection, id: &str) -> Result<String, sqlx::Error> {
    let linked: Option<(String,)> =
        sqlx::query_as("SELECT person_id FROM ct_links WHERE identity_id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(linked.map_or_else(|| id.to_owned(), |(person,)| person))
}

/// `from`'s identities, phones and emails become `into`'s. Both are resolved
/// first, so a repeated or stale merge changes nothing.
async fn merged(conn: &mut AnyConnection, merged: &ContactsMerged) -> Result<(), sqlx::Error> {
    let into = resolve(conn, &merged.into_id).await?;
    let from = resolve(conn, &merged.from_id).await?;
    if into == from || into.is_empty() || from.is_empty() {
        return clear_pending(conn, &into).await;
    }
    sqlx::query("UPDATE ct_links SET person_id = $1 WHERE person_id = $2")
        .bind(into.as_str())
        .bind(from.as_str())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO ct_links (identity_id, person_id) VALUES ($1, $2)
         ON CONFLICT (identity_id) DO UPDATE SET person_id = excluded.person_id",
    )
    .bind(from.as_str())
    .bind(into.as_str())
    .execute(&mut *conn)
    .await?;
    for (table, column) in [("ct_phones", "phone"), ("ct_emails", "email")] {
        let copy = format!(
            "INSERT INTO {table} (person_id, {column})
             SELECT $1, {column} FROM {table} WHERE person_id = $2
             ON CONFLICT (person_id, {column}) DO NOTHING"
        );
        sqlx::query(sqlx::AssertSqlSafe(copy))
            .bind(into.as_str())
            .bind(from.as_str())
            .execute(&mut *conn)
            .await?;
        let delete = format!("DELETE FROM {table} WHERE person_id = $1");
        sqlx::query(sqlx::AssertSqlSafe(delete))
            .bind(from.as_str())
            .execute(&mut *conn)
            .await?;
    }
    // The name an operator gave survives; `into`'s wins over `from`'s.
    sqlx::query(
        "INSERT INTO ct_people (id, display_name, updated_at_ms)
         SELECT $1, display_name, updated_at_ms FROM ct_people WHERE id = $2
         ON CONFLICT (id) DO UPDATE SET display_name = CASE WHEN ct_people.display_name = ''
             THEN excluded.display_name ELSE ct_people.display_name END",
    )
    .bind(into.as_str())
    .bind(from.as_str())
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM ct_people WHERE id = $1")
        .bind(from.as_str())
        .execute(&mut *conn)
        .await?;
    clear_pending(conn, &into).await
}

/// Pending joins that are no longer needed: the identity already belongs to
/// the person it was to join.
async fn clear_pending(conn: &mut AnyConnection, person: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM ct_pending_joins WHERE
             COALESCE((SELECT l.person_id FROM ct_links l WHERE l.identity_id = ct_pending_joins.identity_id),
                 ct_pending_joins.identity_id) = $1
             AND COALESCE((SELECT l.person_id FROM ct_links l WHERE l.identity_id = ct_pending_joins.into_id),
                 ct_pending_joins.into_id) = $1",
    )
    .bind(person)
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces what operators set on a contact.
async fn updated(
    conn: &mut AnyConnection,
    event: &Event,
    updated: &ContactUpdated,
) -> Result<(), sqlx::Error> {
    let person = resolve(conn, &updated.contact_id).await?;
    sqlx::query(
        "INSERT INTO ct_people (id, display_name, updated_at_ms) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name,
             updated_at_ms = excluded.updated_at_ms",
    )
    .bind(person.as_str())
    .bind(updated.display_name.as_str())
    .bind(super::super::projection::event_time(event))
    .execute(&mut *conn)
    .await?;
    for (table, column, values) in [
        ("ct_phones", "phone", &updated.phones),
        ("ct_emails", "email", &updated.emails),
    ] {
        let delete = format!("DELETE FROM {table} WHERE person_id = $1");
        sqlx::query(sqlx::AssertSqlSafe(delete))
            .bind(person.as_str())
            .execute(&mut *conn)
            .await?;
        let insert = format!(
            "INSERT INTO {table} (person_id, {column}) VALUES ($1, $2)
             ON CONFLICT (person_id, {column}) DO NOTHING"
        );
        for value in values {
            sqlx::query(sqlx::AssertSqlSafe(insert.clone()))
                .bind(person.as_str())
                .bind(value.as_str())
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// [`seen`] for a run of events applied together; an identity is looked
/// at once per phone it shows in the run (a repeat of the phone it was just
/// given changes nothing, as event by event).
pub(crate) async fn seen_run<'a>(
    conn: &mut AnyConnection,
    events: impl Iterator<Item = (u64, &'a Event)>,
    region: Region,
) -> Result<(), sqlx::Error> {
    let mut last_phone: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for (seq, event) in events {
        for sighting in Sighting::of(event)
            .into_iter()
            .flat_map(Sighting::with_linked)
        {
            let Some(phone) = sighting.phone() else {
                continue;
            };
            if last_phone.insert(sighting.identity_id, phone) != Some(phone) {
                seen(conn, seq, &sighting, region).await?;
            }
        }
    }
    Ok(())
}
