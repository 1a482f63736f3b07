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
        let live = hub.subscribe();
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
