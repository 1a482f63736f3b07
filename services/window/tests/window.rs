//! The window service against a real nats-server and real SQLite and
//! PostgreSQL: events in, decisions out on the stream, with an injected
//! clock, and nothing decided twice across restarts and rebuilds.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use omnibus_bus::{Bus, BusConfig};
use omnibus_core::Clock;
use omnibus_proto::{
    AuthorKind, ChannelChanged, ChannelKind, ChannelSettings, ChannelState, Direction, Event,
    MessageOutsideWindow, MessageReceived, MessageRequested, MessageStatus, TemplateChanged,
    TemplateState, TemplateStatus, event::Payload, message_failed::Kind,
};
use omnibus_store::Store;
use omnibus_testkit::{NatsServer, TestDatabase, wait_until};
use omnibus_window::{Config, Window};
use prost::Message as _;
use tokio_util::sync::CancellationToken;

const PATIENCE: Duration = Duration::from_secs(20);
const HOUR: i64 = 3_600_000;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const CHANNEL: &str = "ch_wa";
const HOLD: Duration = Duration::from_secs(7 * 24 * 3600);

/// A clock the test moves by hand.
struct ManualClock(AtomicI64);

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

struct Harness {
    _nats: NatsServer,
    db: TestDatabase,
    bus: Bus,
    clock: Arc<ManualClock>,
    running: Option<(Window, CancellationToken, Store)>,
}

impl Harness {
    async fn start(postgres: bool) -> Self {
        omnibus_telemetry::init_for_tests();
        let nats = NatsServer::start().await;
        let db = if postgres {
            TestDatabase::postgres().await
        } else {
            TestDatabase::sqlite()
        };
        let config = BusConfig {
            nats_url: nats.url(),
            ..BusConfig::default()
        };
        let bus = Bus::connect(&config).await.expect("bus");
        let mut harness = Self {
            _nats: nats,
            db,
            bus,
            clock: Arc::new(ManualClock(AtomicI64::new(T0))),
            running: None,
        };
        harness.start_service().await;
        harness
    }

    async fn start_service(&mut self) {
        let store = Store::connect(self.db.url()).await.expect("store");
        let shutdown = CancellationToken::new();
        let config = Config {
            hold_for: HOLD,
            clock: self.clock.clone(),
            ..Config::default()
        };
        let window = Window::start(config, self.bus.clone(), store.clone(), shutdown.clone())
            .await
            .expect("window starts");
        self.running = Some((window, shutdown, store));
    }

    async fn stop_service(&mut self) {
        let (window, shutdown, store) = self.running.take().expect("running");
        shutdown.cancel();
        window.stopped().await;
        store.close().await;
    }

    fn set_now(&self, ms: i64) {
        self.clock.0.store(ms, Ordering::SeqCst);
    }

    async fn publish(&self, subject: String, id: &str, conversation: &str, payload: Payload) {
        let event = Event {
            id: id.to_owned(),
            occurred_at_ms: self.clock.now_ms(),
            recorded_at_ms: self.clock.now_ms(),
            channel_id: CHANNEL.to_owned(),
            conversation_id: conversation.to_owned(),
            payload: Some(payload),
        };
        self.bus.publish(subject, &event).await.expect("publish");
    }

    async fn channel(&self, default_template: &str) {
        let state = ChannelState {
            id: CHANNEL.into(),
            kind: ChannelKind::Whatsapp as i32,
            settings: Some(ChannelSettings {
                default_template: default_template.into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let changed = Payload::ChannelChanged(ChannelChanged {
            change: 1,
            state: Some(state),
        });
        let id = format!("channel:{default_template}");
        self.publish(self.bus.subjects().channel(CHANNEL), &id, "", changed)
            .await;
    }

    async fn template(&self, name: &str, body: &str) {
        let changed = Payload::TemplateChanged(TemplateChanged {
            change: 1,
            template: Some(TemplateState {
                name: name.into(),
                language: "en_US".into(),
                body: body.into(),
                status: TemplateStatus::Approved as i32,
                ..Default::default()
            }),
        });
        let id = format!("template:{name}");
        self.publish(self.bus.subjects().template(CHANNEL), &id, "", changed)
            .await;
    }

    /// The customer of `conversation` wrote at `at_ms` by the provider's clock.
    async fn customer_wrote(&self, conversation: &str, key: &str, at_ms: i64) {
        let received = MessageReceived {
            message_id: format!("in_{key}"),
            text: "hello".into(),
            author_kind: AuthorKind::Contact as i32,
            direction: Direction::Inbound as i32,
            ..Default::default()
        };
        let event = Event {
            id: format!("wa:{key}"),
            occurred_at_ms: at_ms,
            recorded_at_ms: self.clock.now_ms(),
            channel_id: CHANNEL.to_owned(),
            conversation_id: conversation.to_owned(),
            payload: Some(Payload::MessageReceived(received)),
        };
        let subject = self.bus.subjects().conversation(conversation);
        self.bus.publish(subject, &event).await.expect("publish");
    }

    /// An operator's (or `author`'s) message arrives at the gate.
    async fn request(&self, conversation: &str, message_id: &str, author: AuthorKind) {
        let requested = MessageRequested {
            message_id: message_id.into(),
            text: format!("text of {message_id}"),
            author_kind: author as i32,
            provider_chat_id: "16505551234".into(),
            channel_kind: ChannelKind::Whatsapp as i32,
            initial_status: MessageStatus::Pending as i32,
            ..Default::default()
        };
        let subject = self.bus.subjects().gated("whatsapp", conversation);
        let id = format!("send:{message_id}");
        self.publish(
            subject,
            &id,
            conversation,
            Payload::MessageRequested(requested),
        )
        .await;
    }

    /// Every event on the stream whose subject starts with `prefix`, in order.
    async fn events(&self, prefix: &str) -> Vec<Event> {
        let js = self.bus.jetstream();
        let mut stream = js.get_stream(self.bus.stream_name()).await.unwrap();
        let last = stream.info().await.unwrap().state.last_sequence;
        let mut found = Vec::new();
        for seq in 1..=last {
            let Ok(raw) = stream.get_raw_message(seq).await else {
                continue;
            };
            if raw.subject.as_str().starts_with(prefix) {
                found.push(Event::decode(raw.payload).unwrap());
            }
        }
        found
    }

    /// When the hold of `message_id` runs out, by its `MessageHeld`.
    async fn hold_end(&self, message_id: &str) -> i64 {
        let held = self
            .events("omnibus.")
            .await
            .into_iter()
            .find_map(|e| match e.payload {
                Some(Payload::MessageHeld(h)) if h.message_id == message_id => Some(h),
                _ => None,
            });
        held.expect("the message was held").expires_at_ms
    }

    /// Ids of the events the window service published, in order.
    async fn decisions(&self) -> Vec<String> {
        self.events("omnibus.")
            .await
            .into_iter()
            .map(|e| e.id)
            .filter(|id| id.starts_with("window:"))
            .collect()
    }

    async fn wait_for_decisions(
        &self,
        what: &str,
        done: impl Fn(&[String]) -> bool,
    ) -> Vec<String> {
        wait_until(what, PATIENCE, || async {
            let ids = self.decisions().await;
            done(&ids).then_some(ids)
        })
        .await
    }
}

fn count(ids: &[String], prefix: &str) -> usize {
    ids.iter().filter(|id| id.starts_with(prefix)).count()
}

async fn inside_the_window_is_forwarded(postgres: bool) {
    let h = Harness::start(postgres).await;
    h.channel("").await;
    h.customer_wrote("cv_1", "1", T0 - HOUR).await;
    h.request("cv_1", "msg_a", AuthorKind::Operator).await;
    let ids = h
        .wait_for_decisions("the forward", |ids| {
            ids.contains(&"window:send:msg_a".into())
        })
        .await;
    assert_eq!(ids, ["window:send:msg_a"]);
    let sends = h.events("omnibus.send.whatsapp.cv_1").await;
    let Some(Payload::MessageRequested(request)) = &sends[0].payload else {
        panic!("a request");
    };
    assert_eq!(request.message_id, "msg_a");
    assert_eq!(request.text, "text of msg_a");
}

#[tokio::test]
async fn inside_the_window_a_message_is_forwarded_on_sqlite() {
    inside_the_window_is_forwarded(false).await;
}

#[tokio::test]
async fn inside_the_window_a_message_is_forwarded_on_postgres() {
    inside_the_window_is_forwarded(true).await;
}

async fn closed_without_default_fails(postgres: bool) {
    let h = Harness::start(postgres).await;
    h.channel("").await;
    h.customer_wrote("cv_1", "1", T0 - 25 * HOUR).await;
    h.request("cv_1", "msg_a", AuthorKind::Operator).await;
    h.wait_for_decisions("the refusal", |ids| ids.len() == 1)
        .await;
    let failed = h.events("omnibus.conv.cv_1").await;
    let Some(Payload::MessageFailed(failed)) = &failed.last().unwrap().payload else {
        panic!("a failure");
    };
    assert_eq!(failed.kind(), Kind::WindowClosed);
    assert!(
        failed
            .reason
            .starts_with("the 24-hour window closed at 2025-12-31T23:00:00Z"),
        "{}",
        failed.reason
    );
    assert!(
        failed.reason.contains("default_template"),
        "{}",
        failed.reason
    );
}

#[tokio::test]
async fn outside_the_window_without_a_default_template_fails_in_words_on_sqlite() {
    closed_without_default_fails(false).await;
}

#[tokio::test]
async fn outside_the_window_without_a_default_template_fails_in_words_on_postgres() {
    closed_without_default_fails(true).await;
}

async fn held_then_released_once(postgres: bool) {
    let mut h = Harness::start(postgres).await;
    h.template("hello", "Hi! Can we continue here?").await;
    h.channel("hello").await;
    h.customer_wrote("cv_1", "1", T0 - 25 * HOUR).await;
    h.request("cv_1", "msg_a", AuthorKind::Operator).await;
    h.request("cv_1", "msg_b", AuthorKind::Operator).await;
    h.request("cv_1", "msg_bot", AuthorKind::Bot).await;
    let ids = h
        .wait_for_decisions("two holds and a refusal", |ids| {
            count(ids, "window:held:") == 2 && count(ids, "window:failed:") == 1
        })
        .await;
    assert_eq!(
        count(&ids, "window:template:"),
        1,
        "one default template: {ids:?}"
    );
    assert!(
        ids[0].starts_with("window:template:msg_a"),
        "template first: {ids:?}"
    );

    // A restart while held changes nothing; then the customer answers.
    h.stop_service().await;
    h.start_service().await;
    h.set_now(T0 + HOUR);
    h.customer_wrote("cv_1", "2", T0 + HOUR).await;
    let ids = h
        .wait_for_decisions("both released", |ids| count(ids, "window:send:") == 2)
        .await;
    let sends: Vec<_> = ids
        .iter()
        .filter(|id| id.starts_with("window:send:"))
        .collect();
    assert_eq!(
        sends,
        ["window:send:msg_a", "window:send:msg_b"],
        "in order"
    );

    // Rebuild from an empty database: the replay releases nothing again. A
    // witness request decided after the catch-up shows the gate has run.
    h.stop_service().await;
    h.db.drop_all().await;
    h.start_service().await;
    h.request("cv_1", "msg_witness", AuthorKind::Operator).await;
    let ids = h
        .wait_for_decisions("the witness", |ids| {
            ids.contains(&"window:send:msg_witness".into())
        })
        .await;
    assert_eq!(
        count(&ids, "window:send:"),
        3,
        "released exactly once: {ids:?}"
    );
    assert_eq!(count(&ids, "window:template:"), 1, "{ids:?}");
}

#[tokio::test]
async fn held_messages_are_released_once_in_order_across_restart_and_rebuild_on_sqlite() {
    held_then_released_once(false).await;
}

#[tokio::test]
async fn held_messages_are_released_once_in_order_across_restart_and_rebuild_on_postgres() {
    held_then_released_once(true).await;
}

async fn held_then_expired(postgres: bool) {
    let h = Harness::start(postgres).await;
    h.template("hello", "Hi!").await;
    h.channel("hello").await;
    h.customer_wrote("cv_1", "1", T0 - 30 * HOUR).await;
    h.request("cv_1", "msg_a", AuthorKind::Operator).await;
    h.wait_for_decisions("the hold", |ids| count(ids, "window:held:") == 1)
        .await;
    h.set_now(T0 + HOLD.as_millis() as i64 - 1);
    h.request("cv_1", "msg_b", AuthorKind::Operator).await;
    h.wait_for_decisions("the second hold", |ids| count(ids, "window:held:") == 2)
        .await;
    assert_eq!(count(&h.decisions().await, "window:expired:"), 0);
    // A round reads the clock when it starts: one that started before the
    // clock moved may decide msg_b with the old time, so msg_b's own hold
    // says when it runs out.
    let now = T0 + HOLD.as_millis() as i64;
    let b_runs_out = h.hold_end("msg_b").await <= now;
    h.set_now(now);
    let ids = h
        .wait_for_decisions("the expiry", |ids| {
            ids.contains(&"window:expired:msg_a".into())
                && (!b_runs_out || ids.contains(&"window:expired:msg_b".into()))
        })
        .await;
    let expected = if b_runs_out { 2 } else { 1 };
    assert_eq!(count(&ids, "window:expired:"), expected, "{ids:?}");
    let conv = h.events("omnibus.conv.cv_1").await;
    let reason = conv
        .iter()
        .find_map(|e| match &e.payload {
            Some(Payload::MessageFailed(f)) => Some(f.reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(reason.starts_with("held for 7 days"), "{reason}");
}

#[tokio::test]
async fn a_held_message_fails_when_the_hold_runs_out_on_sqlite() {
    held_then_expired(false).await;
}

#[tokio::test]
async fn a_held_message_fails_when_the_hold_runs_out_on_postgres() {
    held_then_expired(true).await;
}

#[tokio::test]
async fn the_providers_outside_window_answer_holds_the_message_again() {
    let h = Harness::start(false).await;
    h.template("hello", "Hi!").await;
    h.channel("hello").await;
    h.customer_wrote("cv_1", "1", T0 - HOUR).await;
    h.request("cv_1", "msg_a", AuthorKind::Operator).await;
    h.wait_for_decisions("the forward", |ids| count(ids, "window:send:") == 1)
        .await;
    let outside = Payload::MessageOutsideWindow(MessageOutsideWindow {
        message_id: "msg_a".into(),
        provider_code: "131047".into(),
        reason: "Re-engagement message".into(),
    });
    let subject = h.bus.subjects().conversation("cv_1");
    h.publish(subject, "wa:out:msg_a", "cv_1", outside).await;
    let ids = h
        .wait_for_decisions("the hold", |ids| {
            ids.contains(&"window:held:msg_a:1".into())
        })
        .await;
    assert_eq!(count(&ids, "window:template:msg_a:1"), 1, "{ids:?}");
    h.customer_wrote("cv_1", "2", T0).await;
    h.wait_for_decisions("the second forward", |ids| {
        ids.contains(&"window:send:msg_a:1".into())
    })
    .await;
}
