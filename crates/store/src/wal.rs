//! SQLite's WAL checkpoints, off the writer's path.
//!
//! Left alone, SQLite checkpoints inside the commit that takes the WAL past
//! 1,000 pages: that commit copies the WAL into the database file and, under
//! `synchronous=NORMAL`, fsyncs both (the only fsyncs WAL mode makes). A
//! projection's writer commits many times a second, so every few hundred
//! events one commit waited for two fsyncs: 0.6 ms at the median on this
//! project's VM, 4.6 ms at the 90th percentile, up to 155 ms, and whoever
//! waited for that projection (an operator's `SendMessage`, a notification)
//! waited with it: one of the sources of `SendMessage`'s tail on SQLite.
//!
//! Instead every SQLite [`Store`](crate::Store) runs a [`Checkpointer`]: a
//! task that, every [`EVERY`], asks another pooled connection for a
//! `PASSIVE` checkpoint, which copies what the WAL holds while the writer
//! goes on appending (it takes no write lock) and syncs on that
//! connection's thread. The writers keep SQLite's own checkpoint only as a
//! safety net, at 8,192 pages ([`WRITER_CHECKPOINTS`]): a WAL starts over
//! only once everything in it was copied before a write began, which a
//! writer busy back to back (a rebuild) may never see; that writer then
//! starts it over itself every 8,192 pages, most of them copied already.
//! (An earlier attempt without that net let the conversations file's WAL
//! pass 100 MB within a minute of steady load; with it the largest WAL of
//! `serve all` under 65,000 updates at full speed stayed at 33 MiB.)

use std::time::Duration;

use sqlx::AnyPool;
use tokio::task::JoinHandle;

/// How often the WAL is copied into the database. Each copy of new pages
/// ends in two fsyncs, which may hold up other writes to the file system
/// while its journal commits, so small and frequent copies beat large
/// ones. `send` at 500/s on SQLite, in alternating rounds on one VM: a
/// median p99 of 10.7 ms at 100 ms against 14.4 ms with the writers
/// checkpointing themselves (13 rounds each; worst rounds 35 against
/// 695 ms), and 15.9 ms at 1 s (7 rounds; every database of `serve all`
/// copying a second's worth at once). An idle database costs one hand-off
/// to a connection's thread and back: SQLite returns at once when nothing
/// is new.
pub(crate) const EVERY: Duration = Duration::from_millis(100);

/// Sets the pages (4 KiB each) after which a writer's commit checkpoints
/// itself, SQLite's `wal_autocheckpoint`: 8,192 pages or 32 MiB, the
/// WAL's bound under writes that never pause, eight times SQLite's default.
pub(crate) const WRITER_CHECKPOINTS: &str = "PRAGMA wal_autocheckpoint = 8192";

/// The task copying one SQLite database's WAL; it stops when dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    task: JoinHandle<()>,
}

impl Checkpointer {
    /// Starts checkpointing `pool`'s database every [`EVERY`].
    pub(crate) fn start(pool: AnyPool) -> Self {
        Self {
            task: tokio::spawn(checkpoint_every(pool)),
        }
    }

    /// Stops checkpointing (before the pool closes, so no checkpoint is
    /// left waiting for a connection).
    pub(crate) fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn checkpoint_every(pool: AnyPool) {
    // The first one a period after connecting, not at once beside the
    // migrations: a new database has nothing to copy yet.
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + EVERY, EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    while !pool.is_closed() {
        ticks.tick().await;
        match sqlx::raw_sql("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            Ok(_) => failing = false,
            Err(err) if pool.is_closed() => {
                tracing::debug!(error = %err, "the store closed during a checkpoint");
            }
            // Once per spell of failures: the writers' own checkpoints
            // keep the WAL bounded meanwhile, so this costs speed only.
            Err(err) if !failing => {
                failing = true;
                tracing::warn!(error = %err, "cannot checkpoint the SQLite WAL; the writers will, at a cost to their commits");
            }
            Err(_) => {}
        }
    }
}
