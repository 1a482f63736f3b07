//! The projection against a real SQLite file, fed directly (no bus): the
//! same events give the same state whatever the batches, and read receipts
//! that cover earlier messages move only what went out, forward.

use omnibus_bus::{Delivery, Projection as _};
use omnibus_proto::{
    AuthorKind, CloseReason, ConversationAssigned, ConversationClosed, ConversationRead,
    DeliveryStatusChanged, Direction, Event, ListConversationsRequest, Message, MessageDispatched,
    MessageEdited, MessageFailed, MessageReceived, MessageRequested, MessageStatus, NoReplyNeeded,
    Peer, event::Payload, message_failed::Kind as FailureKind,
};
use omnibus_store::{Runner, Store};
use omnibus_testkit::TestDatabase;
use prost::Message as _;
use tokio::sync::broadcast;

use super::ConversationsProjection;
use crate::contacts::phone::Region;
use crate::queries::Queries;

const CHANNEL: &str = "ch_1";

async fn projection(db: &TestDatabase) -> (Runner<ConversationsProjection>, Queries) {
    let store = Store::connect(db.url()).await.expect("connect");
    store
        .migrate("conversations", crate::schema::MIGRATIONS)
        .await
        .unwrap();
    store
        .migrate("contacts", crate::contacts::schema::MIGRATIONS)
        .await
        .unwrap();
    let (changes, _) = broadcast::channel(1024);
    let region = Region::default();
    let runner = ConversationsProjection::new(store.clone(), changes, region);
    (runner, Queries::new(store))
}

fn deliveries(events: Vec<(&str, i64, Payload)>) -> Vec<Delivery> {
    events
        .into_iter()
        .enumerate()
        .map(|(i, (chat, at, payload))| {
            let event = Event {
                id: format!("ev_{i}"),
                occurred_at_ms: at,
                recorded_at_ms: at,
                channel_id: CHANNEL.into(),
                conversation_id: format!("conv_{chat}"),
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

fn peer(chat: &str, first_name: &str, phone: &str) -> Peer {
    Peer {
        provider_chat_id: chat.into(),
        provider_user_id: chat.into(),
        first_name: first_name.into(),
        phone: phone.into(),
        ..Peer::default()
    }
}

fn received(chat: &str, id: &str, name: &str, phone: &str) -> Payload {
    Payload::MessageReceived(MessageReceived {
        message_id: id.into(),
        provider_message_id: format!("p_{id}"),
        peer: Some(peer(chat, name, phone)),
        text: format!("text of {id}"),
        author_kind: AuthorKind::Contact as i32,
        direction: Direction::Inbound as i32,
        contact_id: format!("ct_{chat}"),
        ..MessageReceived::default()
    })
}

fn echo(chat: &str, id: &str, provider_id: &str) -> Payload {
    Payload::MessageReceived(MessageReceived {
        message_id: id.into(),
        provider_message_id: provider_id.into(),
        peer: Some(peer(chat, "", "")),
        text: "from the business phone".into(),
        author_kind: AuthorKind::ExternalDevice as i32,
        direction: Direction::Outbound as i32,
        contact_id: format!("ct_{chat}"),
        ..MessageReceived::default()
    })
}

fn requested(id: &str) -> Payload {
    Payload::MessageRequested(MessageRequested {
        message_id: id.into(),
        text: format!("answer {id}"),
        author_kind: AuthorKind::Operator as i32,
        operator_id: "op-1".into(),
        ..MessageRequested::default()
    })
}

fn dispatched(id: &str) -> Payload {
    Payload::MessageDispatched(MessageDispatched {
        message_id: id.into(),
        provider_message_id: format!("p_{id}"),
        ..MessageDispatched::default()
    })
}

fn status(provider_id: &str, status: MessageStatus, and_earlier: bool) -> Payload {
    Payload::DeliveryStatusChanged(DeliveryStatusChanged {
        provider_message_id: provider_id.into(),
        status: status as i32,
        and_earlier,
        ..DeliveryStatusChanged::default()
    })
}

fn closed_by_operator() -> Payload {
    Payload::ConversationClosed(ConversationClosed {
        reason: CloseReason::Operator as i32,
        operator_id: "op-1".into(),
    })
}

/// Everything an API caller can see, comparable.
async fn snapshot(queries: &Queries) -> Vec<(omnibus_proto::Conversation, Vec<Message>)> {
    let request = ListConversationsRequest {
        page_size: 500,
        ..ListConversationsRequest::default()
    };
    let mut conversations = queries.conversations(&request).await.unwrap().items;
    conversations.sort_by(|a, b| a.id.cmp(&b.id));
    let mut all = Vec::new();
    for conversation in conversations {
        let messages = queries.messages(&conversation.id, 500, "").await.unwrap();
        all.push((conversation, messages.items));
    }
    all
}

/// Inbound runs of several chats, names arriving late, a close and a
/// reopen, a duplicate, echoes (ours and not), an edit of an unknown
/// message, statuses, and a clock that goes back.
fn history() -> Vec<Delivery> {
    deliveries(vec![
        ("a", 1_000, received("a", "a1", "", "+4915112345678")),
        ("b", 1_100, received("b", "b1", "", "")),
        ("a", 1_200, received("a", "a2", "Ann", "+4915112345678")),
        ("b", 1_150, received("b", "b2", "Bob", "")),
        ("a", 1_300, closed_by_operator()),
        ("a", 1_400, received("a", "a3", "", "")),
        ("a", 1_400, received("a", "a1", "Ann", "")),
        ("b", 1_500, requested("out_b1")),
        ("b", 1_600, dispatched("out_b1")),
        ("b", 1_610, requested("out_b2")),
        ("b", 1_620, dispatched("out_b2")),
        ("b", 1_630, held("out_b3")),
        ("b", 1_700, echo("b", "echo_1", "p_out_b1")),
        ("b", 1_800, echo("b", "echo_2", "p_phone_only")),
        ("b", 1_650, received("b", "b3", "", "+4915199999999")),
        (
            "c",
            1_900,
            Payload::MessageEdited(MessageEdited {
                message_id: "c_old".into(),
                provider_message_id: "p_c_old".into(),
                peer: Some(peer("c", "Cid", "")),
                text: "edited".into(),
                contact_id: "ct_c".into(),
                ..MessageEdited::default()
            }),
        ),
        ("c", 2_000, received("c", "c1", "", "")),
        (
            "b",
            2_100,
            status("p_out_b1", MessageStatus::Delivered, false),
        ),
        ("a", 2_200, received("a", "a4", "", "")),
        ("b", 2_300, requested("out_b3")),
        ("b", 2_310, dispatched("out_b3")),
        ("b", 2_320, requested("out_b4")),
        ("b", 2_330, echo("b", "echo_3", "p_out_b4")),
        ("b", 2_340, dispatched("out_b4")),
        ("c", 2_400, requested("out_c1")),
        ("c", 2_410, dispatched("out_c1")),
        ("a", 2_500, Payload::NoReplyNeeded(NoReplyNeeded {})),
        ("b", 2_510, Payload::ConversationRead(ConversationRead {})),
        (
            "c",
            2_520,
            Payload::ConversationAssigned(ConversationAssigned {
                operator_id: "op-2".into(),
                group_id: "g-1".into(),
            }),
        ),
    ])
}

/// Applied event by event, sends and their outcomes go as shots (one
/// statement each; none may fall back) and everything else the usual way;
/// in batches, everything the usual way. Both give the same state.
async fn the_same_events_give_the_same_state_in_any_batches(db: impl AsyncFn() -> TestDatabase) {
    let events = history();
    let one_by_one = db().await;
    let (mut runner, queries) = projection(&one_by_one).await;
    for delivery in &events {
        let rejected = runner.apply(std::slice::from_ref(delivery)).await.unwrap();
        assert!(rejected.is_empty(), "{rejected:?}");
    }
    assert_eq!(runner.shot_fallbacks(), 0, "every shot ran");
    let expected = snapshot(&queries).await;
    assert_eq!(expected.len(), 3, "three conversations");
    let (a, a_messages) = &expected[0];
    assert_eq!(a.title, "Ann");
    assert_eq!(a.unread_count, 4, "a1, a2, a3, a4; the duplicate once");
    assert!(!a.unanswered, "no reply needed");
    let texts: Vec<&str> = a_messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(
        texts.len(),
        6,
        "four messages, a close and a reopen line: {texts:?}"
    );
    let (b, b_messages) = &expected[1];
    assert_eq!(b.unread_count, 0, "read");
    assert!(
        !b_messages.iter().any(|m| m.id == "echo_1"),
        "our own send's echo is that send"
    );
    assert!(b_messages.iter().any(|m| m.id == "echo_2"));
    assert!(
        !b_messages.iter().any(|m| m.id == "echo_3"),
        "an echo ahead of its send's outcome is that send"
    );
    let last_of_b = b_messages.last().map(|m| (m.id.as_str(), m.status()));
    assert_eq!(
        last_of_b,
        Some(("out_b4", MessageStatus::Sent)),
        "the last send"
    );
    let held = b_messages.iter().position(|m| m.id == "out_b3");
    let answer = b_messages.iter().position(|m| m.id == "b3");
    assert!(
        held > answer,
        "the released hold is listed where it went out, after b3"
    );
    let (c, c_messages) = &expected[2];
    assert_eq!(
        statuses(c_messages).last(),
        Some(&("out_c1", MessageStatus::Sent))
    );
    assert!(!c.unanswered, "the operator answered c");
    assert_eq!(
        (c.assignee_id.as_str(), c.group_id.as_str()),
        ("op-2", "g-1")
    );

    for split in [2, 3, 5, events.len()] {
        let db = db().await;
        let (mut runner, queries) = projection(&db).await;
        for batch in events.chunks(split) {
            let rejected = runner.apply(batch).await.unwrap();
            assert!(rejected.is_empty(), "{rejected:?}");
        }
        assert_eq!(snapshot(&queries).await, expected, "batches of {split}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_events_give_the_same_state_in_any_batches_on_sqlite() {
    the_same_events_give_the_same_state_in_any_batches(async || TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_events_give_the_same_state_in_any_batches_on_postgres() {
    the_same_events_give_the_same_state_in_any_batches(TestDatabase::postgres).await;
}

fn statuses(messages: &[Message]) -> Vec<(&str, MessageStatus)> {
    messages
        .iter()
        .filter(|m| m.id.starts_with("out_"))
        .map(|m| (m.id.as_str(), m.status()))
        .collect()
}

async fn read_receipts_cover_earlier_messages(early: bool) {
    for one_by_one in [false, true] {
        read_receipts_cover_earlier_messages_in(early, one_by_one).await;
    }
}

/// In one batch, or event by event (where an outcome goes as a shot only
/// when no early status waits for it).
async fn read_receipts_cover_earlier_messages_in(early: bool, one_by_one: bool) {
    let db = TestDatabase::sqlite();
    let (mut runner, queries) = projection(&db).await;
    let mut events = vec![
        ("a", 1_000, received("a", "a1", "Ann", "")),
        ("a", 1_100, requested("out_1")),
        ("a", 1_200, requested("out_2")),
        ("a", 1_300, requested("out_3")),
        ("a", 1_400, requested("out_4")),
        ("a", 1_500, requested("out_5")),
        ("a", 1_600, dispatched("out_1")),
        ("a", 1_700, dispatched("out_2")),
        (
            "a",
            1_800,
            Payload::MessageFailed(MessageFailed {
                message_id: "out_3".into(),
                reason: "refused".into(),
                ..MessageFailed::default()
            }),
        ),
        (
            "a",
            1_900,
            status("p_out_2", MessageStatus::Delivered, false),
        ),
    ];
    // out_4 is read (and everything before it) before or after its dispatch
    // is known; out_5 goes out later and stays SENT.
    let read = ("a", 2_000, status("p_out_4", MessageStatus::Read, true));
    if early {
        events.extend([read, ("a", 2_100, dispatched("out_4"))]);
    } else {
        events.extend([("a", 2_100, dispatched("out_4")), read]);
    }
    events.push(("a", 2_200, dispatched("out_5")));
    let events = deliveries(events);
    if one_by_one {
        for delivery in &events {
            runner.apply(std::slice::from_ref(delivery)).await.unwrap();
        }
        assert_eq!(runner.shot_fallbacks(), 0);
    } else {
        runner.apply(&events).await.unwrap();
    }
    let messages = queries.messages("conv_a", 100, "").await.unwrap().items;
    assert_eq!(
        statuses(&messages),
        [
            ("out_1", MessageStatus::Read),
            ("out_2", MessageStatus::Read),
            ("out_3", MessageStatus::Failed),
            ("out_4", MessageStatus::Read),
            ("out_5", MessageStatus::Sent),
        ],
        "early: {early}, one by one: {one_by_one}"
    );
    let customer = messages.iter().find(|m| m.id == "a1").unwrap();
    assert_eq!(
        customer.status(),
        MessageStatus::Delivered,
        "inbound untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_receipt_with_and_earlier_reads_every_earlier_sent_message() {
    read_receipts_cover_earlier_messages(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_read_receipt_with_and_earlier_applies_at_dispatch() {
    read_receipts_cover_earlier_messages(true).await;
}

/// A run of customer messages longer than one statement's chunk, over more
/// conversations than one upsert takes, with names arriving late, a closed
/// conversation reopened and a repeated message, gives the state of
/// applying it event by event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_run_gives_the_same_state_as_event_by_event() {
    const CHATS: usize = 220;
    let chats: Vec<String> = (0..CHATS).map(|n| format!("chat{n}")).collect();
    let mut events: Vec<(&str, i64, Payload)> = vec![
        ("chat0", 500, received("chat0", "first", "", "")),
        ("chat0", 600, closed_by_operator()),
    ];
    for n in 0..450 {
        let chat = chats[n % CHATS].as_str();
        let name = if n >= CHATS { "Late" } else { "" };
        events.push((
            chat,
            1_000 + n as i64,
            received(chat, &format!("m{n}"), name, ""),
        ));
    }
    events.push(("chat5", 2_000, received("chat5", "m5", "Again", "")));
    let events = deliveries(events);

    let one_by_one = TestDatabase::sqlite();
    let (mut runner, queries) = projection(&one_by_one).await;
    for delivery in &events {
        let rejected = runner.apply(std::slice::from_ref(delivery)).await.unwrap();
        assert!(rejected.is_empty(), "{rejected:?}");
    }
    let expected = snapshot(&queries).await;
    assert_eq!(expected.len(), CHATS);
    let (chat0, chat0_messages) = &expected[0];
    assert_eq!(chat0.title, "Late");
    assert_eq!(
        chat0_messages.len(),
        6,
        "four messages, a close and a reopen line"
    );

    let db = TestDatabase::sqlite();
    let (mut runner, queries) = projection(&db).await;
    let rejected = runner.apply(&events).await.unwrap();
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(snapshot(&queries).await, expected);
}

fn held(id: &str) -> Payload {
    Payload::MessageRequested(MessageRequested {
        initial_status: MessageStatus::Held as i32,
        ..match requested(id) {
            Payload::MessageRequested(r) => r,
            _ => unreachable!(),
        }
    })
}

/// (last message, unanswered, unread, last activity) of conversation `a`.
async fn latest(queries: &Queries) -> (String, bool, u32, i64) {
    let mut all = snapshot(queries).await;
    let (a, _) = all.remove(0);
    let at = a
        .updated_at
        .map_or(0, |t| t.seconds * 1_000 + i64::from(t.nanos) / 1_000_000);
    let last = a.last_message.map(|m| m.id).unwrap_or_default();
    (last, a.unanswered, a.unread_count, at)
}

/// An operator's message is the conversation's latest and answers it; the
/// same request again (a held message released) is not news; the notice
/// of a blocked bot is the latest but answers nothing. The insert and the
/// conversation's update are one statement, gated per store.
async fn outbound_messages_touch_their_conversation(db: TestDatabase) {
    let (mut runner, queries) = projection(&db).await;
    let mut apply = async |chat, at, payload| {
        let rejected = runner
            .apply(&deliveries(vec![(chat, at, payload)]))
            .await
            .unwrap();
        assert!(rejected.is_empty(), "{rejected:?}");
    };
    apply("a", 1_000, received("a", "a1", "Ann", "")).await;
    assert_eq!(latest(&queries).await, ("a1".into(), true, 1, 1_000));
    apply("a", 1_100, requested("out_1")).await;
    assert_eq!(latest(&queries).await, ("out_1".into(), false, 1, 1_100));
    apply("a", 1_200, held("out_held")).await;
    apply("a", 1_300, received("a", "a2", "", "")).await;
    assert_eq!(latest(&queries).await, ("a2".into(), true, 2, 1_300));
    apply("a", 1_400, requested("out_held")).await;
    assert_eq!(
        latest(&queries).await,
        ("a2".into(), true, 2, 1_300),
        "a released hold changes nothing but its place"
    );
    let blocked = Payload::MessageFailed(MessageFailed {
        message_id: "out_1".into(),
        reason: "blocked".into(),
        kind: FailureKind::RecipientBlocked as i32,
        ..MessageFailed::default()
    });
    apply("a", 1_500, blocked.clone()).await;
    assert_eq!(
        latest(&queries).await,
        ("out_1-blocked".into(), true, 2, 1_500)
    );
    apply("a", 1_600, blocked).await;
    assert_eq!(
        latest(&queries).await,
        ("out_1-blocked".into(), true, 2, 1_500),
        "one notice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_messages_touch_their_conversation_on_sqlite() {
    outbound_messages_touch_their_conversation(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_messages_touch_their_conversation_on_postgres() {
    outbound_messages_touch_their_conversation(TestDatabase::postgres().await).await;
}
