//! Given events, when applied, then these decisions: the router's rules
//! without NATS.

use omnibus_proto::{ChannelSettings, ChannelState, Group, MessageReceived, MessageRequested};

use super::*;

const CHANNEL: &str = "ch_1";

fn event(id: &str, conversation: &str, at_ms: i64, payload: Payload) -> Event {
    Event {
        id: id.into(),
        occurred_at_ms: at_ms,
        recorded_at_ms: at_ms,
        channel_id: CHANNEL.into(),
        conversation_id: conversation.into(),
        payload: Some(payload),
    }
}

fn channel(routing: Routing) -> Event {
    let state = ChannelState {
        id: CHANNEL.into(),
        settings: Some(ChannelSettings {
            routing: Some(routing),
            ..Default::default()
        }),
        ..Default::default()
    };
    event(
        "channel",
        "",
        0,
        Payload::ChannelChanged(ChannelChanged {
            change: 1,
            state: Some(state),
        }),
    )
}

fn group(id: &str, operators: &[&str]) -> Event {
    let group = Group {
        id: id.into(),
        operator_ids: operators.iter().map(|s| (*s).to_owned()).collect(),
        rule: GroupRule::RoundRobin as i32,
        ..Default::default()
    };
    event(
        &format!("group-{id}"),
        "",
        0,
        Payload::GroupChanged(GroupChanged {
            group: Some(group),
            deleted: false,
        }),
    )
}

fn online(operator: &str) -> Event {
    event(
        &format!("online-{operator}"),
        "",
        0,
        Payload::PresenceChanged(PresenceChanged {
            operator_id: operator.into(),
            presence: Presence::Online as i32,
        }),
    )
}

fn customer(id: &str, conversation: &str, at_ms: i64) -> Event {
    let received = MessageReceived {
        direction: Direction::Inbound as i32,
        ..Default::default()
    };
    event(id, conversation, at_ms, Payload::MessageReceived(received))
}

fn given(events: &[Event]) -> State {
    let mut state = State::default();
    for (sequence, event) in (1..).zip(events) {
        state.apply(sequence, event);
    }
    state
}

fn decided(state: &State) -> Vec<(String, String, String)> {
    state
        .pending
        .values()
        .map(|e| match &e.payload {
            Some(Payload::ConversationAssigned(a)) => (
                e.conversation_id.clone(),
                a.operator_id.clone(),
                a.group_id.clone(),
            ),
            _ => panic!("not an assignment"),
        })
        .collect()
}

#[test]
fn the_same_events_give_the_same_decisions_with_the_same_ids() {
    let events = [
        group("g", &["a", "b"]),
        channel(Routing {
            group_id: "g".into(),
            ..Default::default()
        }),
        online("b"),
        customer("m1", "cv_1", 10),
        customer("m2", "cv_2", 20),
    ];
    let first = given(&events);
    let replayed = given(&events);
    assert_eq!(first.pending, replayed.pending);
    assert_eq!(
        decided(&first),
        [
            ("cv_1".into(), "b".into(), "g".into()),
            ("cv_2".into(), "b".into(), "g".into())
        ]
    );
    assert!(first.pending.contains_key("route:cv_1:m1"));
}

#[test]
fn a_decision_read_back_is_no_longer_pending() {
    let mut state = given(&[channel(Routing {
        operator_id: "op".into(),
        ..Default::default()
    })]);
    state.apply(2, &customer("m1", "cv_1", 10));
    let decision = state.pending.values().next().cloned().expect("decided");
    state.apply(3, &decision);
    assert!(state.pending.is_empty());
    // A second message in the open conversation decides nothing new.
    state.apply(4, &customer("m2", "cv_1", 11));
    assert!(state.pending.is_empty());
}

#[test]
fn a_silent_bot_arms_a_deadline_that_decides_the_fallback_when_read_back() {
    let mut state = given(&[channel(Routing {
        bot_id: "bot".into(),
        fallback_operator_id: "human".into(),
        bot_timeout_seconds: Some(5),
        ..Default::default()
    })]);
    state.apply(2, &customer("m1", "cv_1", 1_000));
    let to_bot = state.pending.values().next().cloned().expect("to the bot");
    state.apply(3, &to_bot);
    assert_eq!(state.next_due(), Some(6_000));
    assert!(state.due_timers(5_999).is_empty());
    let (id, timer) = state.due_timers(6_000).remove(0);
    state.apply(4, &due_event(&id, &timer, 6_000));
    assert!(state.timers.is_empty());
    assert_eq!(
        decided(&state),
        [("cv_1".into(), "human".into(), String::new())]
    );
}

#[test]
fn a_bot_answer_disarms_its_deadline() {
    let mut state = given(&[channel(Routing {
        bot_id: "bot".into(),
        ..Default::default()
    })]);
    state.apply(2, &customer("m1", "cv_1", 1_000));
    assert_eq!(state.timers.len(), 1);
    let answer = MessageRequested {
        operator_id: "bot".into(),
        ..Default::default()
    };
    state.apply(
        3,
        &event("a1", "cv_1", 2_000, Payload::MessageRequested(answer)),
    );
    assert!(state.timers.is_empty());
}

#[test]
fn an_assignment_by_hand_voids_the_routers_pending_decision() {
    let mut state = given(&[channel(Routing {
        operator_id: "op".into(),
        ..Default::default()
    })]);
    state.apply(2, &customer("m1", "cv_1", 10));
    let by_hand = ConversationAssigned {
        operator_id: "someone".into(),
        group_id: String::new(),
    };
    state.apply(
        3,
        &event("ev_x", "cv_1", 11, Payload::ConversationAssigned(by_hand)),
    );
    assert!(state.pending.is_empty());
}

#[test]
fn off_hours_waits_on_the_group_and_goes_to_an_online_operator_at_the_opening() {
    // Monday 2026-11-30, 08:00 and 09:00 UTC.
    const EIGHT: i64 = 1_796_025_600_000;
    const NINE: i64 = 1_796_029_200_000;
    let mut settings_channel = channel(Routing {
        group_id: "g".into(),
        ..Default::default()
    });
    if let Some(Payload::ChannelChanged(changed)) = &mut settings_channel.payload {
        let settings = changed.state.as_mut().and_then(|s| s.settings.as_mut());
        settings.expect("settings").schedule = Some(omnibus_proto::Schedule {
            timezone: "UTC".into(),
            weekly: vec![omnibus_proto::WeeklyInterval {
                weekday: 1,
                open: "09:00".into(),
                close: "18:00".into(),
            }],
            holidays: Vec::new(),
        });
    }
    let mut state = given(&[group("g", &["a"]), settings_channel, online("a")]);
    state.apply(4, &customer("m1", "cv_1", EIGHT));
    assert_eq!(
        decided(&state),
        [("cv_1".into(), String::new(), "g".into())]
    );
    let waiting = state.pending.values().next().cloned().expect("waits");
    state.apply(5, &waiting);
    assert_eq!(state.next_due(), Some(NINE), "armed for the opening");
    let (id, timer) = state.due_timers(NINE).remove(0);
    state.apply(6, &due_event(&id, &timer, NINE));
    assert_eq!(decided(&state), [("cv_1".into(), "a".into(), "g".into())]);
}
