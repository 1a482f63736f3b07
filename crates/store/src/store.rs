//! [`Store`]: the pool handle every service shares.

use std::sync::{Arc, Once};
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{Any, AnyPool, Transaction};

use crate::StoreError;
use crate::url::{Backend, Target};
use crate::wal::{Checkpointer, WRITER_CHECKPOINTS};

/// Registers the SQLite and PostgreSQL drivers with `Any`; sqlx panics on
/// connect otherwise, and registering twice is a no-op we avoid anyway.
static INSTALL_DRIVERS: Once = Once::new();

/// Run on every new SQLite connection. `busy_timeout` comes first so the
/// one-time switch to WAL waits for other connections instead of failing.
/// WAL lets readers run beside the single writer; `synchronous=NORMAL` is
/// durable across process crashes in WAL mode, losing at most the last
/// commits on power loss, which replay from the stream restores.
/// `temp_store = MEMORY` keeps the statement journals of the projections'
/// savepoints in memory instead of temporary files (a tenth of a replay's
/// time went to writing them). `wal_autocheckpoint` leaves checkpoints to
/// the store's [`Checkpointer`] (see `wal`), keeping the writers' own as a
/// safety net.
const SQLITE_PRAGMAS: [&str; 6] = [
    "PRAGMA busy_timeout = 10000",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA temp_store = MEMORY",
    WRITER_CHECKPOINTS,
];

/// Run on every new PostgreSQL connection. Every table is a projection of
/// the stream, committed together with its checkpoint, so a commit lost when
/// the database server crashes (at most `3 × wal_writer_delay`) is lost with
/// its checkpoint and replayed from the stream: like SQLite's
/// `synchronous=NORMAL`, a commit need not wait for its WAL flush. The one
/// state written beside the projections, the webhook dispatcher's delivery
/// progress, may then send a delivery once more, which its receivers
/// tolerate already (outbound webhooks are at least once).
const POSTGRES_SESSION: &str = "SET synchronous_commit = off";

const SQLITE_MAX_CONNECTIONS: u32 = 8;
const POSTGRES_MAX_CONNECTIONS: u32 = 10;
/// How long a query waits for a free pooled connection before `PoolTimedOut`
/// (reported as `Unavailable`).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection pool to the projection database, cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite's WAL checkpoints, running while any clone of the store lives.
    checkpointer: Option<Arc<Checkpointer>>,
}

impl Store {
    /// Opens a pool for `url` and creates the store's own bookkeeping tables
    /// (`omnibus_migrations`, `omnibus_checkpoints`) if they are missing.
    ///
    /// SQLite files are created along with their parent directory. In-memory
    /// SQLite is refused: every pooled connection would see its own database.
    /// An unreachable server is retried for up to 10 s, then `Unavailable`.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Self::connect_with_timeout(url, ACQUIRE_TIMEOUT).await
    }

    /// Like [`Store::connect`], but waits at most `acquire_timeout` for a
    /// connection, both now and for every later query.
    pub async fn connect_with_timeout(
        url: &str,
        acquire_timeout: Duration,
    ) -> Result<Store, StoreError> {
        INSTALL_DRIVERS.call_once(sqlx::any::install_default_drivers);
        let target = Target::parse(url)?;
        let options = AnyPoolOptions::new().acquire_timeout(acquire_timeout);
        let (pool, checkpointer) = match target.backend {
            Backend::Sqlite => {
                let pool = sqlite_pool(&target, options).await?;
                let checkpointer = Arc::new(Checkpointer::start(pool.clone()));
                (pool, Some(checkpointer))
            }
            Backend::Postgres => (postgres_pool(&target, options).await?, None),
        };
        let store = Store {
            pool,
            backend: target.backend,
            checkpointer,
        };
        store.bootstrap().await?;
        tracing::debug!(backend = ?store.backend, "database connected");
        Ok(store)
    }

    /// Which SQL dialect this store speaks.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The underlying pool, for the projections' own queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Checks that the database answers (`SELECT 1`), for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Begins a transaction that is going to write.
    ///
    /// On SQLite this is `BEGIN IMMEDIATE`, which takes the write lock up
    /// front (waiting up to `busy_timeout`): a plain deferred transaction that
    /// reads first and writes later fails with `SQLITE_BUSY` when another
    /// connection wrote in between, and no timeout helps it.
    pub async fn begin_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(tx)
    }

    /// Closes every pooled connection and waits for them to finish.
    pub async fn close(&self) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.stop();
        }
        self.pool.close().await;
    }
}

async fn sqlite_pool(target: &Target, options: AnyPoolOptions) -> Result<AnyPool, StoreError> {
    if let Some(parent) = target.sqlite_file.as_deref().and_then(|f| f.parent())
        && !parent.as_os_str().is_empty()
    {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(sqlx::Error::Io)?;
    }
    // A SQLite connection is a file handle in this process that nothing
    // outside can cut, so sqlx's ping before handing one out (a hand-off to
    // the connection's thread and back, on every query of the API) finds
    // nothing; the ping on its release, which flushes what a cancelled
    // query left behind, stays. PostgreSQL keeps both: the server may have
    // dropped a pooled connection.
    let pool = options
        .max_connections(SQLITE_MAX_CONNECTIONS)
        .test_before_acquire(false)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                for pragma in SQLITE_PRAGMAS {
                    sqlx::raw_sql(pragma).execute(&mut *conn).await?;
                }
                Ok(())
            })
        })
        .connect(&target.url)
        .await?;
    Ok(pool)
}

async fn postgres_pool(target: &Target, options: AnyPoolOptions) -> Result<AnyPool, StoreError> {
    let pool = options
        .max_connections(POSTGRES_MAX_CONNECTIONS)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                sqlx::raw_sql(POSTGRES_SESSION).execute(&mut *conn).await?;
                Ok(())
            })
        })
        .connect(&target.url)
        .await?;
    Ok(pool)
}
