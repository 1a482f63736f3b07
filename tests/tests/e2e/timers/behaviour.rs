//! Auto-replies, inactivity close, closing messages and off-hours replies.

use std::time::{Duration, Instant};

use omnibus_proto::{
    AuthorKind, ChannelSettings, CloseConversationRequest, CloseReason, ConversationStatus,
    Direction, Schedule, SendMessageRequest, WeeklyInterval,
};
use omnibus_testkit::wait_until;
use omnibus_tests::Sandbox;

use super::{
    auto_reply, conversation_of, create_channel, customer_writes, texts_to, wait_for_status,
    wait_for_text,
};
use crate::support::{PATIENCE, all_messages};

#[tokio::test]
async fn auto_reply_fires_after_its_delay_and_not_after_an_operators_answer() {
    let sandbox = Sandbox::start().await;
    let settings = ChannelSettings {
        inactivity_close_seconds: Some(3_600),
        auto_replies: vec![auto_reply("An operator will answer soon.", 3)],
        ..Default::default()
    };
    let (http, grpc) = (sandbox.http_url(), sandbox.grpc_url());
    let channel_id = create_channel(&grpc, settings).await;
    let mut api = sandbox.conversations().await;
    let (answered_chat, waiting_chat) = (501, 502);

    // The answered customer writes first, so their auto-reply would be due first.
    customer_writes(&http, &channel_id, 1, answered_chat, "hello?").await;
    let answered = conversation_of(&api, &channel_id, answered_chat).await;
    api.send_message(SendMessageRequest {
        conversation_id: answered.clone(),
        text: "Hi, how can I help?".into(),
        operator_id: "op-1".into(),
        ..Default::default()
    })
    .await
    .unwrap();

    let written = Instant::now();
    customer_writes(&http, &channel_id, 2, waiting_chat, "anyone there?").await;
    let replied = wait_for_text(
        &sandbox.telegram,
        waiting_chat,
        "An operator will answer soon.",
        1,
    )
    .await;
    assert!(
        replied - written >= Duration::from_millis(2_500),
        "not before its delay: {:?}",
        replied - written
    );
    assert!(
        texts_to(&sandbox.telegram, answered_chat)
            .iter()
            .all(|t| t != "An operator will answer soon."),
        "an operator's answer cancels the auto-reply"
    );
    let waiting = conversation_of(&api, &channel_id, waiting_chat).await;
    let bot = wait_until("the auto-reply in the history", PATIENCE, || async {
        all_messages(&sandbox, &waiting)
            .await
            .into_iter()
            .find(|m| m.author_kind() == AuthorKind::Bot)
    })
    .await;
    assert_eq!(bot.text, "An operator will answer soon.");

    // After the answer, the customer's next message starts the sequence again.
    customer_writes(&http, &channel_id, 3, answered_chat, "one more thing").await;
    wait_for_text(
        &sandbox.telegram,
        answered_chat,
        "An operator will answer soon.",
        1,
    )
    .await;
    assert_eq!(
        texts_to(&sandbox.telegram, waiting_chat).len(),
        1,
        "one auto-reply per sequence"
    );
}

#[tokio::test]
async fn inactivity_closes_with_the_closing_message_and_a_new_message_reopens() {
    let sandbox = Sandbox::start().await;
    let settings = ChannelSettings {
        inactivity_close_seconds: Some(2),
        closing_message: "Closed for now; write again any time.".into(),
        ..Default::default()
    };
    let (http, grpc) = (sandbox.http_url(), sandbox.grpc_url());
    let channel_id = create_channel(&grpc, settings).await;
    let api = sandbox.conversations().await;
    let chat = 601;

    let written = Instant::now();
    customer_writes(&http, &channel_id, 1, chat, "bye then").await;
    let id = conversation_of(&api, &channel_id, chat).await;
    let closed = wait_for_status(&api, &id, ConversationStatus::Closed).await;
    assert!(
        written.elapsed() >= Duration::from_millis(1_500),
        "not before the deadline"
    );
    assert_eq!(closed.close_reason(), CloseReason::Inactivity);
    assert!(
        !closed.unanswered,
        "a closed conversation waits for no answer"
    );
    wait_for_text(
        &sandbox.telegram,
        chat,
        "Closed for now; write again any time.",
        1,
    )
    .await;
    let system = wait_until("the closing message in the history", PATIENCE, || async {
        all_messages(&sandbox, &id)
            .await
            .into_iter()
            .find(|m| m.author_kind() == AuthorKind::System && m.direction() == Direction::Outbound)
    })
    .await;
    assert_eq!(system.text, "Closed for now; write again any time.");

    customer_writes(&http, &channel_id, 2, chat, "actually, one question").await;
    wait_for_status(&api, &id, ConversationStatus::Open).await;
    // The history tells the story: closed, the closing message, reopened,
    // the customer's new message; the lines are never sent.
    let history: Vec<String> = all_messages(&sandbox, &id)
        .await
        .into_iter()
        .map(|m| m.text)
        .collect();
    // (The next inactivity close may already have added more after these.)
    assert!(history.len() >= 5, "{history:?}");
    assert_eq!(
        history[..5],
        [
            "bye then",
            "Conversation closed for inactivity",
            "Closed for now; write again any time.",
            "Conversation reopened by the customer",
            "actually, one question",
        ],
        "{history:?}"
    );
    assert!(
        !texts_to(&sandbox.telegram, chat)
            .iter()
            .any(|t| t.starts_with("Conversation ")),
        "system lines are not sent"
    );
    // Reopened, it closes again after the next silence, with one more message.
    wait_for_text(
        &sandbox.telegram,
        chat,
        "Closed for now; write again any time.",
        2,
    )
    .await;
    let closed = wait_for_status(&api, &id, ConversationStatus::Closed).await;
    assert_eq!(closed.close_reason(), CloseReason::Inactivity);
}

#[tokio::test]
async fn an_operators_close_also_sends_the_closing_message() {
    let sandbox = Sandbox::start().await;
    let settings = ChannelSettings {
        closing_message: "Thanks for writing!".into(),
        ..Default::default()
    };
    let channel_id = create_channel(&sandbox.grpc_url(), settings).await;
    let mut api = sandbox.conversations().await;
    customer_writes(&sandbox.http_url(), &channel_id, 1, 701, "thanks, solved").await;
    let id = conversation_of(&api, &channel_id, 701).await;
    let closed = api
        .close_conversation(CloseConversationRequest {
            id,
            operator_id: "op-2".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(closed.close_reason(), CloseReason::Operator);
    wait_for_text(&sandbox.telegram, 701, "Thanks for writing!", 1).await;
}

/// ISO weekday (1 = Monday) of today in UTC, shifted by `days`.
fn utc_weekday_in(days: i64) -> u32 {
    let today = omnibus_core::now_ms().div_euclid(86_400_000);
    // 1970-01-01 was a Thursday (ISO 4).
    ((today + days + 3).rem_euclid(7) + 1) as u32
}

#[tokio::test]
async fn off_hours_reply_once_per_period_and_no_auto_replies() {
    let sandbox = Sandbox::start().await;
    let (http, grpc) = (sandbox.http_url(), sandbox.grpc_url());
    let night = ChannelSettings {
        // Open only the day after tomorrow: now is off hours, one period.
        schedule: Some(Schedule {
            timezone: "UTC".into(),
            weekly: vec![WeeklyInterval {
                weekday: utc_weekday_in(2),
                open: "00:00".into(),
                close: "24:00".into(),
            }],
            holidays: Vec::new(),
        }),
        off_hours_message: "We are closed; we answer tomorrow.".into(),
        auto_replies: vec![auto_reply("Night auto-reply", 1)],
        ..Default::default()
    };
    let night_channel = create_channel(&grpc, night).await;
    // An always-open channel whose auto-reply is due after the night one's
    // would have been: once it arrives, the night one had its chance.
    let witness = ChannelSettings {
        auto_replies: vec![auto_reply("Witness auto-reply", 2)],
        ..Default::default()
    };
    let witness_channel = create_channel(&grpc, witness).await;
    let (customer, witness_chat) = (801, 802);

    customer_writes(&http, &night_channel, 1, customer, "are you open?").await;
    wait_for_text(
        &sandbox.telegram,
        customer,
        "We are closed; we answer tomorrow.",
        1,
    )
    .await;
    customer_writes(&http, &night_channel, 2, customer, "hello??").await;
    customer_writes(&http, &witness_channel, 1, witness_chat, "hi").await;
    wait_for_text(&sandbox.telegram, witness_chat, "Witness auto-reply", 1).await;

    let texts = texts_to(&sandbox.telegram, customer);
    assert_eq!(
        texts,
        ["We are closed; we answer tomorrow."],
        "one off-hours message per period and no auto-replies off hours"
    );
}

#[tokio::test]
async fn lowering_the_inactivity_closes_an_open_conversation_at_the_new_time() {
    let sandbox = Sandbox::start().await;
    let settings = ChannelSettings {
        inactivity_close_seconds: Some(3_600),
        ..Default::default()
    };
    let (http, grpc) = (sandbox.http_url(), sandbox.grpc_url());
    let channel_id = create_channel(&grpc, settings).await;
    let api = sandbox.conversations().await;
    let chat = 611;
    customer_writes(&http, &channel_id, 1, chat, "still there?").await;
    let id = conversation_of(&api, &channel_id, chat).await;

    let update = omnibus_proto::UpdateChannelRequest {
        id: channel_id.clone(),
        settings: Some(ChannelSettings {
            inactivity_close_seconds: Some(2),
            ..Default::default()
        }),
        ..Default::default()
    };
    sandbox
        .channels()
        .await
        .update_channel(update)
        .await
        .unwrap();
    // An hour's close moved to two seconds after the message: it is overdue
    // or nearly so, and PATIENCE is far shorter than the old hour.
    let closed = wait_for_status(&api, &id, ConversationStatus::Closed).await;
    assert_eq!(closed.close_reason(), CloseReason::Inactivity);
    assert!(
        !closed.unanswered,
        "closed for inactivity is not waiting for an answer"
    );
}
