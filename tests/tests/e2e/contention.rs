//! Projections never skip an event because the database reported contention:
//! SQLite busy past its timeout, a PostgreSQL deadlock or serialization
//! failure. The batch is retried with the checkpoint in place, nothing is
//! parked, and every message arrives.

use std::time::Duration;

use futures::StreamExt;
use omnibus_store::sqlx::{self, AssertSqlSafe, Connection};
use omnibus_testkit::wait_until;
use omnibus_tests::{Sandbox, SandboxOptions, telegram};

use crate::support::{PATIENCE, all_messages, wait_for_conversations};

const SECRET: &str = "contention-secret";
const MESSAGES: i64 = 20;
/// SQLite's `busy_timeout` in the store is 10 s; the lock is held past it.
const HOLD_PAST_BUSY_TIMEOUT: Duration = Duration::from_secs(12);

#[tokio::test]
async fn sqlite_busy_past_its_timeout_is_retried_not_parked() {
    let sandbox = Sandbox::start().await;
    let channel = sandbox.telegram_channel(SECRET).await;
    let client = reqwest::Client::new();
    post_messages(&sandbox, &client, &channel.id, 1..=1).await;
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    wait_for_count(&sandbox, &conversation.id, 1).await;

    let mut holder = sqlx::SqliteConnection::connect(sandbox.db.url())
        .await
        .expect("a second connection to the sqlite file");
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .expect("take the write lock");
    post_messages(&sandbox, &client, &channel.id, 2..=MESSAGES).await;
    // The fault's duration, not a synchronisation: every projection's write
    // transaction waits out busy_timeout and fails with SQLITE_BUSY meanwhile.
    tokio::time::sleep(HOLD_PAST_BUSY_TIMEOUT).await;
    assert!(
        all_messages(&sandbox, &conversation.id).await.len() < MESSAGES as usize,
        "the projection wrote while the lock was held"
    );
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut holder)
        .await
        .expect("release the write lock");

    wait_for_count(&sandbox, &conversation.id, MESSAGES as usize).await;
    assert_nothing_parked(&sandbox).await;
}

#[tokio::test]
async fn postgres_deadlocks_and_serialization_failures_are_retried_not_parked() {
    let sandbox = Sandbox::start_with(SandboxOptions {
        postgres: true,
        ..Default::default()
    })
    .await;
    let channel = sandbox.telegram_channel(SECRET).await;
    let mut admin = sqlx::PgConnection::connect(sandbox.db.url())
        .await
        .expect("a second connection to postgres");
    // The database itself reports the errors: the first four inserts into
    // the messages table fail, twice as a serialization failure and twice as
    // a deadlock, whichever projection transaction makes them.
    sqlx::raw_sql(AssertSqlSafe(FAULTS))
        .execute(&mut admin)
        .await
        .expect("install the faults");

    let client = reqwest::Client::new();
    post_messages(&sandbox, &client, &channel.id, 1..=MESSAGES).await;
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    wait_for_count(&sandbox, &conversation.id, MESSAGES as usize).await;

    let raised: i64 = sqlx::query_scalar("SELECT last_value FROM fault_count")
        .fetch_one(&mut admin)
        .await
        .expect("read the fault counter");
    assert!(raised > 4, "the faults fired ({raised} inserts attempted)");
    assert_nothing_parked(&sandbox).await;
}

const FAULTS: &str = r"
CREATE SEQUENCE fault_count;
CREATE FUNCTION fault() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE n bigint := nextval('fault_count');
BEGIN
  IF n <= 2 THEN
    RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001';
  ELSIF n <= 4 THEN
    RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER fault BEFORE INSERT ON conv_messages FOR EACH ROW EXECUTE FUNCTION fault();
";

/// Posts updates `updates` of one chat; each must be stored (200).
async fn post_messages(
    sandbox: &Sandbox,
    client: &reqwest::Client,
    channel_id: &str,
    updates: std::ops::RangeInclusive<i64>,
) {
    for update_id in updates {
        let update = telegram::text_update(update_id, 4242, &format!("message {update_id}"));
        let status =
            telegram::post_update(client, &sandbox.http_url(), channel_id, SECRET, &update).await;
        assert_eq!(status, reqwest::StatusCode::OK, "update {update_id}");
    }
}

async fn wait_for_count(sandbox: &Sandbox, conversation_id: &str, count: usize) {
    wait_until(&format!("{count} message(s)"), PATIENCE, || async {
        let messages = all_messages(sandbox, conversation_id).await;
        (messages.len() == count).then_some(())
    })
    .await;
}

/// No dead letter on the stream and none counted.
async fn assert_nothing_parked(sandbox: &Sandbox) {
    let client = async_nats::connect(sandbox.nats.url()).await.expect("nats");
    let js = async_nats::jetstream::new(client);
    let stream = js.get_stream("OMNIBUS").await.expect("stream");
    let mut subjects = stream
        .info_with_subjects("omnibus.dlq.>")
        .await
        .expect("subjects");
    let mut parked = Vec::new();
    while let Some(entry) = subjects.next().await {
        parked.push(entry.expect("subject count"));
    }
    assert!(parked.is_empty(), "dead letters: {parked:?}");
    let metrics = reqwest::get(format!("{}/metrics", sandbox.http_url()))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    assert!(
        !metrics.contains("omnibus_projection_parked_total{"),
        "parked events counted"
    );
}
