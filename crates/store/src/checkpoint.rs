//! Projection checkpoints: the last stream sequence a projection applied.
//!
//! A projection writes its checkpoint with [`save_checkpoint`] inside the
//! same transaction as the state the events changed, so after a crash it
//! resumes exactly after the last committed event.

use sqlx::AnyConnection;

use crate::{Backend, Store, StoreError};

/// The upsert of a checkpoint, shared by both ways of writing one.
const UPSERT: &str = "INSERT INTO omnibus_checkpoints (projection, stream_sequence) VALUES";
const ON_CONFLICT: &str =
    "ON CONFLICT (projection) DO UPDATE SET stream_sequence = excluded.stream_sequence";

impl Store {
    /// Returns the last stream sequence `projection` committed, 0 when none.
    pub async fn checkpoint(&self, projection: &str) -> Result<u64, StoreError> {
        let stored: Option<i64> = sqlx::query_scalar(
            "SELECT stream_sequence FROM omnibus_checkpoints WHERE projection = $1",
        )
        .bind(projection)
        .fetch_optional(self.pool())
        .await?;
        let Some(value) = stored else {
            return Ok(0);
        };
        u64::try_from(value).map_err(|_| StoreError::CheckpointOutOfRange {
            projection: projection.to_owned(),
            value: value.into(),
        })
    }
}

/// The statement that begins a projection's write transaction with its
/// checkpoint already at `stream_sequence`: the `BEGIN` and the checkpoint
/// reach the database in one round trip (a script of literals, since a
/// `BEGIN` takes no parameters) instead of two. Committed, the checkpoint
/// stands with the batch's state; rolled back, it goes with it.
///
/// A script that fails after its `BEGIN` leaves the connection inside a
/// transaction sqlx does not know of: close that connection, never pool it.
pub(crate) fn begin_at_checkpoint(
    backend: Backend,
    projection: &str,
    stream_sequence: u64,
) -> Result<String, StoreError> {
    let value = sequence_value(projection, stream_sequence)?;
    let begin = match backend {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    };
    Ok(format!("{begin}; {}", upsert(projection, value)))
}

/// `statements` wrapped so that they commit together with `projection`'s
/// checkpoint, whose value is parameter `$sequence_param`, in one round
/// trip: on SQLite a script from `BEGIN IMMEDIATE` to `COMMIT`; on
/// PostgreSQL one statement (autocommitted, so atomic) with the checkpoint
/// as a data-modifying `WITH` clause, joined to the statement's own `WITH`
/// clause when it has one.
///
/// A script that fails after its `BEGIN` leaves the connection inside a
/// transaction sqlx does not know of: close that connection, never pool it.
pub(crate) fn in_one_round_trip(
    backend: Backend,
    projection: &str,
    statements: &str,
    sequence_param: usize,
) -> String {
    let checkpoint = upsert(projection, format!("${sequence_param}"));
    match backend {
        Backend::Sqlite => format!("BEGIN IMMEDIATE; {checkpoint}; {statements}; COMMIT"),
        Backend::Postgres => match statements.trim_start().strip_prefix("WITH ") {
            Some(clauses) => format!("WITH omnibus_checkpoint AS ({checkpoint}), {clauses}"),
            None => format!("WITH omnibus_checkpoint AS ({checkpoint}) {statements}"),
        },
    }
}

/// The upsert of `projection`'s checkpoint to `value` (a literal or a
/// parameter), its name written as a literal.
fn upsert(projection: &str, value: impl std::fmt::Display) -> String {
    let name = projection.replace('\'', "''");
    format!("{UPSERT} ('{name}', {value}) {ON_CONFLICT}")
}

/// `stream_sequence` as the database's signed 64-bit column holds it.
fn sequence_value(projection: &str, stream_sequence: u64) -> Result<i64, StoreError> {
    i64::try_from(stream_sequence).map_err(|_| StoreError::CheckpointOutOfRange {
        projection: projection.to_owned(),
        value: stream_sequence.into(),
    })
}

/// Records that `projection` applied everything up to `stream_sequence`.
///
/// Call it on the projection's own transaction (`&mut tx` derefs to the
/// connection) so the state and the checkpoint commit or roll back together.
pub async fn save_checkpoint(
    conn: &mut AnyConnection,
    projection: &str,
    stream_sequence: u64,
) -> Result<(), StoreError> {
    let value = sequence_value(projection, stream_sequence)?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "{UPSERT} ($1, $2) {ON_CONFLICT}"
    )))
    .bind(projection)
    .bind(value)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
