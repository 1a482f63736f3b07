//! The testkit against the real binaries and servers it manages.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use omnibus_testkit::{DatabaseKind, NatsServer, TestDatabase, wait_until};
use sqlx::{Connection, PgConnection};

#[tokio::test]
async fn nats_server_survives_a_kill_and_restart_with_its_data() {
    let mut server = NatsServer::start().await;
    assert_eq!(server.url(), format!("nats://127.0.0.1:{}", server.port()));
    let js = jetstream::new(async_nats::connect(server.url()).await.expect("connect"));
    js.get_or_create_stream(stream::Config {
        name: "TESTKIT".into(),
        subjects: vec!["testkit.>".into()],
        ..Default::default()
    })
    .await
    .expect("stream");
    js.publish("testkit.a", "one".into())
        .await
        .expect("publish")
        .await
        .expect("ack");

    server.kill();
    let down = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_millis(500))
        .connect(server.url())
        .await;
    assert!(down.is_err(), "a killed server refuses connections");

    let port = server.port();
    server.restart().await;
    assert_eq!(server.port(), port, "restart keeps the port");
    let js = jetstream::new(async_nats::connect(server.url()).await.expect("reconnect"));
    let messages = wait_until(
        "the stream to be recovered",
        Duration::from_secs(10),
        || {
            let js = js.clone();
            async move {
                let mut stream = js.get_stream("TESTKIT").await.ok()?;
                let info = stream.info().await.ok()?;
                Some(info.state.messages)
            }
        },
    )
    .await;
    assert_eq!(messages, 1);
}

#[tokio::test]
async fn two_servers_run_side_by_side() {
    let (a, b) = tokio::join!(NatsServer::start(), NatsServer::start());
    assert_ne!(a.port(), b.port());
}

#[tokio::test]
async fn postgres_database_is_created_wiped_and_dropped() {
    let db = TestDatabase::postgres().await;
    assert_eq!(db.kind(), DatabaseKind::Postgres);
    let url = db.url().to_owned();

    let mut conn = PgConnection::connect(&url).await.expect("connect");
    sqlx::raw_sql("CREATE TABLE t (x BIGINT); INSERT INTO t VALUES (1)")
        .execute(&mut conn)
        .await
        .expect("create");
    conn.close().await.expect("close");

    db.drop_all().await;
    let mut conn = PgConnection::connect(&url).await.expect("connect again");
    let gone = sqlx::raw_sql("SELECT x FROM t").execute(&mut conn).await;
    assert!(gone.is_err(), "drop_all removed the table");
    sqlx::raw_sql("CREATE TABLE u (x BIGINT)")
        .execute(&mut conn)
        .await
        .expect("the public schema is usable again");
    drop(conn); // FORCE would terminate it anyway

    drop(db);
    assert!(
        PgConnection::connect(&url).await.is_err(),
        "the database is dropped with the TestDatabase"
    );
}

#[tokio::test]
async fn sqlite_drop_all_deletes_the_files() {
    let db = TestDatabase::sqlite();
    let path = db.url().trim_start_matches("sqlite://").to_owned();
    for suffix in ["", "-wal", "-shm"] {
        std::fs::write(format!("{path}{suffix}"), b"x").expect("write");
    }
    db.drop_all().await;
    for suffix in ["", "-wal", "-shm"] {
        assert!(!std::path::Path::new(&format!("{path}{suffix}")).exists());
    }
}
