//! Projection checkpoints: the last stream sequence a projection applied.
//!
//! A projection writes its checkpoint with [`save_checkpoint`] inside the
//! same transaction as the state the events changed, so after a crash it
//! resumes exactly after the last committed event.

use sqlx::AnyConnection;

use crate::{Store, StoreError};

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

/// Records that `projection` applied everything up to `stream_sequence`.
///
/// Call it on the projection's own transaction (`&mut tx` derefs to the
/// connection) so the state and the checkpoint commit or roll back together.
pub async fn save_checkpoint(
    conn: &mut AnyConnection,
    projection: &str,
    stream_sequence: u64,
) -> Result<(), StoreError> {
    let value = i64::try_from(stream_sequence).map_err(|_| StoreError::CheckpointOutOfRange {
        projection: projection.to_owned(),
        value: stream_sequence.into(),
    })?;
    sqlx::query(
        "INSERT INTO omnibus_checkpoints (projection, stream_sequence) VALUES ($1, $2) \
         ON CONFLICT (projection) DO UPDATE SET stream_sequence = excluded.stream_sequence",
    )
    .bind(projection)
    .bind(value)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
