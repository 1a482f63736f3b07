//! Shots run in order (on SQLite several in one round trip), on a SQLite
//! file and on a throwaway PostgreSQL database: every value comes back as it
//! went in, and each statement sees what the ones before it changed.

use omnibus_store::{MAX_SHOTS_PER_TRIP, Param, Shot, Store, execute_in_order, is_refusal};
use omnibus_testkit::TestDatabase;

omnibus_testkit::on_both_backends!(
    shots_in_few_trips_keep_every_value_and_see_each_other,
    a_refused_shot_fails_its_trip,
);

/// Texts that would end or bend a literal written in carelessly.
const AWKWARD: &[&str] = &[
    "",
    "it's",
    "back\\slash \\' and \\\\",
    "$q$",
    "abc$q",
    "$q0$ then $q$ then $q1",
    "$1 and $2 are not parameters here",
    "'; DROP TABLE kept; --",
    "two\nlines\tand a tab",
    "unicode ✓ 😀 ё",
    "$$ dollar $ signs $",
];

async fn store_with_table(db: &TestDatabase) -> Store {
    let store = Store::connect(db.url()).await.expect("connect");
    sqlx::raw_sql(
        "CREATE TABLE kept (seq BIGINT PRIMARY KEY, n BIGINT NOT NULL, body TEXT NOT NULL)",
    )
    .execute(store.pool())
    .await
    .expect("create the table");
    store
}

fn insert(seq: i64, n: i64, body: &str) -> Shot {
    Shot::new(
        "INSERT INTO kept (seq, n, body) VALUES ($1, $2, $3)",
        vec![seq.into(), n.into(), body.into()],
    )
}

async fn kept(store: &Store) -> Vec<(i64, i64, String)> {
    sqlx::query_as("SELECT seq, n, body FROM kept ORDER BY seq")
        .fetch_all(store.pool())
        .await
        .expect("read back")
}

async fn shots_in_few_trips_keep_every_value_and_see_each_other(db: TestDatabase) {
    let store = store_with_table(&db).await;
    let numbers = [0, -1, 42, i64::MAX, i64::MIN];
    let mut shots = Vec::new();
    let mut expected = Vec::new();
    // More than one trip's worth, so the rest goes in a second trip.
    for seq in 0..(MAX_SHOTS_PER_TRIP as i64 + 9) {
        let body = AWKWARD[seq as usize % AWKWARD.len()];
        let n = numbers[seq as usize % numbers.len()];
        shots.push(insert(seq, n, body));
        expected.push((seq, n, body.to_owned()));
    }
    // A later statement sees an earlier one's row, in the same trip.
    shots.push(Shot::new(
        "UPDATE kept SET body = body || $1, n = n + $2 WHERE seq = $3",
        vec![Param::Text(" + $q$ more".into()), 1.into(), 2.into()],
    ));
    expected[2].1 += 1;
    expected[2].2.push_str(" + $q$ more");

    let mut tx = store.pool().begin().await.expect("begin");
    execute_in_order(&mut tx, shots).await.expect("the shots");
    tx.commit().await.expect("commit");

    assert_eq!(kept(&store).await, expected);
}

async fn a_refused_shot_fails_its_trip(db: TestDatabase) {
    let store = store_with_table(&db).await;
    let shots = vec![
        insert(1, 1, "first"),
        insert(2, 2, "second"),
        insert(1, 3, "again"),
    ];
    let mut tx = store.pool().begin().await.expect("begin");
    let err = execute_in_order(&mut tx, shots)
        .await
        .expect_err("the same key twice");
    assert!(is_refusal(&err), "a refusal, not an outage: {err}");
    tx.rollback().await.expect("roll back");
    assert_eq!(kept(&store).await, []);
}
