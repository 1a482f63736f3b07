//! The projection applied in batches of any size gives the tables, and the
//! firing loop the armed deadlines, of applying its events one by one.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use omnibus_bus::{Delivery, Projection as _};
use omnibus_proto::{
    AuthorKind, AutoReply, ChannelChanged, ChannelKind, ChannelSettings, ChannelState,
    ChannelStatus, CloseReason, ConversationClosed, ConversationStarted, Direction, Event,
    MessageReceived, MessageRequested, Peer, Schedule, WeeklyInterval, event::Payload,
};
use omnibus_store::{Runner, Store};
use sqlx::{AssertSqlSafe, Connection as _};
use tokio::sync::mpsc;

use super::TimersProjection;
use crate::deadlines::{Deadlines, Op};
use crate::schedule::WorkingHours;
use crate::timer::{self, Timer, TimerKind};
use crate::{schema, sql};

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A throwaway database; `remove` cleans up after a passing test (a failing
/// one leaves it behind to look at).
enum Database {
    Sqlite(PathBuf),
    Postgres { admin: String, name: String },
}

impl Database {
    fn sqlite() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let file =
            std::env::temp_dir().join(format!("omnibus-timers-test-{}-{n}.db", std::process::id()));
        Self::Sqlite(file)
    }

    async fn postgres() -> Self {
        let admin = std::env::var("OMNIBUS_TEST_POSTGRES_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned());
        let name = format!(
            "omnibus_timers_test_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        );
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("PostgreSQL at OMNIBUS_TEST_POSTGRES_URL (or 127.0.0.1:5432)");
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .unwrap();
        let _ = conn.close().await;
        Self::Postgres { admin, name }
    }

    fn url(&self) -> String {
        match self {
            Self::Sqlite(file) => format!("sqlite://{}", file.display()),
            Self::Postgres { admin, name } => {
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                format!("{base}/{name}")
            }
        }
    }

    async fn remove(self) {
        match self {
            Self::Sqlite(file) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut path = file.clone().into_os_string();
                    path.push(suffix);
                    let _ = std::fs::remove_file(path);
                }
            }
            Self::Postgres { admin, name } => {
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
                let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                let _ = sqlx::raw_sql(AssertSqlSafe(drop)).execute(&mut conn).await;
                let _ = conn.close().await;
            }
        }
    }
}

/// 2025-11-24 (a Monday) 10:00 UTC.
fn monday_ten() -> i64 {
    "2025-11-24T10:00:00Z"
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_millisecond()
}

const SECOND: i64 = 1_000;
const HOUR: i64 = 3_600 * SECOND;

fn schedule() -> Schedule {
    Schedule {
        timezone: "UTC".into(),
        weekly: (1..=5)
            .map(|weekday| WeeklyInterval {
                weekday,
                open: "09:00".into(),
                close: "18:00".into(),
            })
            .collect(),
        holidays: Vec::new(),
    }
}

fn reply(text: &str, delay_seconds: u32) -> AutoReply {
    AutoReply {
        text: text.into(),
        delay_seconds,
    }
}

/// `a`: always open, two auto-replies and a closing message.
fn settings_a(inactivity: u32) -> ChannelSettings {
    ChannelSettings {
        inactivity_close_seconds: Some(inactivity),
        closing_message: "Bye".into(),
        auto_replies: vec![reply("Soon", 60), reply("Still there?", 300)],
        ..Default::default()
    }
}

/// `b`: working hours, an off-hours message, an auto-reply that may fall
/// after closing time, no closing message.
fn settings_b() -> ChannelSettings {
    ChannelSettings {
        inactivity_close_seconds: Some(900),
        auto_replies: vec![reply("We will answer", 120), reply("Late", 9 * 3_600)],
        schedule: Some(schedule()),
        off_hours_message: "Closed now".into(),
        ..Default::default()
    }
}

/// Builds the stream: sequences count from 1.
#[derive(Default)]
struct History {
    deliveries: Vec<Delivery>,
}

impl History {
    /// Appends an event; returns its sequence.
    fn push(&mut self, id: Option<&str>, cv: &str, at: i64, payload: Payload) -> u64 {
        let sequence = self.deliveries.len() as u64 + 1;
        let channel_id = match &payload {
            Payload::ChannelChanged(c) => c.state.as_ref().map(|s| s.id.clone()).unwrap(),
            _ if cv.starts_with("cv_b") => "ch_b".to_owned(),
            _ => "ch_a".to_owned(),
        };
        let event = Event {
            id: id.map_or_else(|| format!("ev_{sequence}"), str::to_owned),
            occurred_at_ms: at,
            recorded_at_ms: at,
            channel_id,
            conversation_id: cv.into(),
            payload: Some(payload),
        };
        self.deliveries.push(Delivery {
            sequence,
            subject: "omnibus.test".into(),
            event: Ok(event),
            headers: None,
            payload: Default::default(),
            delivered: 1,
        });
        sequence
    }

    /// Delivers an earlier event again at a new sequence (past JetStream's
    /// duplicate window).
    fn repeat(&mut self, sequence: u64) {
        let mut again = self.deliveries[sequence as usize - 1].clone();
        again.sequence = self.deliveries.len() as u64 + 1;
        self.deliveries.push(again);
    }

    fn channel(&mut self, id: &str, at: i64, deleted: bool, settings: ChannelSettings) -> u64 {
        let status = if deleted {
            ChannelStatus::Deleted
        } else {
            ChannelStatus::Active
        };
        let state = ChannelState {
            id: id.into(),
            kind: ChannelKind::Telegram as i32,
            status: status as i32,
            settings: Some(settings),
            ..Default::default()
        };
        let changed = ChannelChanged {
            state: Some(state),
            ..Default::default()
        };
        self.push(None, "", at, Payload::ChannelChanged(changed))
    }

    fn customer(&mut self, cv: &str, at: i64) -> u64 {
        self.message(cv, at, Direction::Inbound, AuthorKind::Contact)
    }

    /// A message sent from the business phone (an outbound echo).
    fn echo(&mut self, cv: &str, at: i64) -> u64 {
        self.message(cv, at, Direction::Outbound, AuthorKind::Operator)
    }

    fn message(&mut self, cv: &str, at: i64, direction: Direction, author: AuthorKind) -> u64 {
        let received = MessageReceived {
            message_id: format!("msg_{cv}_{at}"),
            peer: Some(peer(cv)),
            direction: direction as i32,
            author_kind: author as i32,
            ..Default::default()
        };
        self.push(None, cv, at, Payload::MessageReceived(received))
    }

    fn operator(&mut self, cv: &str, at: i64) -> u64 {
        self.requested(None, cv, at, AuthorKind::Operator)
    }

    /// A timer's message came back on the stream.
    fn fired(&mut self, kind: TimerKind, cv: &str, key: &str, at: i64) -> u64 {
        let id = timer::event_id(kind, cv, key);
        if kind == TimerKind::Close {
            return self.closed(Some(&id), cv, at, CloseReason::Inactivity);
        }
        let author = if kind == TimerKind::Closing {
            AuthorKind::System
        } else {
            AuthorKind::Bot
        };
        self.requested(Some(&id), cv, at, author)
    }

    fn requested(&mut self, id: Option<&str>, cv: &str, at: i64, author: AuthorKind) -> u64 {
        let requested = MessageRequested {
            message_id: format!("out_{cv}_{at}"),
            author_kind: author as i32,
            provider_chat_id: peer(cv).provider_chat_id,
            ..Default::default()
        };
        self.push(id, cv, at, Payload::MessageRequested(requested))
    }

    fn closed(&mut self, id: Option<&str>, cv: &str, at: i64, reason: CloseReason) -> u64 {
        let closed = ConversationClosed {
            reason: reason as i32,
            operator_id: String::new(),
        };
        self.push(id, cv, at, Payload::ConversationClosed(closed))
    }

    fn started(&mut self, cv: &str, at: i64) -> u64 {
        let started = ConversationStarted {
            peer: Some(peer(cv)),
            ..Default::default()
        };
        self.push(None, cv, at, Payload::ConversationStarted(started))
    }
}

fn peer(cv: &str) -> Peer {
    Peer {
        provider_chat_id: format!("chat_{cv}"),
        ..Default::default()
    }
}

/// Several conversations on two channels, every rule and its interleavings:
/// auto-replies started, fired and cancelled; closes by an operator and by
/// inactivity, reopens, closing messages; off-hours replies once per period;
/// a changed inactivity moving armed closes; a deleted channel; repeated
/// events.
fn history() -> History {
    let t0 = monday_ten();
    let mut h = History::default();
    h.channel("ch_a", t0 - HOUR, false, settings_a(600));
    h.channel("ch_b", t0 - HOUR, false, settings_b());
    let a1 = h.customer("cv_a1", t0);
    let a2 = h.customer("cv_a2", t0 + 5 * SECOND);
    let b1 = h.customer("cv_b1", t0 + 10 * SECOND);
    h.customer("cv_a1", t0 + 20 * SECOND);
    h.fired(
        TimerKind::Reply,
        "cv_a1",
        &format!("{a1}:0"),
        t0 + 60 * SECOND,
    );
    h.operator("cv_a1", t0 + 90 * SECOND);
    h.echo("cv_a2", t0 + 100 * SECOND);
    h.repeat(a2);
    h.customer("cv_a1", t0 + 110 * SECOND);
    // A lower inactivity moves the armed closes of `a`.
    h.channel("ch_a", t0 + 120 * SECOND, false, settings_a(300));
    let close_a2 = h.closed(None, "cv_a2", t0 + 130 * SECOND, CloseReason::Operator);
    h.fired(
        TimerKind::Closing,
        "cv_a2",
        &close_a2.to_string(),
        t0 + 131 * SECOND,
    );
    h.customer("cv_a2", t0 + 200 * SECOND);
    // Off hours on `b`: one message per period, even when written twice.
    let evening = t0 + 10 * HOUR;
    h.customer("cv_b2", evening);
    h.customer("cv_b2", evening + 60 * SECOND);
    let period = WorkingHours::parse(&schedule())
        .unwrap()
        .off_hours_period(evening)
        .expect("20:00 is off hours");
    h.fired(
        TimerKind::OffHours,
        "cv_b2",
        &period.to_string(),
        evening + 61 * SECOND,
    );
    h.customer("cv_b2", evening + 120 * SECOND);
    h.fired(
        TimerKind::Close,
        "cv_b1",
        &b1.to_string(),
        t0 + 910 * SECOND,
    );
    h.started("cv_b1", t0 + 1_000 * SECOND);
    h.operator("cv_unknown", t0 + 1_001 * SECOND);
    // A close that fired before the last activity moved it.
    let close_a1 = h.fired(
        TimerKind::Close,
        "cv_a1",
        &a1.to_string(),
        t0 + 1_100 * SECOND,
    );
    h.closed(None, "cv_a1", t0 + 1_101 * SECOND, CloseReason::Operator);
    let closing = h.fired(
        TimerKind::Closing,
        "cv_a1",
        &close_a1.to_string(),
        t0 + 1_102 * SECOND,
    );
    h.repeat(closing);
    h.started("cv_a3", t0 + 1_200 * SECOND);
    h.customer("cv_a3", t0 + 1_210 * SECOND);
    h.customer("cv_a1", t0 + 1_300 * SECOND);
    h.channel("ch_b", t0 + 1_400 * SECOND, true, settings_b());
    h.customer("cv_b1", t0 + 1_500 * SECOND);
    h.customer("cv_a3", t0 + 1_600 * SECOND);
    h
}

/// Everything the projection leaves behind.
#[derive(Debug, PartialEq)]
struct Snapshot {
    channels: Vec<(String, i64, i64, String)>,
    conversations: Vec<(String, String, String, i64, i64, i64)>,
    pending: Vec<Timer>,
    /// What the firing loop holds after mirroring every op.
    deadlines: Vec<Timer>,
    ops: Vec<Op>,
}

async fn snapshot(store: &Store, ops: Vec<Op>) -> Snapshot {
    let pool = store.pool();
    let channels =
        sqlx::query_as("SELECT id, kind, deleted, settings FROM timer_channels ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
    let conversations = sqlx::query_as(
        "SELECT id, channel_id, provider_chat_id, open, waiting_since_seq, off_hours_answered
         FROM timer_conversations ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut pending = sql::all_pending(pool).await.unwrap();
    pending.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    let mut mirrored = Deadlines::default();
    for op in ops.iter().cloned() {
        mirrored.apply(op);
    }
    let mut deadlines = mirrored.take_due(i64::MAX, usize::MAX);
    deadlines.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    Snapshot {
        channels,
        conversations,
        pending,
        deadlines,
        ops,
    }
}

/// Applies `history` in batches of `size` to a fresh database.
async fn replay(db: &Database, history: &History, size: usize) -> Snapshot {
    let store = Store::connect(&db.url()).await.unwrap();
    store.migrate("timers", schema::MIGRATIONS).await.unwrap();
    let (ops_tx, mut ops_rx) = mpsc::unbounded_channel();
    let mut runner: Runner<TimersProjection> = TimersProjection::new(store.clone(), ops_tx);
    for batch in history.deliveries.chunks(size) {
        let rejected = runner.apply(batch).await.unwrap();
        assert!(rejected.is_empty(), "batches of {size}: {rejected:?}");
    }
    let mut ops = Vec::new();
    while let Ok(batch) = ops_rx.try_recv() {
        ops.extend(batch);
    }
    let snapshot = snapshot(&store, ops).await;
    drop(runner);
    store.close().await;
    snapshot
}

/// After every batch of one, what the projection keeps for the next runs
/// is what its tables hold (the channel snapshots of the history move
/// armed closes in SQL, behind the kept conversations).
#[tokio::test]
async fn what_is_kept_between_runs_is_what_the_tables_hold() {
    let db = Database::sqlite();
    let store = Store::connect(&db.url()).await.unwrap();
    store.migrate("timers", schema::MIGRATIONS).await.unwrap();
    let (ops_tx, _ops_rx) = mpsc::unbounded_channel();
    let mut runner: Runner<TimersProjection> = TimersProjection::new(store.clone(), ops_tx);
    let mut kept_at_most = 0;
    for (at, batch) in history().deliveries.chunks(1).enumerate() {
        runner.apply(batch).await.unwrap();
        let kept = runner.rules().kept();
        let mut conn = store.pool().acquire().await.unwrap();
        let loaded = super::working::as_loaded(kept, &mut conn).await.unwrap();
        assert_eq!(super::working::as_kept(kept), loaded, "after event {at}");
        kept_at_most = kept_at_most.max(loaded.len());
    }
    assert!(kept_at_most >= 3, "conversations were kept: {kept_at_most}");
    drop(runner);
    store.close().await;
    db.remove().await;
}

/// Replays the history one by one, then in larger batches, on `database`.
async fn batches_equal_one_by_one(database: impl AsyncFn() -> Database, sizes: &[usize]) {
    let history = history();
    let db = database().await;
    let expected = replay(&db, &history, 1).await;
    db.remove().await;
    assert_eq!(
        expected.pending, expected.deadlines,
        "the ops lead the firing loop to the armed timers"
    );
    check_expected(&expected);
    for &size in sizes {
        let db = database().await;
        let got = replay(&db, &history, size).await;
        db.remove().await;
        assert_eq!(got, expected, "batches of {size}");
    }
}

/// What the history must leave armed.
fn check_expected(expected: &Snapshot) {
    let armed: Vec<(&str, i64)> = expected
        .pending
        .iter()
        .map(|t| (t.event_id.as_str(), t.due_ms - monday_ten()))
        .collect();
    assert_eq!(armed, GOLDEN_ARMED, "{armed:?}");
    let conversations: Vec<(&str, i64, i64)> = expected
        .conversations
        .iter()
        .map(|c| (c.0.as_str(), c.3, c.4))
        .collect();
    assert_eq!(
        conversations,
        [
            ("cv_a1", 1, 29),
            ("cv_a2", 1, 15),
            ("cv_a3", 1, 28),
            ("cv_b1", 1, 0),
            ("cv_b2", 1, 0)
        ],
        "(id, open, waiting since); no row for an unknown conversation"
    );
}

/// The armed timers (id, due − 10:00) after the history, as the
/// statement-per-rule implementation left them.
const GOLDEN_ARMED: &[(&str, i64)] = &[
    ("timer:close:cv_a1:29", 1_600_000),
    ("timer:close:cv_a2:15", 500_000),
    ("timer:close:cv_a3:32", 1_900_000),
    ("timer:close:cv_b2:19", 37_020_000),
    ("timer:reply:cv_a1:29:0", 1_360_000),
    ("timer:reply:cv_a1:29:1", 1_600_000),
    ("timer:reply:cv_a2:15:0", 260_000),
    ("timer:reply:cv_a2:15:1", 500_000),
    ("timer:reply:cv_a3:28:0", 1_270_000),
    ("timer:reply:cv_a3:28:1", 1_510_000),
];

#[tokio::test]
async fn batches_give_the_tables_and_deadlines_of_one_by_one_on_sqlite() {
    let n = history().deliveries.len();
    batches_equal_one_by_one(async || Database::sqlite(), &[3, 7, n]).await;
}

#[tokio::test]
async fn batches_give_the_tables_and_deadlines_of_one_by_one_on_postgres() {
    let n = history().deliveries.len();
    batches_equal_one_by_one(Database::postgres, &[3, n]).await;
}

fn stored_timer(conversation: &str, key: &str, due_ms: i64) -> Timer {
    Timer {
        event_id: timer::event_id(TimerKind::Close, conversation, key),
        kind: TimerKind::Close,
        conversation_id: conversation.into(),
        channel_id: "ch_a".into(),
        channel_kind: ChannelKind::Telegram,
        provider_chat_id: "42".into(),
        text: String::new(),
        due_ms,
    }
}

fn conversation_row(id: &str, waiting_since_seq: i64) -> sql::ConversationRow {
    sql::ConversationRow {
        id: id.into(),
        channel_id: "ch_a".into(),
        provider_chat_id: "42".into(),
        open: true,
        waiting_since_seq,
        off_hours_answered: 0,
    }
}

/// A flush's three writes, whichever way they go (one statement or one
/// each), leave what running them in order would: a timer deleted and
/// armed again differently is replaced, and the load reads back both
/// tables, a timer of an unknown kind included.
async fn writes_then_loads(database: Database) {
    let store = Store::connect(&database.url()).await.unwrap();
    store.migrate("timers", schema::MIGRATIONS).await.unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    let (a, b) = (stored_timer("cv_1", "1", 10), stored_timer("cv_1", "2", 20));
    let first = [conversation_row("cv_1", 1)];
    sql::write_changes(&mut conn, &first, &[], &[a.clone(), b.clone()])
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO timer_pending (event_id, kind, conversation_id, channel_id, channel_kind,
             provider_chat_id, text, due_ms) VALUES ('timer:future:cv_1:9', 'future', 'cv_1', 'ch_a', 1, '42', '', 5)",
    )
    .execute(&mut *conn)
    .await
    .unwrap();

    // Re-armed: `a` deleted and inserted again with a new due time.
    let a_later = Timer {
        due_ms: 11,
        ..a.clone()
    };
    let c = stored_timer("cv_2", "3", 30);
    let upserts = [conversation_row("cv_1", 7), conversation_row("cv_2", 0)];
    let deletes = [a.event_id.clone(), b.event_id.clone()];
    sql::write_changes(&mut conn, &upserts, &deletes, &[a_later.clone(), c.clone()])
        .await
        .unwrap();
    // Disjoint: `c` deleted, `b` armed again, a row changed.
    let upserts = [conversation_row("cv_2", 4)];
    sql::write_changes(
        &mut conn,
        &upserts,
        std::slice::from_ref(&c.event_id),
        std::slice::from_ref(&b),
    )
    .await
    .unwrap();

    let (mut rows, mut pending) = sql::load(&mut conn, &["cv_1", "cv_2", "cv_3"])
        .await
        .unwrap();
    rows.sort_by(|x, y| x.id.cmp(&y.id));
    pending.sort_by(|x, y| x.event_id.cmp(&y.event_id));
    assert_eq!(
        rows,
        [conversation_row("cv_1", 7), conversation_row("cv_2", 4)]
    );
    let armed: Vec<(&str, Option<i64>)> = pending
        .iter()
        .map(|p| (p.event_id.as_str(), p.timer.as_ref().map(|t| t.due_ms)))
        .collect();
    assert_eq!(
        armed,
        [
            ("timer:close:cv_1:1", Some(11)),
            ("timer:close:cv_1:2", Some(20)),
            ("timer:future:cv_1:9", None),
        ]
    );
    assert_eq!(pending[0].timer.as_ref(), Some(&a_later));
    assert!(pending.iter().all(|p| p.conversation_id == "cv_1"));
    drop(conn);
    store.close().await;
    database.remove().await;
}

#[tokio::test]
async fn one_statement_writes_and_the_joint_load_agree_on_sqlite() {
    writes_then_loads(Database::sqlite()).await;
}

#[tokio::test]
async fn one_statement_writes_and_the_joint_load_agree_on_postgres() {
    writes_then_loads(Database::postgres().await).await;
}
