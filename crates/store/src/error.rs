//! Errors of the store, and which of them a caller should retry.

use omnibus_core::ErrorCode;

/// What went wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A query, connection or pool error from sqlx.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The database URL names nothing we can open (or an in-memory SQLite).
    #[error("unsupported database url {0}")]
    UnsupportedUrl(String),
    /// A migration's SQL failed; its transaction was rolled back.
    #[error("migration {version} of {component} failed: {source}")]
    Migration {
        component: &'static str,
        version: i64,
        #[source]
        source: sqlx::Error,
    },
    /// The migration list itself is wrong (a programming error).
    #[error("invalid migrations for {component}: {reason}")]
    InvalidMigrations {
        component: &'static str,
        reason: String,
    },
    /// A checkpoint cannot be represented (stored negative, or above `i64::MAX`).
    #[error("checkpoint {value} of projection {projection} is out of range")]
    CheckpointOutOfRange { projection: String, value: i128 },
}

impl StoreError {
    /// Maps to the wire error code: a database that cannot be reached, is
    /// overloaded or asks for a retry is `Unavailable`; anything else is a
    /// bug or a broken schema, so `Internal`.
    pub fn error_code(&self) -> ErrorCode {
        let retryable = match self {
            Self::Database(e) | Self::Migration { source: e, .. } => is_transient(e),
            _ => false,
        };
        if retryable {
            ErrorCode::Unavailable
        } else {
            ErrorCode::Internal
        }
    }

    /// Tells whether a unique or primary key constraint rejected a write, on
    /// either backend (a duplicate, or a lost optimistic-concurrency race).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            Self::Database(e) => e
                .as_database_error()
                .is_some_and(|db| db.is_unique_violation()),
            _ => false,
        }
    }
}

/// Tells whether `error` says the statement itself can never succeed, so a
/// projection must park the event rather than retry it: a constraint or a
/// value the database refused for what it is, or a value that cannot be
/// encoded or decoded. Contention the database reports (a PostgreSQL
/// deadlock or serialization failure, SQLite still busy or locked after its
/// timeout), a lost connection and anything unknown are not refusals: the
/// caller retries them with backoff and does not move its checkpoint.
pub fn is_refusal(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => !is_transient_database_error(db.as_ref()),
        sqlx::Error::Decode(_)
        | sqlx::Error::Encode(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::TypeNotFound { .. } => true,
        _ => false,
    }
}

/// Connection, pool and contention errors: retrying later can succeed.
fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => is_transient_database_error(db.as_ref()),
        _ => false,
    }
}

fn is_transient_database_error(db: &dyn sqlx::error::DatabaseError) -> bool {
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        let code = pg.code();
        // 08: connection exception, 53: insufficient resources, 57P0x: the
        // server is shutting down, 40001/40P01: serialization failure/deadlock.
        return code.starts_with("08")
            || code.starts_with("53")
            || code.starts_with("57P0")
            || code == "40001"
            || code == "40P01";
    }
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // The extended code's low byte is the primary code: 5 BUSY, 6 LOCKED.
        let primary = db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .map(|c| c & 0xff);
        return matches!(primary, Some(5 | 6));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_errors_are_unavailable() {
        let err = StoreError::from(sqlx::Error::PoolTimedOut);
        assert_eq!(err.error_code(), ErrorCode::Unavailable);
        assert!(!err.is_unique_violation());
    }

    #[test]
    fn only_what_the_database_refuses_for_good_is_a_refusal() {
        assert!(!is_refusal(&sqlx::Error::PoolTimedOut));
        assert!(!is_refusal(&sqlx::Error::Protocol("eof".into())));
        assert!(is_refusal(&sqlx::Error::Decode("bad utf-8".into())));
    }

    #[test]
    fn other_errors_are_internal() {
        assert_eq!(
            StoreError::from(sqlx::Error::RowNotFound).error_code(),
            ErrorCode::Internal
        );
        assert_eq!(
            StoreError::UnsupportedUrl("mysql://x".into()).error_code(),
            ErrorCode::Internal
        );
    }
}
