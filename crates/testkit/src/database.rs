//! Throwaway databases: a SQLite file in a temp dir, or a fresh PostgreSQL
//! database on a local server, dropped when the test ends.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use rand::Rng;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};
use tempfile::TempDir;

/// Where [`TestDatabase::postgres`] creates its databases (an admin URL).
pub const ENV_TEST_POSTGRES_URL: &str = "OMNIBUS_TEST_POSTGRES_URL";
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Which backend a [`TestDatabase`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

/// A database that exists only for one test.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    place: Place,
}

#[derive(Debug)]
enum Place {
    Sqlite {
        file: PathBuf,
        /// Deleted (with the database) on drop.
        _dir: TempDir,
    },
    Postgres {
        /// Boxed: the options are large next to the SQLite variant.
        admin: Box<PgConnectOptions>,
        name: String,
    },
}

impl TestDatabase {
    /// A SQLite file `omnibus.db` in a fresh temp dir; the URL is
    /// `sqlite:///tmp/…/omnibus.db`. The file is created on first connect.
    pub fn sqlite() -> TestDatabase {
        let dir = tempfile::Builder::new()
            .prefix("omnibus-db-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp dir for sqlite: {e}"));
        let file = dir.path().join("omnibus.db");
        TestDatabase {
            url: format!("sqlite://{}", file.display()),
            place: Place::Sqlite { file, _dir: dir },
        }
    }

    /// Creates `omnibus_test_<random>` on the server named by
    /// `OMNIBUS_TEST_POSTGRES_URL` (default
    /// `postgres://postgres@127.0.0.1:5432/postgres`); dropped on `Drop`.
    ///
    /// Panics when the server does not answer: a test that needs PostgreSQL
    /// must not pass without it.
    pub async fn postgres() -> TestDatabase {
        let admin_url = std::env::var(ENV_TEST_POSTGRES_URL)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned());
        let admin = PgConnectOptions::from_str(&admin_url)
            .unwrap_or_else(|e| panic!("invalid {ENV_TEST_POSTGRES_URL} {admin_url:?}: {e}"));
        let name = format!("omnibus_test_{:016x}", rand::rng().random::<u64>());
        let mut conn = admin_connection(&admin).await;
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let _ = conn.close().await;
        TestDatabase {
            url: with_database(&admin_url, &name),
            place: Place::Postgres {
                admin: Box::new(admin),
                name,
            },
        }
    }

    /// The URL to hand to `Store::connect`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Which backend this database runs on.
    pub fn kind(&self) -> DatabaseKind {
        match self.place {
            Place::Sqlite { .. } => DatabaseKind::Sqlite,
            Place::Postgres { .. } => DatabaseKind::Postgres,
        }
    }

    /// Wipes every table, for "drop the projection and rebuild" tests: SQLite
    /// deletes the file and its `-wal`/`-shm`; PostgreSQL recreates the
    /// `public` schema. Close pools on the database first: an open SQLite
    /// connection keeps writing to the deleted file.
    pub async fn drop_all(&self) {
        match &self.place {
            Place::Sqlite { file, .. } => remove_sqlite_files(file).await,
            Place::Postgres { admin, name } => {
                let mut conn = admin_connection(&(**admin).clone().database(name)).await;
                sqlx::raw_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("cannot wipe test database {name}: {e}"));
                let _ = conn.close().await;
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Place::Postgres { admin, name } = &self.place else {
            return; // the TempDir removes the SQLite files
        };
        // Drop may run inside or outside a runtime, and a current-thread
        // runtime cannot be blocked on from within itself: use a thread with
        // its own runtime. Best effort: a leftover database is only litter.
        let (admin, name) = ((**admin).clone(), name.clone());
        let dropper = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(drop_database(admin, name));
        });
        let _ = dropper.join();
    }
}

async fn drop_database(admin: PgConnectOptions, name: String) {
    let connect = admin.connect();
    let Ok(Ok(mut conn)) = tokio::time::timeout(CONNECT_TIMEOUT, connect).await else {
        return;
    };
    let _ = sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await;
    let _ = conn.close().await;
}

async fn admin_connection(options: &PgConnectOptions) -> PgConnection {
    let host = options.get_host().to_owned();
    let port = options.get_port();
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => panic!(
            "PostgreSQL at {host}:{port} refused the test connection ({e}); \
             start PostgreSQL or run `make deps`, or set {ENV_TEST_POSTGRES_URL}"
        ),
        Err(_) => panic!(
            "PostgreSQL at {host}:{port} did not answer within {CONNECT_TIMEOUT:?}; \
             start PostgreSQL or run `make deps`, or set {ENV_TEST_POSTGRES_URL}"
        ),
    }
}

/// Replaces the database (path) of a PostgreSQL URL, keeping any query.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Removes the database file and the per-component files beside it
/// (`omnibus.<component>.db`, see `omnibus_store::component_url`), with
/// their WAL and journal files.
async fn remove_sqlite_files(file: &Path) {
    let (Some(dir), Some(stem)) = (file.parent(), file.file_stem().and_then(|s| s.to_str())) else {
        return;
    };
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => panic!("cannot list {}: {e}", dir.display()),
    };
    let prefix = format!("{stem}.");
    while let Ok(Some(entry)) = entries.next_entry().await {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(&prefix) {
            continue;
        }
        match tokio::fs::remove_file(entry.path()).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("cannot delete {}: {e}", entry.path().display()),
        }
    }
}

/// Runs each named `async fn case(db: TestDatabase)` once per backend, as
/// the tests `sqlite::<case>` and `postgres::<case>` of the calling module.
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case($crate::TestDatabase::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case($crate::TestDatabase::postgres().await).await;
                }
            )*
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_in_a_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgresql://u:p@h/db?sslmode=disable", "t2"),
            "postgresql://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "t3"),
            "postgres://h:5432/t3"
        );
    }

    #[test]
    fn sqlite_url_points_into_a_temp_dir() {
        let db = TestDatabase::sqlite();
        assert!(db.url().starts_with("sqlite:///"), "{}", db.url());
        assert!(db.url().ends_with("/omnibus.db"));
        assert_eq!(db.kind(), DatabaseKind::Sqlite);
    }
}
