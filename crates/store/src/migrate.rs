//! Schema migrations, one list per component, all in one database.
//!
//! sqlx's migrator keeps a single history table for a single list; here
//! several services (each a "component") share one database and evolve their
//! tables independently, so the history is keyed by (component, version).
//!
//! Each pending migration runs in its own transaction that first takes a
//! lock (`pg_advisory_xact_lock` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite)
//! and then re-checks the history, so two processes starting at once apply a
//! migration exactly once: the loser waits, sees the row and skips.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::{Any, Transaction};

use crate::url::Backend;
use crate::{Store, StoreError};

/// One schema change of one component, in both dialects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Migration {
    /// Position in the component's history; strictly increasing, from 1.
    pub version: i64,
    /// Recorded in `omnibus_migrations` for people reading the database.
    pub description: &'static str,
    /// SQL for SQLite; may hold several `;`-separated statements.
    pub sqlite: &'static str,
    /// SQL for PostgreSQL; may hold several `;`-separated statements.
    pub postgres: &'static str,
}

impl Migration {
    /// A migration whose SQL is the same on both backends.
    pub const fn portable(version: i64, description: &'static str, sql: &'static str) -> Self {
        Self {
            version,
            description,
            sqlite: sql,
            postgres: sql,
        }
    }

    /// The SQL to run on `backend`.
    pub fn sql(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }
}

/// The store's own tables, created on connect and before every migrate (a
/// test may have wiped the schema under a live pool).
const BOOTSTRAP_SQL: &str = "
CREATE TABLE IF NOT EXISTS omnibus_migrations (
    component TEXT NOT NULL,
    version BIGINT NOT NULL,
    description TEXT NOT NULL,
    applied_at_ms BIGINT NOT NULL,
    PRIMARY KEY (component, version)
);
CREATE TABLE IF NOT EXISTS omnibus_checkpoints (
    projection TEXT PRIMARY KEY,
    stream_sequence BIGINT NOT NULL
);";

/// Lock key for creating the bookkeeping tables: concurrent `CREATE TABLE IF
/// NOT EXISTS` on PostgreSQL can fail with a duplicate key in `pg_type`.
const BOOTSTRAP_LOCK: &str = "omnibus_store.bootstrap";

impl Store {
    /// Applies the migrations of `component` that are not yet recorded, in
    /// order, each in its own transaction. Safe to call from several processes
    /// at once and on every start.
    pub async fn migrate(
        &self,
        component: &'static str,
        migrations: &[Migration],
    ) -> Result<(), StoreError> {
        validate(component, migrations)?;
        self.bootstrap().await?;
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM omnibus_migrations WHERE component = $1")
                .bind(component)
                .fetch_all(self.pool())
                .await?;
        let known = migrations.last().map_or(0, |m| m.version);
        if let Some(newest) = applied.iter().copied().max()
            && newest > known
        {
            tracing::warn!(
                component,
                newest,
                known,
                "database schema is newer than this binary"
            );
        }
        for migration in migrations.iter().filter(|m| !applied.contains(&m.version)) {
            self.apply(component, migration).await?;
        }
        Ok(())
    }

    /// Creates `omnibus_migrations` and `omnibus_checkpoints` if missing.
    pub(crate) async fn bootstrap(&self) -> Result<(), StoreError> {
        let mut tx = self.locked_transaction(BOOTSTRAP_LOCK).await?;
        sqlx::raw_sql(BOOTSTRAP_SQL).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn apply(
        &self,
        component: &'static str,
        migration: &Migration,
    ) -> Result<(), StoreError> {
        let failed = |source| StoreError::Migration {
            component,
            version: migration.version,
            source,
        };
        let mut tx = self.locked_transaction(component).await.map_err(failed)?;
        let already: Option<i64> = sqlx::query_scalar(
            "SELECT version FROM omnibus_migrations WHERE component = $1 AND version = $2",
        )
        .bind(component)
        .bind(migration.version)
        .fetch_optional(&mut *tx)
        .await
        .map_err(failed)?;
        if already.is_some() {
            // Another process applied it while we waited for the lock.
            tx.rollback().await.map_err(failed)?;
            return Ok(());
        }
        let sql = migration.sql(self.backend());
        if !sql.trim().is_empty() {
            // `raw_sql` runs every statement of a multi-statement string (the
            // simple-query protocol on PostgreSQL, a statement loop on
            // SQLite), so `;` inside quotes or bodies needs no splitting.
            sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(failed)?;
        }
        sqlx::query(
            "INSERT INTO omnibus_migrations (component, version, description, applied_at_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(component)
        .bind(migration.version)
        .bind(migration.description)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
        tx.commit().await.map_err(failed)?;
        tracing::info!(
            component,
            version = migration.version,
            description = migration.description,
            "migration applied"
        );
        Ok(())
    }

    /// A transaction that holds `key`'s migration lock until it ends.
    async fn locked_transaction(
        &self,
        key: &str,
    ) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.backend() {
            // The database-wide write lock; waits up to `busy_timeout`.
            Backend::Sqlite => self.pool().begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => {
                let mut tx = self.pool().begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }
        }
    }
}

/// Rejects lists that are not strictly increasing from 1: a reordered or
/// duplicated version would silently skip or repeat a schema change.
fn validate(component: &'static str, migrations: &[Migration]) -> Result<(), StoreError> {
    let mut previous = 0;
    for m in migrations {
        if m.version <= previous {
            return Err(StoreError::InvalidMigrations {
                component,
                reason: format!(
                    "version {} follows {previous}; versions must increase from 1",
                    m.version
                ),
            });
        }
        previous = m.version;
    }
    Ok(())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_must_increase() {
        let ok = [
            Migration::portable(1, "a", ""),
            Migration::portable(3, "b", ""),
        ];
        assert!(validate("c", &ok).is_ok());
        let dup = [
            Migration::portable(1, "a", ""),
            Migration::portable(1, "b", ""),
        ];
        assert!(matches!(
            validate("c", &dup),
            Err(StoreError::InvalidMigrations { .. })
        ));
        assert!(validate("c", &[Migration::portable(0, "zero", "")]).is_err());
    }

    #[test]
    fn portable_uses_one_sql_for_both() {
        const M: Migration = Migration::portable(1, "t", "CREATE TABLE t (x BIGINT)");
        assert_eq!(M.sql(Backend::Sqlite), M.sql(Backend::Postgres));
    }
}
