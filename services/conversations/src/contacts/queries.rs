//! Contacts as people: a person's identities (`conv_contacts` rows linked to
//! them), the phones and emails they carry or operators set, and the name.

use std::collections::BTreeSet;

use omnibus_core::clock::timestamp;
use omnibus_proto::{Contact, Identity};
use omnibus_store::Store;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::phone::{Region, normalize};
use crate::paging::{decode_token, encode_token, page_size};
use crate::queries::Page;
use crate::sql::{Sql, contains_pattern};

/// An identity's person: its link, else itself.
pub(crate) const PERSON_OF_K: &str =
    "COALESCE((SELECT l.person_id FROM ct_links l WHERE l.identity_id = k.id), k.id)";

/// Read access to contacts.
#[derive(Clone)]
pub struct ContactQueries {
    store: Store,
    region: Region,
}

impl ContactQueries {
    /// Reads from `store`; phones in searches are read in `region`.
    pub fn new(store: Store, region: Region) -> Self {
        Self { store, region }
    }

    fn pool(&self) -> &sqlx::AnyPool {
        self.store.pool()
    }

    /// Where phones without a country code are read.
    pub fn region(&self) -> Region {
        self.region
    }

    /// The person `id` (an identity or merged-away contact id) belongs to.
    pub async fn resolve(&self, id: &str) -> Result<String, sqlx::Error> {
        let mut conn = self.pool().acquire().await?;
        super::projection::resolve(&mut conn, id).await
    }

    /// A contact by id; a merged-away id gives the contact it joined.
    pub async fn contact(&self, id: &str) -> Result<Option<Contact>, sqlx::Error> {
        let person = self.resolve(id).await?;
        let mut sql = Sql::new(
            "SELECT k.id, k.channel_id, COALESCE(ch.kind, 0) AS kind, k.provider_user_id,
                 k.username, k.display_name, k.is_group, k.created_at_ms, k.updated_at_ms,
                 COALESCE(p.phone, '') AS phone
             FROM conv_contacts k
             LEFT JOIN conv_channels ch ON ch.id = k.channel_id
             LEFT JOIN ct_identity_phones p ON p.identity_id = k.id
             LEFT JOIN ct_links l ON l.identity_id = k.id
             WHERE ",
        );
        let p = sql.text(person.as_str());
        sql.push(&format!(
            "(k.id = {p} AND l.person_id IS NULL) OR l.person_id = {p}
             ORDER BY k.created_at_ms, k.id"
        ));
        let rows = sql.fetch_all(self.pool()).await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut contact = Contact {
            id: person.clone(),
            is_group: true,
            ..Default::default()
        };
        let (mut created, mut updated, mut newest_named) = (i64::MAX, 0, i64::MIN);
        let mut phones = BTreeSet::new();
        for row in &rows {
            let identity = identity(row)?;
            let (c, u) = (
                row.try_get::<i64, _>("created_at_ms")?,
                row.try_get::<i64, _>("updated_at_ms")?,
            );
            created = created.min(c);
            updated = updated.max(u);
            contact.is_group &= row.try_get::<i64, _>("is_group")? != 0;
            if !identity.display_name.is_empty() && u >= newest_named {
                newest_named = u;
                contact.display_name = identity.display_name.clone();
            }
            if !identity.phone.is_empty() {
                phones.insert(identity.phone.clone());
            }
            contact.identities.push(identity);
        }
        let people = self.set_by_operators(&person).await?;
        if !people.display_name.is_empty() {
            contact.display_name = people.display_name;
        }
        updated = updated.max(people.updated_at_ms);
        phones.extend(people.phones);
        contact.phones = phones.into_iter().collect();
        contact.emails = people.emails;
        contact.created_at = timestamp(created);
        contact.updated_at = timestamp(updated);
        Ok(Some(contact))
    }

    /// What operators set on the person (name, phones, emails).
    pub(crate) async fn set_by_operators(&self, person: &str) -> Result<People, sqlx::Error> {
        let mut people = People::default();
        let named: Option<(String, i64)> =
            sqlx::query_as("SELECT display_name, updated_at_ms FROM ct_people WHERE id = $1")
                .bind(person)
                .fetch_optional(self.pool())
                .await?;
        if let Some((name, at)) = named {
            people.display_name = name;
            people.updated_at_ms = at;
        }
        people.phones = self.values("ct_phones", "phone", person).await?;
        people.emails = self.values("ct_emails", "email", person).await?;
        Ok(people)
    }

    async fn values(
        &self,
        table: &str,
        column: &str,
        person: &str,
    ) -> Result<Vec<String>, sqlx::Error> {
        let sql = format!("SELECT {column} FROM {table} WHERE person_id = $1 ORDER BY {column}");
        let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(person)
            .fetch_all(self.pool())
            .await?;
        Ok(rows.into_iter().map(|(v,)| v).collect())
    }

    /// People ordered by id, optionally with an identity on one channel and
    /// matching a search.
    pub async fn contacts(
        &self,
        channel_id: &str,
        query: &str,
        requested_size: u32,
        token: &str,
    ) -> Result<Page<Contact>, sqlx::Error> {
        let size = page_size(requested_size);
        let mut sql = Sql::new(
            "SELECT k.id FROM conv_contacts k
             WHERE NOT EXISTS (SELECT 1 FROM ct_links l WHERE l.identity_id = k.id)",
        );
        if !channel_id.is_empty() {
            let c = sql.text(channel_id);
            sql.push(&format!(
                " AND EXISTS (SELECT 1 FROM conv_contacts i LEFT JOIN ct_links l ON l.identity_id = i.id
                     WHERE COALESCE(l.person_id, i.id) = k.id AND i.channel_id = {c})"
            ));
        }
        if !query.trim().is_empty() {
            let matching = self.matching(&mut sql, query);
            sql.push(&format!(" AND k.id IN ({matching})"));
        }
        if let Some(after) = decode_token(token) {
            let p = sql.text(after);
            sql.push(&format!(" AND k.id > {p}"));
        }
        let p = sql.int(i64::from(size) + 1);
        sql.push(&format!(" ORDER BY k.id LIMIT {p}"));
        let ids = ids(sql.fetch_all(self.pool()).await?)?;
        let more = ids.len() > size as usize;
        let mut items = Vec::new();
        for id in ids.iter().take(size as usize) {
            items.extend(self.contact(id).await?);
        }
        let next_page_token = match (more, items.last()) {
            (true, Some(last)) => encode_token(&last.id),
            _ => String::new(),
        };
        Ok(Page {
            items,
            next_page_token,
        })
    }

    /// People whose name, username, email or phone (written in any form)
    /// matches `query`.
    pub async fn find(
        &self,
        query: &str,
        requested_size: u32,
    ) -> Result<Vec<Contact>, sqlx::Error> {
        if query.trim().is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT DISTINCT person AS id FROM (");
        let matching = self.matching(&mut sql, query);
        sql.push(&matching);
        let p = sql.int(i64::from(page_size(requested_size)));
        sql.push(&format!(") found ORDER BY id LIMIT {p}"));
        let mut contacts = Vec::new();
        for id in ids(sql.fetch_all(self.pool()).await?)? {
            contacts.extend(self.contact(&id).await?);
        }
        Ok(contacts)
    }

    /// A subquery of the person ids (`person`) matching `query`.
    fn matching(&self, sql: &mut Sql, query: &str) -> String {
        let needle = query.trim();
        let like = sql.text(contains_pattern(needle.trim_start_matches('@')));
        let phone = sql.text(normalize(needle, self.region).unwrap_or_default());
        format!(
            "SELECT {PERSON_OF_K} AS person FROM conv_contacts k
                 WHERE LOWER(k.display_name) LIKE {like} ESCAPE '\\'
                    OR LOWER(k.username) LIKE {like} ESCAPE '\\'
                    OR EXISTS (SELECT 1 FROM ct_identity_phones p WHERE p.identity_id = k.id AND p.phone = {phone})
             UNION SELECT person_id AS person FROM ct_phones WHERE phone = {phone}
             UNION SELECT person_id AS person FROM ct_emails WHERE LOWER(email) LIKE {like} ESCAPE '\\'
             UNION SELECT id AS person FROM ct_people WHERE LOWER(display_name) LIKE {like} ESCAPE '\\'"
        )
    }
}

/// The fields operators set on a person.
#[derive(Default)]
pub(crate) struct People {
    pub display_name: String,
    pub updated_at_ms: i64,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
}

fn ids(rows: Vec<AnyRow>) -> Result<Vec<String>, sqlx::Error> {
    rows.iter()
        .map(|row| row.try_get::<String, _>("id"))
        .collect()
}

fn identity(row: &AnyRow) -> Result<Identity, sqlx::Error> {
    Ok(Identity {
        id: row.try_get("id")?,
        channel_id: row.try_get("channel_id")?,
        channel_kind: row.try_get::<i64, _>("kind")? as i32,
        provider_user_id: row.try_get("provider_user_id")?,
        username: row.try_get("username")?,
        phone: row.try_get("phone")?,
        display_name: row.try_get("display_name")?,
    })
}

impl ContactQueries {
    /// The contact with this phone (E.164): the first identity that carried
    /// it, else one an operator gave it to.
    pub async fn by_phone(&self, e164: &str) -> Result<Option<Contact>, sqlx::Error> {
        let from_identity: Option<(String,)> = sqlx::query_as(
            "SELECT COALESCE(l.person_id, p.identity_id) FROM ct_identity_phones p
                 LEFT JOIN ct_links l ON l.identity_id = p.identity_id
             WHERE p.phone = $1 ORDER BY p.seq, p.identity_id LIMIT 1",
        )
        .bind(e164)
        .fetch_optional(self.pool())
        .await?;
        let person =
            match from_identity {
                Some(found) => Some(found),
                None => sqlx::query_as(
                    "SELECT person_id FROM ct_phones WHERE phone = $1 ORDER BY person_id LIMIT 1",
                )
                .bind(e164)
                .fetch_optional(self.pool())
                .await?,
            };
        match person {
            Some((id,)) => self.contact(&id).await,
            None => Ok(None),
        }
    }
}
