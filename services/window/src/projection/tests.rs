//! The projection against real SQLite and PostgreSQL, fed directly (no
//! bus): the same history gives the same tables and wakes the gate for the
//! same events whatever the batches, also when it is delivered again.

use std::sync::Arc;

use futures::FutureExt as _;
use omnibus_bus::{Delivery, Projection as _, Subjects};
use omnibus_proto::{
    AuthorKind, ChannelChanged, ChannelKind, ChannelSettings, ChannelState, ChannelStatus,
    ConversationStarted, Direction, Event, MessageFailed, MessageHeld, MessageOutsideWindow,
    MessageReceived, MessageRequested, TemplateChanged, TemplateState, TemplateStatus,
    event::Payload, template_changed::Change,
};
use omnibus_store::{Runner, Store};
use omnibus_testkit::TestDatabase;
use prost::Message as _;
use sqlx::Row as _;
use tokio::sync::Notify;

use super::WindowProjection;

const HOUR: i64 = 3_600_000;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const WA: &str = "ch_wa";
const TG: &str = "ch_tg";
/// A channel whose first messages come before its first snapshot.
const LATE: &str = "ch_late";

/// One event of the history: where it is published and what it says.
struct Entry {
    subject: String,
    id: String,
    channel: &'static str,
    conversation: &'static str,
    at: i64,
    payload: Payload,
}

fn subjects() -> Subjects {
    Subjects::new("OMNIBUS")
}

fn entry(
    subject: String,
    id: impl Into<String>,
    channel: &'static str,
    conversation: &'static str,
    at: i64,
    payload: Payload,
) -> Entry {
    Entry {
        subject,
        id: id.into(),
        channel,
        conversation,
        at,
        payload,
    }
}

fn channel(id: &'static str, kind: ChannelKind, default_template: &str, deleted: bool) -> Entry {
    let state = ChannelState {
        id: id.into(),
        kind: kind as i32,
        status: if deleted {
            ChannelStatus::Deleted as i32
        } else {
            ChannelStatus::Unspecified as i32
        },
        settings: Some(ChannelSettings {
            default_template: default_template.into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let payload = Payload::ChannelChanged(ChannelChanged {
        change: 1,
        state: Some(state),
    });
    let event_id = format!("channel:{id}:{kind:?}:{default_template}:{deleted}");
    entry(subjects().channel(id), event_id, id, "", T0, payload)
}

fn template(name: &str, change: Change, status: TemplateStatus) -> Entry {
    let payload = Payload::TemplateChanged(TemplateChanged {
        change: change as i32,
        template: Some(TemplateState {
            name: name.into(),
            language: "en_US".into(),
            body: format!("Hi, this is {name}"),
            status: status as i32,
            provider_template_id: if change == Change::Status {
                format!("p_{name}")
            } else {
                String::new()
            },
            ..Default::default()
        }),
    });
    let id = format!("template:{name}:{change:?}:{status:?}");
    entry(subjects().template(WA), id, WA, "", T0, payload)
}

/// A message into `conversation`, by the customer unless `author` says otherwise.
fn received(
    channel: &'static str,
    conversation: &'static str,
    key: &str,
    at: i64,
    author: AuthorKind,
) -> Entry {
    let direction = if author == AuthorKind::Contact {
        Direction::Inbound
    } else {
        Direction::Outbound
    };
    let payload = Payload::MessageReceived(MessageReceived {
        message_id: format!("in_{key}"),
        text: "hello".into(),
        author_kind: author as i32,
        direction: direction as i32,
        ..Default::default()
    });
    let subject = subjects().conversation(conversation);
    entry(
        subject,
        format!("wa:{key}"),
        channel,
        conversation,
        at,
        payload,
    )
}

fn started(channel: &'static str, conversation: &'static str) -> Entry {
    let payload = Payload::ConversationStarted(ConversationStarted::default());
    let subject = subjects().conversation(conversation);
    let id = format!("started:{conversation}");
    entry(subject, id, channel, conversation, T0, payload)
}

fn request(message_id: &str) -> MessageRequested {
    MessageRequested {
        message_id: message_id.into(),
        text: format!("text of {message_id}"),
        author_kind: AuthorKind::Operator as i32,
        channel_kind: ChannelKind::Whatsapp as i32,
        ..Default::default()
    }
}

/// An operator's message arrives at the gate.
fn gated(conversation: &'static str, message_id: &str) -> Entry {
    let subject = subjects().gated("whatsapp", conversation);
    let payload = Payload::MessageRequested(request(message_id));
    let id = format!("send:{message_id}");
    entry(subject, id, WA, conversation, T0, payload)
}

/// The gate's forward (`window:send:…`) or default template
/// (`window:template:…`) on the send subject.
fn forwarded(conversation: &'static str, id: &str, message_id: &str) -> Entry {
    let subject = subjects().send("whatsapp", conversation);
    let payload = Payload::MessageRequested(request(message_id));
    entry(subject, id, WA, conversation, T0, payload)
}

fn held(conversation: &'static str, message_id: &str, attempt: i64) -> Entry {
    let payload = Payload::MessageHeld(MessageHeld {
        message_id: message_id.into(),
        reason: "outside the window".into(),
        expires_at_ms: T0 + 7 * 24 * HOUR,
        template_message_id: format!("tpl_{message_id}"),
    });
    let id = crate::ids::held(message_id, attempt);
    entry(
        subjects().conversation(conversation),
        id,
        WA,
        conversation,
        T0,
        payload,
    )
}

fn failed(conversation: &'static str, id: &str, message_id: &str) -> Entry {
    let payload = Payload::MessageFailed(MessageFailed {
        message_id: message_id.into(),
        reason: "refused".into(),
        ..Default::default()
    });
    entry(
        subjects().conversation(conversation),
        id,
        WA,
        conversation,
        T0,
        payload,
    )
}

/// The provider's outside-window answer; `conversation` may be empty, the
/// message names it then.
fn outside(conversation: &'static str, message_id: &str) -> Entry {
    let payload = Payload::MessageOutsideWindow(MessageOutsideWindow {
        message_id: message_id.into(),
        provider_code: "131047".into(),
        reason: "Re-engagement message".into(),
    });
    let subject = subjects().conversation(if conversation.is_empty() {
        "unknown"
    } else {
        conversation
    });
    let id = format!("wa:out:{message_id}");
    entry(subject, id, WA, conversation, T0, payload)
}

/// Several WhatsApp and Telegram conversations: customers writing (late,
/// twice, before their channel is known), operators' requests forwarded,
/// sent back as outside the window, held behind a template and released,
/// refused; templates upserted, approved, deleted; channels changing kind
/// and default template, one deleted.
fn history() -> Vec<Entry> {
    use AuthorKind::{Contact, Operator};
    vec![
        channel(WA, ChannelKind::Whatsapp, "", false),
        channel(TG, ChannelKind::Telegram, "", false),
        template("hello", Change::Upserted, TemplateStatus::Pending),
        received(WA, "cv_wa1", "1", T0 - 2 * HOUR, Contact),
        received(TG, "cv_tg1", "t1", T0 - HOUR, Contact),
        started(WA, "cv_wa2"),
        received(WA, "cv_wa2", "2", T0 - HOUR, Contact),
        received(LATE, "cv_late", "l1", T0 - HOUR, Contact),
        gated("cv_wa1", "msg_1"),
        forwarded("cv_wa1", "window:send:msg_1", "msg_1"),
        outside("cv_wa1", "msg_1"),
        template("hello", Change::Status, TemplateStatus::Approved),
        channel(WA, ChannelKind::Whatsapp, "hello", false),
        forwarded("cv_wa1", "window:template:msg_1:1", "tpl_msg_1"),
        held("cv_wa1", "msg_1", 1),
        received(WA, "cv_wa1", "3", T0 + HOUR, Contact),
        forwarded("cv_wa1", "window:send:msg_1:1", "msg_1"),
        received(WA, "cv_wa2", "op", T0 + HOUR, Operator),
        gated("cv_wa2", "msg_2"),
        failed("cv_wa2", "window:failed:msg_2", "msg_2"),
        gated("cv_wa3", "msg_3"),
        received(WA, "cv_wa3", "4", 0, Contact),
        outside("", "msg_3"),
        received(WA, "cv_wa1", "late", T0 - 3 * HOUR, Contact),
        received(WA, "cv_wa1", "3", T0 + HOUR, Contact),
        channel(LATE, ChannelKind::Whatsapp, "", false),
        received(LATE, "cv_late", "l2", T0, Contact),
        received(TG, "cv_tg1", "t2", T0, Contact),
        channel(TG, ChannelKind::Whatsapp, "", false),
        received(TG, "cv_tg1", "t3", T0 + HOUR, Contact),
        template("bye", Change::Upserted, TemplateStatus::Approved),
        template("hello", Change::Deleted, TemplateStatus::Unspecified),
        template("unknown", Change::Status, TemplateStatus::Rejected),
        failed("cv_wa1", "wa:failed:msg_1", "msg_1"),
        gated("cv_wa3", "msg_4"),
        forwarded("cv_wa3", "window:send:msg_4", "msg_4"),
        channel(WA, ChannelKind::Whatsapp, "bye", true),
        received(WA, "cv_wa2", "5", T0 + 2 * HOUR, Contact),
    ]
}

fn deliveries(entries: Vec<Entry>) -> Vec<Delivery> {
    entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let event = Event {
                id: e.id,
                occurred_at_ms: e.at,
                recorded_at_ms: T0 + i as i64,
                channel_id: e.channel.into(),
                conversation_id: e.conversation.into(),
                payload: Some(e.payload),
            };
            Delivery {
                sequence: i as u64 + 1,
                subject: e.subject,
                payload: event.encode_to_vec().into(),
                event: Ok(event),
                headers: None,
                delivered: 1,
            }
        })
        .collect()
}

async fn projection(db: &TestDatabase) -> (Runner<WindowProjection>, Arc<Notify>, Store) {
    let store = Store::connect(db.url()).await.expect("connect");
    store
        .migrate("window", crate::schema::MIGRATIONS)
        .await
        .unwrap();
    let wake = Arc::new(Notify::new());
    let runner = WindowProjection::new(store.clone(), &subjects(), wake.clone());
    (runner, wake, store)
}

/// Applies `events` in batches of `size`; returns whether each batch woke the gate.
async fn apply(
    runner: &mut Runner<WindowProjection>,
    wake: &Notify,
    events: &[Delivery],
    size: usize,
) -> Vec<bool> {
    let mut woke = Vec::new();
    for batch in events.chunks(size) {
        let rejected = runner.apply(batch).await.unwrap();
        assert!(rejected.is_empty(), "{rejected:?}");
        woke.push(wake.notified().now_or_never().is_some());
    }
    woke
}

/// Every row of every `window_` table, as text, in key order.
async fn tables(store: &Store) -> Vec<Vec<String>> {
    let tables = [
        (
            "window_channels",
            "id, kind, deleted, default_template, human_agent_tag",
        ),
        (
            "window_conversations",
            "id, channel_id, last_customer_ms, provider_closed, reopen_sent",
        ),
        (
            "window_templates",
            "channel_id, name, language, body, category, status, status_reason, \
             provider_template_id, updated_at_ms",
        ),
        (
            "window_messages",
            "message_id, conversation_id, channel_id, seq, state, attempt, held_until_ms, request",
        ),
    ];
    let mut conn = store.pool().acquire().await.unwrap();
    let mut all = Vec::new();
    for (table, columns) in tables {
        let texts: Vec<String> = columns
            .split(", ")
            .map(|c| format!("CAST({} AS TEXT)", c.trim()))
            .collect();
        let sql = format!("SELECT {} FROM {table} ORDER BY 1, 2, 3", texts.join(", "));
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        for row in rows {
            let mut values = vec![table.to_owned()];
            for i in 0..texts.len() {
                values.push(row.try_get(i).unwrap());
            }
            all.push(values);
        }
    }
    all
}

/// `events` delivered once more after them (a redelivery whose checkpoint
/// was lost): the projection then starts from rows it wrote itself.
fn again(events: &[Delivery]) -> Vec<Delivery> {
    let shift = events.len() as u64;
    events
        .iter()
        .map(|d| Delivery {
            sequence: d.sequence + shift,
            subject: d.subject.clone(),
            event: d.event.clone(),
            headers: None,
            payload: d.payload.clone(),
            delivered: 2,
        })
        .collect()
}

/// The tables after the history, checked for what it must have done.
fn check_history(first: &[Vec<String>]) {
    let rows = |table: &str| first.iter().filter(|r| r[0] == table).count();
    assert_eq!(rows("window_channels"), 3, "{first:#?}");
    assert_eq!(rows("window_conversations"), 5, "{first:#?}");
    assert_eq!(rows("window_templates"), 1, "{first:#?}");
    assert_eq!(rows("window_messages"), 4, "{first:#?}");
    let conversation = |id: &str| first.iter().find(|r| r[1] == id).unwrap().clone();
    let last_customer = |id: &str| conversation(id)[3].clone();
    assert_eq!(
        last_customer("cv_tg1"),
        (T0 + HOUR).to_string(),
        "windowed once the channel became WhatsApp"
    );
    assert_eq!(
        last_customer("cv_late"),
        T0.to_string(),
        "windowed once the snapshot came"
    );
    assert_eq!(
        last_customer("cv_wa1"),
        (T0 + HOUR).to_string(),
        "the late webhook moves nothing back"
    );
    assert_eq!(
        conversation("cv_wa1")[4..],
        ["0", "0"],
        "reopened by the customer"
    );
    assert_eq!(
        conversation("cv_wa3")[4],
        "1",
        "closed by the provider, found through the message"
    );
}

async fn the_same_history_gives_the_same_tables_in_any_batches(postgres: bool) {
    let database = || async {
        if postgres {
            TestDatabase::postgres().await
        } else {
            TestDatabase::sqlite()
        }
    };
    let events = deliveries(history());
    let replayed = again(&events);
    let db = database().await;
    let (mut runner, wake, store) = projection(&db).await;
    let woke_one_by_one = apply(&mut runner, &wake, &events, 1).await;
    let first = tables(&store).await;
    check_history(&first);
    let woke_again_one_by_one = apply(&mut runner, &wake, &replayed, 1).await;
    let second = tables(&store).await;
    drop(runner);
    store.close().await;

    for size in [3, 7, events.len()] {
        let db = database().await;
        let (mut runner, wake, store) = projection(&db).await;
        let woke = apply(&mut runner, &wake, &events, size).await;
        assert_eq!(tables(&store).await, first, "batches of {size}");
        assert_eq!(
            woke,
            any_per_batch(&woke_one_by_one, size),
            "the gate woken, batches of {size}"
        );
        let woke = apply(&mut runner, &wake, &replayed, size).await;
        assert_eq!(tables(&store).await, second, "again, batches of {size}");
        assert_eq!(
            woke,
            any_per_batch(&woke_again_one_by_one, size),
            "the gate woken again, batches of {size}"
        );
        drop(runner);
        store.close().await;
    }
}

/// Whether each batch of `size` would wake the gate, from each event's.
fn any_per_batch(woke: &[bool], size: usize) -> Vec<bool> {
    woke.chunks(size).map(|b| b.contains(&true)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_history_gives_the_same_tables_in_any_batches_on_sqlite() {
    the_same_history_gives_the_same_tables_in_any_batches(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_history_gives_the_same_tables_in_any_batches_on_postgres() {
    the_same_history_gives_the_same_tables_in_any_batches(true).await;
}
