//! The projection runner against real databases: a refused event is rolled
//! back alone and rejected, a refused run is retried one event at a time,
//! outputs come only from what committed, the checkpoint moves with the
//! batch, a batch that changes nothing costs no transaction, a single
//! event a projection writes as a shot costs one statement, and so does a
//! batch applied in memory.

use omnibus_bus::{Delivery, Projection};
use omnibus_proto::Event;
use omnibus_store::{
    AppliedInMemory, Backend, MAX_IN_MEMORY, MAX_UNSAVED, Migration, Rules, Runner, Shot, Step,
    Store,
};
use omnibus_testkit::TestDatabase;
use prost::Message as _;
use sqlx::AnyConnection;

omnibus_testkit::on_both_backends!(
    refused_events_are_rejected_alone,
    a_refused_single_run_is_applied_again_event_by_event,
    batches_that_change_nothing_cost_no_transaction,
    a_failed_batch_takes_its_checkpoint_back_and_its_retry_commits,
    a_single_event_goes_in_one_shot,
    a_batch_applied_in_memory_writes_its_shots_with_the_checkpoint,
);

const ITEMS: Migration = Migration::portable(
    1,
    "items",
    "CREATE TABLE items (id TEXT PRIMARY KEY CHECK (id <> 'refused'))",
);

/// Inserts each event's id, except `noop…` ones, which change nothing;
/// applies everything as one run.
#[derive(Default)]
struct Items {
    committed: Vec<String>,
    discarded: usize,
}

impl Rules for Items {
    type Output = Vec<String>;

    fn name(&self) -> &'static str {
        "items"
    }

    fn changes(&self, step: &Step<'_>) -> bool {
        !is_noop(step)
    }

    fn run_len(&self, rest: &[Step<'_>]) -> usize {
        rest.len()
    }

    async fn apply(
        &mut self,
        conn: &mut AnyConnection,
        run: &[Step<'_>],
    ) -> Result<Vec<String>, sqlx::Error> {
        for step in run.iter().filter(|s| !is_noop(s)) {
            sqlx::query("INSERT INTO items (id) VALUES ($1)")
                .bind(step.event.id.as_str())
                .execute(&mut *conn)
                .await?;
        }
        let changed = run.iter().filter(|s| !is_noop(s));
        Ok(changed.map(|s| s.event.id.clone()).collect())
    }

    fn committed(&mut self, _batch: &[Delivery], outputs: Vec<Vec<String>>) {
        self.committed.extend(outputs.into_iter().flatten());
    }

    fn discarded(&mut self) {
        self.discarded += 1;
    }
}

fn is_noop(step: &Step<'_>) -> bool {
    step.event.id.starts_with("noop")
}

fn delivery(sequence: u64, id: &str) -> Delivery {
    let event = Event {
        id: id.to_owned(),
        ..Event::default()
    };
    Delivery {
        sequence,
        subject: "omnibus.test".into(),
        payload: event.encode_to_vec().into(),
        event: Ok(event),
        headers: None,
        delivered: 1,
    }
}

fn undecodable(sequence: u64) -> Delivery {
    let payload = vec![0xff, 0xff, 0xff];
    Delivery {
        sequence,
        subject: "omnibus.test".into(),
        event: Event::decode(payload.as_slice()),
        payload: payload.into(),
        headers: None,
        delivered: 1,
    }
}

async fn items(store: &Store) -> Vec<String> {
    sqlx::query_scalar("SELECT id FROM items ORDER BY id")
        .fetch_all(store.pool())
        .await
        .unwrap()
}

async fn refused_events_are_rejected_alone(db: TestDatabase) {
    let store = Store::connect(db.url()).await.unwrap();
    store.migrate("items", &[ITEMS]).await.unwrap();
    let mut runner = Runner::new(store.clone(), Items::default());
    let batch = [
        delivery(1, "a"),
        delivery(2, "refused"),
        undecodable(3),
        delivery(4, "b"),
        delivery(5, "c"),
    ];
    assert_eq!(runner.applied_through().await.unwrap(), 0);
    let rejected = runner.apply(&batch).await.expect("the batch commits");
    let rejected: Vec<u64> = rejected.iter().map(|r| r.sequence).collect();
    assert_eq!(rejected, [2, 3], "the refused and the undecodable event");
    assert_eq!(items(&store).await, ["a", "b", "c"]);
    assert_eq!(runner.applied_through().await.unwrap(), 5);
    assert_eq!(
        runner.rules().committed,
        ["a", "b", "c"],
        "outputs only of what committed"
    );
    assert_eq!(
        runner.rules().discarded,
        2,
        "the run [a, refused], then refused alone"
    );

    let again = runner
        .apply(&[delivery(6, "d"), delivery(7, "e")])
        .await
        .unwrap();
    assert!(again.is_empty());
    assert_eq!(items(&store).await, ["a", "b", "c", "d", "e"]);
    assert_eq!(runner.applied_through().await.unwrap(), 7);
}

/// A batch that is one run is tried without a savepoint first; refused,
/// it is rolled back and applied again run by run, then event by event.
async fn a_refused_single_run_is_applied_again_event_by_event(db: TestDatabase) {
    let store = Store::connect(db.url()).await.unwrap();
    store.migrate("items", &[ITEMS]).await.unwrap();
    let mut runner = Runner::new(store.clone(), Items::default());
    let batch = [delivery(1, "a"), delivery(2, "refused"), delivery(3, "b")];
    let rejected = runner.apply(&batch).await.expect("the batch commits");
    let rejected: Vec<u64> = rejected.iter().map(|r| r.sequence).collect();
    assert_eq!(rejected, [2]);
    assert_eq!(items(&store).await, ["a", "b"]);
    assert_eq!(runner.rules().committed, ["a", "b"]);
    assert_eq!(
        runner.rules().discarded,
        3,
        "the batch as one run, the run in a savepoint, then refused alone"
    );
    assert_eq!(store.checkpoint("items").await.unwrap(), 3);
}

/// Batches of events that change nothing leave the stored checkpoint
/// behind, which the next batch that changes something carries forward,
/// and never by more than `MAX_UNSAVED` events.
async fn batches_that_change_nothing_cost_no_transaction(db: TestDatabase) {
    let store = Store::connect(db.url()).await.unwrap();
    store.migrate("items", &[ITEMS]).await.unwrap();
    let mut runner = Runner::new(store.clone(), Items::default());
    let noops = [delivery(1, "noop-1"), delivery(2, "noop-2")];
    assert!(runner.apply(&noops).await.unwrap().is_empty());
    assert_eq!(
        store.checkpoint("items").await.unwrap(),
        0,
        "no transaction"
    );

    runner.apply(&[delivery(3, "a")]).await.unwrap();
    assert_eq!(store.checkpoint("items").await.unwrap(), 3);
    assert_eq!(items(&store).await, ["a"]);

    let mut sequence = 3;
    let mut noops = |count: u64| -> Vec<Delivery> {
        (0..count)
            .map(|_| {
                sequence += 1;
                delivery(sequence, &format!("noop-{sequence}"))
            })
            .collect()
    };
    let below = noops(MAX_UNSAVED - 1);
    runner.apply(&below).await.unwrap();
    assert_eq!(store.checkpoint("items").await.unwrap(), 3);
    let over = noops(1);
    runner.apply(&over).await.unwrap();
    assert_eq!(
        store.checkpoint("items").await.unwrap(),
        3 + MAX_UNSAVED,
        "written once MAX_UNSAVED events went by"
    );
    assert_eq!(items(&store).await, ["a"], "the no-ops inserted nothing");
    assert_eq!(runner.rules().committed, ["a"]);
}

/// Inserts each event's id; the first time it meets `fail-once` it fails
/// the way a lost connection does (not a refusal), so the batch is retried.
#[derive(Default)]
struct FailsOnce {
    failed: bool,
}

impl Rules for FailsOnce {
    type Output = ();

    /// A quote in the name: the checkpoint is written as a literal.
    fn name(&self) -> &'static str {
        "fails'once"
    }

    fn run_len(&self, rest: &[Step<'_>]) -> usize {
        rest.len()
    }

    async fn apply(&mut self, conn: &mut AnyConnection, run: &[Step<'_>]) -> sqlx::Result<()> {
        for step in run {
            if step.event.id == "fail-once" && !std::mem::replace(&mut self.failed, true) {
                return Err(sqlx::Error::Protocol("the connection went away".into()));
            }
            sqlx::query("INSERT INTO items (id) VALUES ($1)")
                .bind(step.event.id.as_str())
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}

/// The checkpoint is written in the same round trip as the batch's
/// `BEGIN`: a batch that fails takes it back with its rows, and the retry,
/// on a fresh connection, commits both.
async fn a_failed_batch_takes_its_checkpoint_back_and_its_retry_commits(db: TestDatabase) {
    let store = Store::connect(db.url()).await.unwrap();
    store.migrate("items", &[ITEMS]).await.unwrap();
    let mut runner = Runner::new(store.clone(), FailsOnce::default());
    runner.apply(&[delivery(1, "a")]).await.unwrap();
    assert_eq!(store.checkpoint("fails'once").await.unwrap(), 1);

    let batch = [delivery(2, "b"), delivery(3, "fail-once")];
    assert!(runner.apply(&batch).await.is_err());
    assert_eq!(items(&store).await, ["a"]);
    assert_eq!(store.checkpoint("fails'once").await.unwrap(), 1);

    assert!(runner.apply(&batch).await.unwrap().is_empty());
    assert_eq!(items(&store).await, ["a", "b", "fail-once"]);
    assert_eq!(store.checkpoint("fails'once").await.unwrap(), 3);
}

/// The runner keeps its connection between batches; when the database
/// drops it, one batch fails and the next is written on a new connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_writer_connection_the_server_dropped_is_replaced() {
    let db = TestDatabase::postgres().await;
    let store = Store::connect(db.url()).await.unwrap();
    store.migrate("items", &[ITEMS]).await.unwrap();
    let mut runner = Runner::new(store.clone(), Items::default());
    runner.apply(&[delivery(1, "a")]).await.unwrap();

    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let batch = [delivery(2, "b")];
    assert!(
        runner.apply(&batch).await.is_err(),
        "its connection is gone"
    );
    runner.apply(&batch).await.expect("a new connection");
    assert_eq!(items(&store).await, ["a", "b"]);
    assert_eq!(store.checkpoint("items").await.unwrap(), 2);
}

/// Writes every event as a shot (its id and `<id>-too`, two statements),
/// except `plain…` ones; counts the calls of `apply`.
#[derive(Default)]
struct Shots {
    applied: usize,
    committed: Vec<String>,
}

impl Rules for Shots {
    type Output = Vec<String>;

    /// A quote in the name: the checkpoint's name is a literal in the shot.
    fn name(&self) -> &'static str {
        "shot's"
    }

    fn run_len(&self, rest: &[Step<'_>]) -> usize {
        rest.len()
    }

    fn shot(&self, step: &Step<'_>, backend: Backend) -> Option<(Shot, Vec<String>)> {
        let id = step.event.id.as_str();
        if id.starts_with("plain") {
            return None;
        }
        let sql = match backend {
            Backend::Sqlite => {
                "INSERT INTO items (id) VALUES ($1 || '-too'); INSERT INTO items (id) VALUES ($1)"
            }
            Backend::Postgres => {
                "WITH too AS (INSERT INTO items (id) VALUES ($1 || '-too'))
                 INSERT INTO items (id) VALUES ($1)"
            }
        };
        Some((Shot::new(sql, vec![id.into()]), vec![id.to_owned()]))
    }

    async fn apply(
        &mut self,
        conn: &mut AnyConnection,
        run: &[Step<'_>],
    ) -> Result<Vec<String>, sqlx::Error> {
        self.applied += 1;
        for step in run {
            sqlx::query("INSERT INTO items (id) VALUES ($1 || '-too')")
                .bind(step.event.id.as_str())
                .execute(&mut *conn)
                .await?;
            sqlx::query("INSERT INTO items (id) VALUES ($1)")
                .bind(step.event.id.as_str())
                .execute(&mut *conn)
                .await?;
        }
        Ok(run.iter().map(|s| s.event.id.clone()).collect())
    }

    fn committed(&mut self, _batch: &[Delivery], outputs: Vec<Vec<String>>) {
        self.committed.extend(outputs.into_iter().flatten());
    }
}

/// A batch of one event its rules write as a shot commits in one
/// statement with its checkpoint (on SQLite so do a few joined); a shot the
/// database refuses halfway keeps nothing, its batch is then applied the
/// usual way (the refused event rejected), and the next shot works on a
/// clean connection.
async fn a_single_event_goes_in_one_shot(db: TestDatabase) {
    let store = Store::connect(db.url()).await.unwrap();
    store.migrate("items", &[ITEMS]).await.unwrap();
    let mut runner = Runner::new(store.clone(), Shots::default());

    assert!(runner.apply(&[delivery(1, "a")]).await.unwrap().is_empty());
    assert_eq!(items(&store).await, ["a", "a-too"]);
    assert_eq!(store.checkpoint("shot's").await.unwrap(), 1);
    assert_eq!(runner.rules().applied, 0, "written by the shot alone");
    assert_eq!(runner.shot_fallbacks(), 0);

    let rejected = runner.apply(&[delivery(2, "refused")]).await.unwrap();
    let rejected: Vec<u64> = rejected.iter().map(|r| r.sequence).collect();
    assert_eq!(rejected, [2], "refused by the shot, then by apply");
    assert_eq!(
        items(&store).await,
        ["a", "a-too"],
        "nothing of the refused shot's first statement"
    );
    assert_eq!(store.checkpoint("shot's").await.unwrap(), 2);
    let after_refusal = runner.rules().applied;
    assert!(after_refusal > 0, "the refused event went to apply");
    assert_eq!(runner.shot_fallbacks(), 1);

    assert!(runner.apply(&[delivery(3, "b")]).await.unwrap().is_empty());
    assert_eq!(runner.rules().applied, after_refusal, "a shot again");
    assert_eq!(store.checkpoint("shot's").await.unwrap(), 3);

    let batch = [delivery(4, "c"), delivery(5, "plain-d")];
    assert!(runner.apply(&batch).await.unwrap().is_empty());
    assert_eq!(
        runner.rules().applied,
        after_refusal + 1,
        "not all shots: apply"
    );
    assert!(
        runner
            .apply(&[delivery(6, "plain-e")])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(runner.rules().applied, after_refusal + 2, "no shot: apply");
    assert_eq!(store.checkpoint("shot's").await.unwrap(), 6);

    // Several shots: one script on SQLite, `apply` on PostgreSQL.
    let joined = store.backend() == Backend::Sqlite;
    let applied = runner.rules().applied;
    let batch = [delivery(7, "f"), delivery(8, "g"), delivery(9, "h")];
    assert!(runner.apply(&batch).await.unwrap().is_empty());
    let expected = if joined { applied } else { applied + 1 };
    assert_eq!(runner.rules().applied, expected, "joined: {joined}");
    assert_eq!(store.checkpoint("shot's").await.unwrap(), 9);

    // A refusal in the middle of a joined script keeps nothing of it.
    let batch = [
        delivery(10, "i"),
        delivery(11, "refused"),
        delivery(12, "j"),
    ];
    let rejected = runner.apply(&batch).await.unwrap();
    let rejected: Vec<u64> = rejected.iter().map(|r| r.sequence).collect();
    assert_eq!(rejected, [11]);
    assert_eq!(store.checkpoint("shot's").await.unwrap(), 12);
    assert_eq!(runner.shot_fallbacks(), if joined { 2 } else { 1 });
    assert_eq!(
        items(&store).await,
        [
            "a",
            "a-too",
            "b",
            "b-too",
            "c",
            "c-too",
            "f",
            "f-too",
            "g",
            "g-too",
            "h",
            "h-too",
            "i",
            "i-too",
            "j",
            "j-too",
            "plain-d",
            "plain-d-too",
            "plain-e",
            "plain-e-too",
        ]
    );
    assert_eq!(
        runner.rules().committed,
        ["a", "b", "c", "plain-d", "plain-e", "f", "g", "h", "i", "j"]
    );
}

/// Applies batches in memory: each event not yet kept becomes a shot
/// inserting its id (`noop…` ones nothing); what it wrote is kept once
/// committed, and forgotten when something is discarded. The usual way is
/// [`Items`]'s.
#[derive(Default)]
struct InMemory {
    usual: Items,
    kept: Vec<String>,
    applied: usize,
}

impl Rules for InMemory {
    type Output = Vec<String>;

    fn name(&self) -> &'static str {
        "in memory"
    }

    fn run_len(&self, rest: &[Step<'_>]) -> usize {
        rest.len()
    }

    async fn apply_in_memory(
        &mut self,
        _conn: &mut AnyConnection,
        batch: &[Step<'_>],
    ) -> Result<AppliedInMemory<Vec<String>>, sqlx::Error> {
        let new: Vec<String> = batch
            .iter()
            .map(|s| s.event.id.clone())
            .filter(|id| !id.starts_with("noop") && !self.kept.contains(id))
            .collect();
        let insert = |id: &String| {
            Shot::new(
                "INSERT INTO items (id) VALUES ($1)",
                vec![id.as_str().into()],
            )
        };
        Ok(Some((new.iter().map(insert).collect(), new)))
    }

    async fn apply(
        &mut self,
        conn: &mut AnyConnection,
        run: &[Step<'_>],
    ) -> Result<Vec<String>, sqlx::Error> {
        self.applied += 1;
        self.usual.apply(conn, run).await
    }

    fn committed(&mut self, batch: &[Delivery], outputs: Vec<Vec<String>>) {
        self.kept.extend(outputs.iter().flatten().cloned());
        self.usual.committed(batch, outputs);
    }

    fn discarded(&mut self) {
        self.kept.clear();
        self.usual.discarded();
    }
}

/// A batch applied in memory commits its shots with the checkpoint, none of
/// them through `apply`; one that writes nothing costs no transaction (the
/// checkpoint waits, as for a batch that changes nothing); shots the
/// database refuses keep nothing, the rules are told to discard, and the
/// batch goes the usual way, which rejects the refused event.
async fn a_batch_applied_in_memory_writes_its_shots_with_the_checkpoint(db: TestDatabase) {
    let store = Store::connect(db.url()).await.unwrap();
    store.migrate("items", &[ITEMS]).await.unwrap();
    let mut runner = Runner::new(store.clone(), InMemory::default());

    let batch = [delivery(1, "a"), delivery(2, "b")];
    assert!(runner.apply(&batch).await.unwrap().is_empty());
    assert_eq!(items(&store).await, ["a", "b"]);
    assert_eq!(store.checkpoint("in memory").await.unwrap(), 2);
    assert_eq!(runner.rules().applied, 0, "written by the shots alone");

    let nothing = [delivery(3, "noop-3"), delivery(4, "a")];
    assert!(runner.apply(&nothing).await.unwrap().is_empty());
    assert_eq!(
        store.checkpoint("in memory").await.unwrap(),
        2,
        "nothing to write: no transaction"
    );
    assert_eq!(runner.rules().usual.committed, ["a", "b"]);

    runner.apply(&[delivery(5, "c")]).await.unwrap();
    assert_eq!(store.checkpoint("in memory").await.unwrap(), 5);
    assert_eq!(items(&store).await, ["a", "b", "c"]);

    let refused = [delivery(6, "d"), delivery(7, "refused")];
    let rejected = runner.apply(&refused).await.unwrap();
    let rejected: Vec<u64> = rejected.iter().map(|r| r.sequence).collect();
    assert_eq!(rejected, [7], "refused in memory's shots, then by apply");
    assert!(runner.rules().usual.discarded > 0, "told to discard");
    assert!(runner.rules().applied > 0, "the batch went the usual way");
    assert_eq!(items(&store).await, ["a", "b", "c", "d"]);
    assert_eq!(store.checkpoint("in memory").await.unwrap(), 7);
    assert_eq!(runner.shot_fallbacks(), 1);

    let applied = runner.rules().applied;
    runner.apply(&[delivery(8, "e")]).await.unwrap();
    assert_eq!(runner.rules().applied, applied, "in memory again");
    assert_eq!(items(&store).await, ["a", "b", "c", "d", "e"]);
    assert_eq!(store.checkpoint("in memory").await.unwrap(), 8);

    let large: Vec<Delivery> = (9..)
        .take(MAX_IN_MEMORY + 1)
        .map(|sequence| delivery(sequence, &format!("large-{sequence}")))
        .collect();
    runner.apply(&large).await.unwrap();
    assert_eq!(
        runner.rules().applied,
        applied + 1,
        "too large: the usual way"
    );
    assert_eq!(items(&store).await.len(), 5 + large.len());

    // Batches that write nothing leave the checkpoint behind by at most
    // MAX_UNSAVED events, then it is written alone.
    let saved = store.checkpoint("in memory").await.unwrap();
    let noops: Vec<Delivery> = (saved + 1..=saved + MAX_UNSAVED)
        .map(|sequence| delivery(sequence, &format!("noop-{sequence}")))
        .collect();
    let (all_but_last, last) = noops.split_at(noops.len() - 1);
    for batch in all_but_last.chunks(MAX_IN_MEMORY) {
        runner.apply(batch).await.unwrap();
    }
    assert_eq!(store.checkpoint("in memory").await.unwrap(), saved);
    runner.apply(last).await.unwrap();
    assert_eq!(
        store.checkpoint("in memory").await.unwrap(),
        saved + MAX_UNSAVED,
        "written alone once MAX_UNSAVED events went by"
    );
    assert_eq!(runner.rules().applied, applied + 1, "all in memory");
}
