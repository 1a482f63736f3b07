//! A slow subscriber never delays the others: it is cut off with
//! RESOURCE_EXHAUSTED naming where to resume, while a fast one gets all.

use std::time::Duration;

use omnibus_notifications::hub::Hub;
use omnibus_notifications::model::StoredNotification;
use omnibus_notifications::queries::Queries;
use omnibus_notifications::subscribe::{self, Subscription};
use omnibus_proto::{NotificationKind, SubscribeRequest};
use omnibus_store::Store;
use omnibus_testkit::TestDatabase;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn note(n: i64) -> StoredNotification {
    StoredNotification {
        ord: n * 1024,
        kind: NotificationKind::NewMessage,
        conversation_id: "cv_1".into(),
        channel_id: "ch_1".into(),
        message_id: format!("m{n}"),
        text: format!("message {n}"),
        operator_id: String::new(),
        created_at_ms: 1,
    }
}

#[tokio::test]
async fn a_stuck_subscriber_is_cut_off_and_the_others_get_everything() {
    let db = TestDatabase::sqlite();
    let store = Store::connect(db.url()).await.expect("store");
    store
        .migrate("notifications", omnibus_notifications::schema::MIGRATIONS)
        .await
        .expect("migrate");
    let hub = Hub::new(4);
    let stop = CancellationToken::new();
    let start = |buffer: usize| {
        let subscription = Subscription::parse(&SubscribeRequest::default()).unwrap();
        let (tx, rx) = mpsc::channel(buffer);
        let live = hub.subscribe("");
        let run = subscribe::run(
            subscription,
            hub.clone(),
            live,
            Queries::new(store.clone()),
            tx,
            stop.clone(),
        );
        tokio::spawn(run);
        rx
    };
    let mut slow = start(1);
    let mut fast = start(64);

    for n in 1..=20 {
        hub.publish(note(n));
        // Lets the subscribers run between publishes, as a busy server would.
        tokio::task::yield_now().await;
    }
    for n in 1..=20 {
        let got = fast.recv().await.expect("open").expect("no error");
        assert_eq!(got.id, format!("{n}-0"));
    }

    let mut ids = Vec::new();
    let status = loop {
        match tokio::time::timeout(Duration::from_secs(10), slow.recv()).await {
            Ok(Some(Ok(got))) => ids.push(got.id),
            Ok(Some(Err(status))) => break status,
            other => panic!("expected a final status, got {other:?}"),
        }
    };
    assert!(ids.len() < 20, "the slow one was cut off: {ids:?}");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    let last = ids.last().expect("it got some first");
    assert!(
        status.message().contains(&format!("after_id \"{last}\"")),
        "{}",
        status.message()
    );
    assert!(
        slow.recv().await.is_none(),
        "the stream ends after the status"
    );
    stop.cancel();
}

/// Stores `note` as the projection would (before announcing it).
async fn store_note(store: &Store, note: &StoredNotification) {
    omnibus_store::sqlx::query(
        "INSERT INTO notif_notifications (ord, kind, conversation_id, channel_id, message_id, \
         text, operator_id, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(note.ord)
    .bind(note.kind as i64)
    .bind(&note.conversation_id)
    .bind(&note.channel_id)
    .bind(&note.message_id)
    .bind(&note.text)
    .bind(&note.operator_id)
    .bind(note.created_at_ms)
    .execute(store.pool())
    .await
    .expect("insert");
}

#[tokio::test]
async fn a_long_replay_that_overflows_the_live_buffer_replays_again_instead_of_failing() {
    let db = TestDatabase::sqlite();
    let store = Store::connect(db.url()).await.expect("store");
    store
        .migrate("notifications", omnibus_notifications::schema::MIGRATIONS)
        .await
        .expect("migrate");
    for n in 1..=10 {
        store_note(&store, &note(n)).await;
    }
    let hub = Hub::new(4);
    let stop = CancellationToken::new();
    let request = SubscribeRequest {
        after_id: "0-0".into(),
        ..Default::default()
    };
    let (tx, mut rx) = mpsc::channel(1);
    let live = hub.subscribe("");
    tokio::spawn(subscribe::run(
        Subscription::parse(&request).unwrap(),
        hub.clone(),
        live,
        Queries::new(store.clone()),
        tx,
        stop.clone(),
    ));
    // New ones arrive while the subscriber is stuck replaying the first ten.
    for n in 11..=30 {
        store_note(&store, &note(n)).await;
        hub.publish(note(n));
        tokio::task::yield_now().await;
    }
    for n in 1..=30 {
        let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("in time")
            .expect("open")
            .expect("no lag error");
        assert_eq!(got.id, format!("{n}-0"));
    }
    stop.cancel();
}
