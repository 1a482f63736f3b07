//! The store against real databases: every case runs on a SQLite file and on
//! a throwaway PostgreSQL database.

use std::time::Duration;

use omnibus_core::ErrorCode;
use omnibus_store::{Backend, Migration, Store, StoreError, save_checkpoint};
use omnibus_testkit::{DatabaseKind, TestDatabase};

omnibus_testkit::on_both_backends!(
    connects_and_pings,
    migrating_twice_applies_once,
    checkpoint_commits_with_the_transaction,
    components_migrate_independently,
    concurrent_migrations_apply_once,
    failed_migration_rolls_back,
    unique_violations_are_recognised,
);

/// Not idempotent on purpose (no `IF NOT EXISTS`): applying it twice fails.
/// The `;` inside the string literal must not split the statement.
const NOTES_V1: Migration = Migration::portable(
    1,
    "notes table",
    "CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL);
     INSERT INTO notes (id, body) VALUES ('seed', 'a; b');",
);
const NOTES_V2: Migration = Migration {
    version: 2,
    description: "notes index",
    sqlite: "CREATE INDEX notes_body ON notes (body)",
    postgres: "CREATE INDEX notes_body ON notes (body)",
};

async fn connect(db: &TestDatabase) -> Store {
    Store::connect(db.url()).await.expect("connect")
}

async fn count(store: &Store, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .expect("count")
}

async fn recorded_versions(store: &Store, component: &str) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT version FROM omnibus_migrations WHERE component = $1 ORDER BY version",
    )
    .bind(component)
    .fetch_all(store.pool())
    .await
    .expect("versions")
}

async fn connects_and_pings(db: TestDatabase) {
    let store = connect(&db).await;
    let expected = match db.kind() {
        DatabaseKind::Sqlite => Backend::Sqlite,
        DatabaseKind::Postgres => Backend::Postgres,
    };
    assert_eq!(store.backend(), expected);
    store.ping().await.expect("ping");
    assert_eq!(
        store.checkpoint("nothing-yet").await.expect("checkpoint"),
        0
    );
}

async fn migrating_twice_applies_once(db: TestDatabase) {
    let store = connect(&db).await;
    store.migrate("notes", &[NOTES_V1]).await.expect("first");
    store.migrate("notes", &[NOTES_V1]).await.expect("second");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM notes").await, 1);
    let body: String = sqlx::query_scalar("SELECT body FROM notes WHERE id = 'seed'")
        .fetch_one(store.pool())
        .await
        .expect("seed");
    assert_eq!(body, "a; b");

    // A new binary adds version 2: only it runs, on a fresh pool.
    let store = connect(&db).await;
    store
        .migrate("notes", &[NOTES_V1, NOTES_V2])
        .await
        .expect("upgrade");
    assert_eq!(recorded_versions(&store, "notes").await, vec![1, 2]);
}

async fn checkpoint_commits_with_the_transaction(db: TestDatabase) {
    let store = connect(&db).await;
    store.migrate("notes", &[NOTES_V1]).await.expect("migrate");
    assert_eq!(store.checkpoint("notes-projection").await.expect("read"), 0);

    let mut tx = store.begin_write().await.expect("begin");
    sqlx::query("INSERT INTO notes (id, body) VALUES ($1, $2)")
        .bind("n1")
        .bind("first")
        .execute(&mut *tx)
        .await
        .expect("insert");
    save_checkpoint(&mut tx, "notes-projection", 42)
        .await
        .expect("save");
    tx.commit().await.expect("commit");
    assert_eq!(
        store.checkpoint("notes-projection").await.expect("read"),
        42
    );

    let mut tx = store.pool().begin().await.expect("begin");
    sqlx::query("INSERT INTO notes (id, body) VALUES ('n2', 'lost')")
        .execute(&mut *tx)
        .await
        .expect("insert");
    save_checkpoint(&mut tx, "notes-projection", 50)
        .await
        .expect("save");
    tx.rollback().await.expect("rollback");
    assert_eq!(
        store.checkpoint("notes-projection").await.expect("read"),
        42
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM notes").await, 2);

    // Upsert: a later save overwrites, other projections are separate.
    let mut conn = store.pool().acquire().await.expect("acquire");
    save_checkpoint(&mut conn, "notes-projection", u64::from(u32::MAX) + 7)
        .await
        .expect("save");
    save_checkpoint(&mut conn, "other", 1).await.expect("save");
    drop(conn);
    assert_eq!(
        store.checkpoint("notes-projection").await.expect("read"),
        u64::from(u32::MAX) + 7
    );
    assert_eq!(store.checkpoint("other").await.expect("read"), 1);

    let mut conn = store.pool().acquire().await.expect("acquire");
    let too_big = save_checkpoint(&mut conn, "other", u64::MAX).await;
    assert!(matches!(
        too_big,
        Err(StoreError::CheckpointOutOfRange { .. })
    ));
}

async fn components_migrate_independently(db: TestDatabase) {
    let store = connect(&db).await;
    let alpha = [
        Migration::portable(1, "alpha", "CREATE TABLE alpha (x BIGINT)"),
        Migration::portable(2, "alpha more", "CREATE TABLE alpha2 (x BIGINT)"),
    ];
    let beta = [Migration::portable(
        1,
        "beta",
        "CREATE TABLE beta (x BIGINT)",
    )];
    store.migrate("alpha", &alpha).await.expect("alpha");
    store.migrate("beta", &beta).await.expect("beta");
    assert_eq!(recorded_versions(&store, "alpha").await, vec![1, 2]);
    assert_eq!(recorded_versions(&store, "beta").await, vec![1]);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM beta").await, 0);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM alpha2").await, 0);
}

async fn concurrent_migrations_apply_once(db: TestDatabase) {
    // Two processes starting at once: separate pools, the same component.
    let (a, b) = tokio::join!(connect(&db), connect(&db));
    let migrations = [NOTES_V1, NOTES_V2];
    let (ra, rb) = tokio::join!(
        a.migrate("notes", &migrations),
        b.migrate("notes", &migrations)
    );
    ra.expect("first pool");
    rb.expect("second pool");
    assert_eq!(recorded_versions(&a, "notes").await, vec![1, 2]);
    assert_eq!(count(&a, "SELECT COUNT(*) FROM notes").await, 1);
}

async fn failed_migration_rolls_back(db: TestDatabase) {
    let store = connect(&db).await;
    let broken = Migration::portable(
        1,
        "half broken",
        "CREATE TABLE half (x BIGINT); INSERT INTO no_such_table VALUES (1);",
    );
    let err = store
        .migrate("broken", &[broken])
        .await
        .expect_err("must fail");
    assert!(
        matches!(
            err,
            StoreError::Migration {
                component: "broken",
                version: 1,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.error_code(), ErrorCode::Internal);
    assert!(recorded_versions(&store, "broken").await.is_empty());
    let half = sqlx::query("SELECT COUNT(*) FROM half")
        .execute(store.pool())
        .await;
    assert!(half.is_err(), "the first statement was rolled back too");

    let unordered = [NOTES_V2, NOTES_V1];
    assert!(matches!(
        store.migrate("notes", &unordered).await,
        Err(StoreError::InvalidMigrations { .. })
    ));
}

async fn unique_violations_are_recognised(db: TestDatabase) {
    let store = connect(&db).await;
    store.migrate("notes", &[NOTES_V1]).await.expect("migrate");
    let err: StoreError = sqlx::query("INSERT INTO notes (id, body) VALUES ('seed', 'again')")
        .execute(store.pool())
        .await
        .expect_err("duplicate key")
        .into();
    assert!(err.is_unique_violation(), "{err}");
    assert_eq!(err.error_code(), ErrorCode::Internal);
}

// === SQLite only ===

async fn sqlite_file(file: &std::path::Path) -> Store {
    Store::connect(&format!("sqlite://{}", file.display()))
        .await
        .expect("connect")
}

/// The value of a pragma on one of the store's pooled connections.
async fn pragma<T>(store: &Store, sql: &'static str) -> T
where
    T: Send + Unpin + for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .expect(sql)
}

#[tokio::test]
async fn sqlite_creates_the_directory_and_uses_wal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("nested/deeper/omnibus.db");
    let store = sqlite_file(&file).await;
    assert!(file.exists());
    assert_eq!(pragma::<String>(&store, "PRAGMA journal_mode").await, "wal");
    assert_eq!(pragma::<i64>(&store, "PRAGMA foreign_keys").await, 1);
}

/// A writer's commit no longer copies the WAL into the database file (and
/// waits for its fsyncs) every 1,000 pages: the store's own task does, soon
/// after any commit.
#[tokio::test]
async fn sqlite_checkpoints_beside_the_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("omnibus.db");
    let store = sqlite_file(&file).await;
    let writers_own: i64 = pragma(&store, "PRAGMA wal_autocheckpoint").await;
    assert_eq!(
        writers_own, 8192,
        "pages before a commit checkpoints itself"
    );
    sqlx::raw_sql("CREATE TABLE blobs (body BLOB NOT NULL)")
        .execute(store.pool())
        .await
        .expect("create");
    // 2 MiB: about 500 pages, far below what makes a commit checkpoint.
    const BLOB: usize = 2 << 20;
    let mut tx = store.begin_write().await.expect("begin");
    sqlx::query("INSERT INTO blobs (body) VALUES ($1)")
        .bind(vec![7u8; BLOB])
        .execute(&mut *tx)
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    // In WAL mode only a checkpoint writes the database file itself.
    let size = || std::fs::metadata(&file).map_or(0, |m| m.len());
    omnibus_testkit::wait_until(
        "the WAL copied into the database file",
        Duration::from_secs(10),
        || {
            let copied = size() >= BLOB as u64;
            async move { copied.then_some(()) }
        },
    )
    .await;
    store.close().await;
}

#[tokio::test]
async fn unsupported_urls_are_refused() {
    for url in ["sqlite::memory:", "mysql://root@localhost/db", "nonsense"] {
        let err = Store::connect(url).await.expect_err(url);
        assert!(matches!(err, StoreError::UnsupportedUrl(_)), "{url}: {err}");
    }
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    let port = omnibus_testkit::free_port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/none");
    let err = Store::connect_with_timeout(&url, Duration::from_millis(300))
        .await
        .expect_err("nothing listens there");
    assert_eq!(err.error_code(), ErrorCode::Unavailable, "{err}");
}
