//! The projection runner against real databases: a refused event is rolled
//! back alone and rejected, a refused run is retried one event at a time,
//! outputs come only from what committed, and the checkpoint moves with the
//! batch.

use omnibus_bus::{Delivery, Projection};
use omnibus_proto::Event;
use omnibus_store::{Migration, Rules, Runner, Step, Store};
use omnibus_testkit::TestDatabase;
use prost::Message as _;
use sqlx::AnyConnection;

const ITEMS: Migration = Migration::portable(
    1,
    "items",
    "CREATE TABLE items (id TEXT PRIMARY KEY CHECK (id <> 'refused'))",
);

/// Inserts each event's id; applies everything as one run.
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

    fn run_len(&self, rest: &[Step<'_>]) -> usize {
        rest.len()
    }

    async fn apply(
        &mut self,
        conn: &mut AnyConnection,
        run: &[Step<'_>],
    ) -> Result<Vec<String>, sqlx::Error> {
        for step in run {
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

    fn discarded(&mut self) {
        self.discarded += 1;
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_refused_events_are_rejected_alone() {
    refused_events_are_rejected_alone(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refused_events_are_rejected_alone() {
    refused_events_are_rejected_alone(TestDatabase::postgres().await).await;
}
