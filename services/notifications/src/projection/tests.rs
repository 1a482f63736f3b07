//! The projection against real databases, fed directly (no bus): the same
//! history applied in batches of 1, 3, 7 and all at once gives the same
//! tables row for row and announces the same notifications in the same
//! order; applying it again changes and announces nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use omnibus_bus::{Delivery, Projection as _};
use omnibus_proto::{
    AuthorKind, ChannelChanged, ChannelSettings, ChannelState, ConversationAssigned,
    ConversationClosed, ConversationRead, ConversationStarted, Direction, Event, Group,
    GroupChanged, MessageFailed, MessageReceived, MessageRequested, NoReplyNeeded,
    NotificationEvent, NotificationKind as Kind, UnansweredDetected, WebhookCreated,
    WebhookDeleted, WebhookDisabled, event::Payload, notification_event::Change,
};
use omnibus_store::{Runner, Store};
use prost::Message as _;
use sqlx::Connection as _;
use tokio::sync::Notify;

use super::NotificationsProjection;
use super::conversation::{self, Conv};
use crate::hub::{Hub, Live};
use crate::model::StoredNotification;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// A throwaway database: a SQLite file in a fresh directory, or a fresh
/// PostgreSQL database (dropped by [`TestDb::remove`]).
struct TestDb {
    url: String,
    place: Place,
}

enum Place {
    Sqlite(PathBuf),
    Postgres { admin: String, name: String },
}

impl TestDb {
    fn sqlite() -> Self {
        let dir =
            std::env::temp_dir().join(format!("omnibus-notif-{}", uuid::Uuid::now_v7().simple()));
        Self {
            url: format!("sqlite://{}", dir.join("notif.db").display()),
            place: Place::Sqlite(dir),
        }
    }

    /// On the server of `OMNIBUS_TEST_POSTGRES_URL` (default: the local one).
    async fn postgres() -> Self {
        let admin = std::env::var("OMNIBUS_TEST_POSTGRES_URL")
            .ok()
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = format!("omnibus_notif_{}", uuid::Uuid::now_v7().simple());
        let mut conn = sqlx::postgres::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin}: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .expect("create database");
        let _ = conn.close().await;
        let (base, _) = admin.rsplit_once('/').expect("admin URL names a database");
        Self {
            url: format!("{base}/{name}"),
            place: Place::Postgres { admin, name },
        }
    }

    async fn remove(self) {
        match self.place {
            Place::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Place::Postgres { admin, name } => {
                let mut conn = sqlx::postgres::PgConnection::connect(&admin)
                    .await
                    .expect("admin connection");
                let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
                    .execute(&mut conn)
                    .await;
                let _ = conn.close().await;
            }
        }
    }
}

/// The projection on `db`, with what it announces.
async fn projection(db: &TestDb) -> (Runner<NotificationsProjection>, Store, Live) {
    let store = Store::connect(&db.url).await.expect("connect");
    store
        .migrate("notifications", crate::schema::MIGRATIONS)
        .await
        .expect("migrate");
    let hub = Hub::new(10_000);
    let announced = hub.subscribe("");
    let runner = NotificationsProjection::new(store.clone(), hub, Arc::new(Notify::new()), DAY_MS);
    (runner, store, announced)
}

/// One event of the history: its channel, conversation, when it was
/// recorded (relative to now) and what it says.
struct Ev(&'static str, &'static str, i64, Payload);

fn deliveries(events: Vec<Ev>) -> Vec<Delivery> {
    let now = omnibus_core::now_ms();
    events
        .into_iter()
        .enumerate()
        .map(|(i, Ev(channel, conversation, ago_ms, payload))| {
            let event = Event {
                id: format!("ev_{i}"),
                occurred_at_ms: now - ago_ms,
                recorded_at_ms: now - ago_ms,
                channel_id: channel.into(),
                conversation_id: conversation.into(),
                payload: Some(payload),
            };
            Delivery {
                sequence: i as u64 + 1,
                subject: "omnibus.test".into(),
                payload: event.encode_to_vec().into(),
                event: Ok(event),
                headers: None,
                delivered: 1,
            }
        })
        .collect()
}

fn channel(id: &str, unanswered_after_seconds: Option<u32>) -> Payload {
    Payload::ChannelChanged(ChannelChanged {
        state: Some(ChannelState {
            id: id.into(),
            settings: Some(ChannelSettings {
                unanswered_after_seconds,
                ..ChannelSettings::default()
            }),
            ..ChannelState::default()
        }),
        ..ChannelChanged::default()
    })
}

fn received(id: &str) -> Payload {
    Payload::MessageReceived(MessageReceived {
        message_id: id.into(),
        text: format!("text of {id}"),
        author_kind: AuthorKind::Contact as i32,
        direction: Direction::Inbound as i32,
        ..MessageReceived::default()
    })
}

fn echo(id: &str) -> Payload {
    Payload::MessageReceived(MessageReceived {
        message_id: id.into(),
        text: "from the business phone".into(),
        author_kind: AuthorKind::ExternalDevice as i32,
        direction: Direction::Outbound as i32,
        ..MessageReceived::default()
    })
}

fn requested(id: &str, author: AuthorKind, operator: &str) -> Payload {
    Payload::MessageRequested(MessageRequested {
        message_id: id.into(),
        text: format!("answer {id}"),
        author_kind: author as i32,
        operator_id: operator.into(),
        ..MessageRequested::default()
    })
}

fn assigned(operator: &str) -> Payload {
    Payload::ConversationAssigned(ConversationAssigned {
        operator_id: operator.into(),
        ..ConversationAssigned::default()
    })
}

fn closed() -> Payload {
    Payload::ConversationClosed(ConversationClosed::default())
}

fn failed(id: &str) -> Payload {
    Payload::MessageFailed(MessageFailed {
        message_id: id.into(),
        reason: "blocked".into(),
        ..MessageFailed::default()
    })
}

fn started(operator: &str) -> Payload {
    Payload::ConversationStarted(ConversationStarted {
        operator_id: operator.into(),
        ..ConversationStarted::default()
    })
}

fn group(id: &str, operators: &[&str], deleted: bool) -> Payload {
    Payload::GroupChanged(GroupChanged {
        group: Some(Group {
            id: id.into(),
            name: id.to_uppercase(),
            operator_ids: operators.iter().map(|o| (*o).to_owned()).collect(),
            rule: 1,
        }),
        deleted,
    })
}

fn notification(change: Change) -> Payload {
    Payload::Notification(NotificationEvent {
        change: Some(change),
    })
}

fn webhook_created(id: &str, kinds: &[Kind]) -> Payload {
    notification(Change::WebhookCreated(WebhookCreated {
        webhook_id: id.into(),
        url: format!("https://hooks.example/{id}"),
        secret: "secret".into(),
        kinds: kinds.iter().map(|k| *k as i32).collect(),
    }))
}

fn unanswered(message_id: &str, since_sequence: u64) -> Payload {
    notification(Change::UnansweredDetected(UnansweredDetected {
        message_id: message_id.into(),
        waiting_since_sequence: since_sequence,
        waiting_since_ms: omnibus_core::now_ms() - 2 * HOUR_MS,
    }))
}

/// Four conversations on two channels: waits started, answered (by an
/// operator, not by a bot), echoed and marked; UNANSWERED fired, repeated
/// and stale; assignments, closes and a reopen, a failure; webhooks
/// created, disabled and deleted midway, one more late; groups; an event recorded beyond
/// the delivery horizon; events of no concern. The comment is the stream
/// sequence.
fn history() -> Vec<Delivery> {
    let h = HOUR_MS;
    deliveries(vec![
        Ev("ch_1", "", 2 * h, channel("ch_1", Some(60))), // 1
        Ev("ch_1", "conv_a", 2 * h, received("a1")),      // 2
        Ev("ch_2", "conv_b", 2 * h, received("b1")),      // 3
        Ev("ch_1", "conv_a", 2 * h, received("a2")),      // 4
        Ev("ch_1", "conv_a", 2 * h, assigned("op-1")),    // 5
        Ev("", "", 2 * h, group("sales", &["op-1", "op-2"], false)), // 6
        Ev(
            "ch_1",
            "conv_a",
            2 * h,
            requested("r1", AuthorKind::Operator, "op-1"),
        ), // 7
        Ev("ch_1", "conv_a", 2 * h, received("a3")),      // 8
        Ev("", "", h, webhook_created("wh_all", &[])),    // 9
        Ev(
            "",
            "",
            h,
            webhook_created("wh_few", &[Kind::Unanswered, Kind::DeliveryFailed]),
        ), // 10
        Ev("ch_1", "conv_a", h, unanswered("a3", 8)),     // 11
        Ev("ch_1", "conv_a", h, unanswered("a3", 8)),     // 12: repeated
        Ev("ch_2", "conv_b", h, unanswered("b1", 3)),     // 13: no deadline on ch_2
        Ev("ch_2", "conv_b", h, failed("o1")),            // 14
        Ev("ch_1", "conv_a", h, closed()),                // 15
        Ev("ch_1", "conv_a", h, closed()),                // 16: already closed
        Ev("ch_1", "conv_a", h, received("a4")),          // 17: reopens
        Ev("ch_1", "conv_c", h, echo("c1")),              // 18
        Ev("ch_2", "conv_d", h, started("op-2")),         // 19
        Ev("ch_2", "conv_d", 2 * DAY_MS, received("d1")), // 20: beyond the horizon
        Ev(
            "",
            "",
            h,
            notification(Change::WebhookDisabled(WebhookDisabled {
                webhook_id: "wh_few".into(),
                reason: "failing".into(),
            })),
        ), // 21
        Ev(
            "ch_1",
            "conv_a",
            h,
            Payload::NoReplyNeeded(NoReplyNeeded {}),
        ), // 22
        Ev("ch_2", "conv_b", h, received("b2")),          // 23
        Ev("ch_2", "conv_b", h, requested("bot1", AuthorKind::Bot, "")), // 24
        Ev("ch_2", "", h, channel("ch_2", Some(30))),     // 25
        Ev(
            "ch_2",
            "conv_b",
            h,
            requested("r2", AuthorKind::Operator, "op-2"),
        ), // 26
        Ev("ch_2", "conv_b", h, received("b3")),          // 27
        Ev("ch_2", "conv_b", h, unanswered("b3", 27)),    // 28
        Ev("ch_2", "conv_b", h, unanswered("b1", 3)),     // 29: stale
        Ev("ch_2", "conv_b", h, assigned("")),            // 30
        Ev(
            "",
            "",
            h,
            notification(Change::WebhookDeleted(WebhookDeleted {
                webhook_id: "wh_all".into(),
            })),
        ), // 31
        Ev("ch_1", "conv_a", h, received("a5")),          // 32
        Ev(
            "ch_1",
            "conv_a",
            h,
            Payload::ConversationRead(ConversationRead {}),
        ), // 33
        Ev("", "", h, group("sales", &[], true)),         // 34
        Ev("", "", 0, webhook_created("wh_late", &[])),   // 35
        Ev("ch_1", "conv_c", 0, received("c2")),          // 36
        Ev(
            "ch_1",
            "conv_c",
            0,
            requested("r3", AuthorKind::Operator, "op-1"),
        ), // 37
        Ev("ch_1", "conv_c", 0, failed("r3")),            // 38
    ])
}

type ConversationRow = (String, String, String, i64, i64, String, i64, i64);
type NotificationRow = (i64, i64, String, String, String, String, String, i64);
type WebhookRow = (String, String, String, String, i64, String, i64);
type DeliveryRow = (String, i64, String, String, i64, i64);

/// The rows of `sql` as `T`, each shown with `label`.
async fn rows<T>(store: &Store, label: &str, sql: &'static str) -> Vec<String>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + std::fmt::Debug + Send + Unpin,
{
    let rows: Vec<T> = sqlx::query_as(sql)
        .fetch_all(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter().map(|row| format!("{label} {row:?}")).collect()
}

/// Every table, row by row, in a fixed order. Deliveries leave out when
/// they were queued (the wall clock).
async fn tables(store: &Store) -> Vec<String> {
    let mut all = rows::<(String, i64)>(
        store,
        "channel",
        "SELECT id, unanswered_after_ms FROM notif_channels ORDER BY id",
    )
    .await;
    all.extend(
        rows::<ConversationRow>(
            store,
            "conversation",
            "SELECT id, channel_id, assignee_id, closed, waiting_seq, waiting_message_id, \
             waiting_since_ms, deadline_ms FROM notif_conversations ORDER BY id",
        )
        .await,
    );
    all.extend(
        rows::<NotificationRow>(
            store,
            "notification",
            "SELECT ord, kind, conversation_id, channel_id, message_id, text, operator_id, \
             created_at_ms FROM notif_notifications ORDER BY ord",
        )
        .await,
    );
    all.extend(
        rows::<WebhookRow>(
            store,
            "webhook",
            "SELECT id, url, secret, kinds, status, status_reason, created_at_ms \
             FROM notif_webhooks ORDER BY id",
        )
        .await,
    );
    all.extend(
        rows::<DeliveryRow>(
            store,
            "delivery",
            "SELECT webhook_id, ord, conversation_id, body, state, attempts \
             FROM notif_deliveries ORDER BY webhook_id, ord",
        )
        .await,
    );
    all.extend(
        rows::<(String, i64, String)>(
            store,
            "handled",
            "SELECT operator_id, day, conversation_id FROM notif_handled \
             ORDER BY operator_id, day, conversation_id",
        )
        .await,
    );
    all.extend(
        rows::<(String, String, String, i64)>(
            store,
            "group",
            "SELECT id, name, operator_ids, rule FROM notif_groups ORDER BY id",
        )
        .await,
    );
    all
}

/// Applies `events` in batches of `size`; returns what was announced.
async fn apply(
    runner: &mut Runner<NotificationsProjection>,
    announced: &mut Live,
    events: &[Delivery],
    size: usize,
) -> Vec<StoredNotification> {
    let mut all = Vec::new();
    for batch in events.chunks(size) {
        let rejected = runner.apply(batch).await.expect("apply");
        assert!(rejected.is_empty(), "rejected: {rejected:?}");
        while let Some(note) = announced.try_recv() {
            all.push((*note).clone());
        }
    }
    all
}

/// What the history must announce (one event at a time), so the
/// comparison below is not between two empty results.
fn expected_kinds() -> Vec<(i64, Kind)> {
    use Kind::*;
    vec![
        (2, NewConversation),
        (2, NewMessage),
        (3, NewConversation),
        (3, NewMessage),
        (4, NewMessage),
        (5, ConversationAssigned),
        (8, NewMessage),
        (11, Unanswered),
        (14, DeliveryFailed),
        (15, ConversationClosed),
        (17, ConversationReopened),
        (17, NewMessage),
        (18, NewConversation),
        (19, NewConversation),
        (20, NewMessage),
        (23, NewMessage),
        (27, NewMessage),
        (28, Unanswered),
        (30, ConversationAssigned),
        (32, NewMessage),
        (36, NewMessage),
        (38, DeliveryFailed),
    ]
}

/// After every batch of one, the conversations the projection keeps for
/// the next runs are what its table holds.
#[tokio::test]
async fn what_is_kept_between_runs_is_what_the_table_holds() {
    let db = TestDb::sqlite();
    let (mut runner, store, _announced) = projection(&db).await;
    let mut kept_at_most = 0;
    for (at, batch) in history().chunks(1).enumerate() {
        runner.apply(batch).await.expect("apply");
        let kept = runner.rules().kept();
        let mut conn = store.pool().acquire().await.expect("connection");
        let loaded = conversation::as_loaded(kept, &mut conn)
            .await
            .expect("load");
        let kept: BTreeMap<String, Option<Conv>> = kept.rows().clone().into_iter().collect();
        assert_eq!(kept, loaded, "after event {at}");
        kept_at_most = kept_at_most.max(loaded.len());
    }
    assert!(kept_at_most >= 3, "conversations were kept: {kept_at_most}");
    drop(runner);
    store.close().await;
    db.remove().await;
}

async fn same_state_in_any_batches(one_by_one: TestDb, others: Vec<TestDb>) {
    let events = history();
    let (mut runner, store, mut announced) = projection(&one_by_one).await;
    let expected_notes = apply(&mut runner, &mut announced, &events, 1).await;
    let expected = tables(&store).await;
    let kinds: Vec<(i64, Kind)> = expected_notes
        .iter()
        .map(|n| (n.ord / crate::model::ORD_SPAN, n.kind))
        .collect();
    assert_eq!(kinds, expected_kinds());
    let deliveries: Vec<&String> = expected
        .iter()
        .filter(|r| r.starts_with("delivery"))
        .collect();
    assert_eq!(deliveries.len(), 15, "{deliveries:#?}");
    let abandoned = omnibus_proto::DeliveryState::Abandoned as i64;
    assert_eq!(
        deliveries
            .iter()
            .filter(|r| r.ends_with(&format!(", {abandoned}, 0)")))
            .count(),
        13,
        "what the stopped webhooks had pending was abandoned: {deliveries:#?}"
    );
    for (db, size) in others.iter().zip([3, 7, events.len()]) {
        let (mut runner, store, mut announced) = projection(db).await;
        let notes = apply(&mut runner, &mut announced, &events, size).await;
        assert_eq!(notes, expected_notes, "announced in batches of {size}");
        assert_eq!(
            tables(&store).await,
            expected,
            "tables in batches of {size}"
        );
        // Applied again: nothing new to store or announce.
        let again = apply(&mut runner, &mut announced, &events, size).await;
        assert_eq!(again, [], "announced again in batches of {size}");
        let notes_again: Vec<String> = tables(&store)
            .await
            .into_iter()
            .filter(|r| r.starts_with("notification") || r.starts_with("delivery"))
            .collect();
        let notes_before: Vec<String> = expected
            .iter()
            .filter(|r| r.starts_with("notification") || r.starts_with("delivery"))
            .cloned()
            .collect();
        assert_eq!(
            notes_again, notes_before,
            "applied again in batches of {size}"
        );
        drop(runner);
        store.close().await;
    }
    drop(runner);
    store.close().await;
    one_by_one.remove().await;
    for db in others {
        db.remove().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_events_give_the_same_state_in_any_batches_on_sqlite() {
    let others = (0..3).map(|_| TestDb::sqlite()).collect();
    same_state_in_any_batches(TestDb::sqlite(), others).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_events_give_the_same_state_in_any_batches_on_postgres() {
    let mut others = Vec::new();
    for _ in 0..3 {
        others.push(TestDb::postgres().await);
    }
    same_state_in_any_batches(TestDb::postgres().await, others).await;
}
