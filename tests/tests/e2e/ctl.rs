//! `omnictl` against the real server: every command that used to need raw
//! gRPC (webhooks, operators, settings files, templates, `call`), the audit
//! trail of `conversations events`, and the WhatsApp demo (a backdated
//! customer message, then a template through the Graph stand-in).

mod demo;

use clap::Parser;
use omnibus_testkit::wait_until;
use omnibus_tests::{Sandbox, telegram};
use serde_json::Value;

use crate::support::{PATIENCE, wait_for_conversations};

const SECRET: &str = "s3cr3t-Value_42";

/// Runs `omnictl --addr <grpc> --json <argv…>` in-process.
pub(super) async fn omnictl(grpc: &str, argv: &[&str]) -> anyhow::Result<Value> {
    let mut full = vec!["omnictl", "--addr", grpc, "--json"];
    full.extend_from_slice(argv);
    let cli = omnictl::Cli::try_parse_from(full)?;
    let mut out = Vec::new();
    omnictl::run_with(cli, &mut out).await?;
    Ok(serde_json::from_slice(&out)?)
}

async fn ok(grpc: &str, argv: &[&str]) -> Value {
    omnictl(grpc, argv)
        .await
        .unwrap_or_else(|e| panic!("omnictl {argv:?}: {}", omnictl::describe(&e)))
}

/// A Telegram channel whose customer wrote once; returns (channel, conversation).
async fn telegram_conversation(sandbox: &Sandbox) -> (String, String) {
    let channel = sandbox.telegram_channel(SECRET).await;
    let update = telegram::text_update(1, 4242, "where is my order?");
    let client = reqwest::Client::new();
    let status =
        telegram::post_update(&client, &sandbox.http_url(), &channel.id, SECRET, &update).await;
    assert_eq!(status, 200);
    let conversation = wait_for_conversations(sandbox, 1).await.remove(0);
    (channel.id, conversation.id)
}

#[tokio::test]
async fn omnictl_webhooks_create_list_deliveries_and_delete() {
    let sandbox = Sandbox::start().await;
    let grpc = sandbox.grpc_url();
    let argv = [
        "webhooks",
        "create",
        "--url",
        "http://127.0.0.1:9/crm",
        "--secret",
        "whsec-do-not-print",
        "--kind",
        "new_message",
    ];
    let created = ok(&grpc, &argv).await;
    let id = created["id"].as_str().expect("an id").to_owned();
    assert_eq!(created["url"], "http://127.0.0.1:9/crm");
    assert_eq!(created["kinds"][0], "NOTIFICATION_KIND_NEW_MESSAGE");
    assert!(!created.to_string().contains("whsec-do-not-print"));

    let listed = ok(&grpc, &["webhooks", "list"]).await;
    assert_eq!(listed["webhooks"][0]["id"], id.as_str(), "{listed}");
    let deliveries = ok(&grpc, &["webhooks", "deliveries", &id]).await;
    assert!(deliveries["deliveries"].is_array(), "{deliveries}");

    ok(&grpc, &["webhooks", "delete", &id]).await;
    let listed = ok(&grpc, &["webhooks", "list"]).await;
    assert_eq!(listed["webhooks"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn omnictl_operators_list_and_presence() {
    let sandbox = Sandbox::start().await;
    let grpc = sandbox.grpc_url();
    let (_channel, conversation) = telegram_conversation(&sandbox).await;
    ok(
        &grpc,
        &[
            "conversations",
            "assign",
            &conversation,
            "--operator",
            "op-ann",
        ],
    )
    .await;
    let set = ok(&grpc, &["operators", "presence", "op-ann", "offline"]).await;
    assert_eq!(set["id"], "op-ann", "{set}");
    let ann = wait_until("op-ann waiting for one customer", PATIENCE, || async {
        let listed = ok(&grpc, &["operators", "list"]).await;
        let ann = listed["operators"]
            .as_array()?
            .iter()
            .find(|o| o["id"] == "op-ann")?
            .clone();
        (ann["waiting"] == 1).then_some(ann)
    })
    .await;
    assert_eq!(ann["presence"], "PRESENCE_OFFLINE", "{ann}");
    let bad = omnictl(&grpc, &["operators", "presence", "op-ann", "busy"]).await;
    assert!(bad.is_err(), "an unknown presence is refused");
}

#[tokio::test]
async fn omnictl_call_reaches_any_unary_method_over_reflection() {
    let sandbox = Sandbox::start().await;
    let grpc = sandbox.grpc_url();
    let channel = sandbox.telegram_channel(SECRET).await;
    let request = format!("{{\"id\": \"{}\"}}", channel.id);
    let got = ok(
        &grpc,
        &["call", "omnibus.v1.ChannelService/GetChannel", &request],
    )
    .await;
    assert_eq!(got["id"], channel.id.as_str());
    assert_eq!(got["kind"], "CHANNEL_KIND_TELEGRAM");
    let listed = ok(&grpc, &["call", "ChannelService/ListChannels"]).await;
    assert_eq!(listed["channels"][0]["id"], channel.id.as_str());

    let missing = omnictl(
        &grpc,
        &["call", "ChannelService/GetChannel", "{\"id\":\"nope\"}"],
    )
    .await;
    assert!(omnictl::describe(&missing.unwrap_err()).starts_with("NOT_FOUND"));
    let streaming = omnictl(&grpc, &["call", "NotificationService/Subscribe"]).await;
    assert!(omnictl::describe(&streaming.unwrap_err()).contains("streaming"));
    let bad = omnictl(&grpc, &["call", "ChannelService/GetChannel", "{\"idd\":1}"]).await;
    let bad = bad.unwrap_err();
    assert_eq!(omnictl::exit_code(&bad), 2, "{bad:#}");
    assert!(omnictl::describe(&bad).contains("idd"), "{bad:#}");
}

#[tokio::test]
async fn omnictl_settings_file_sets_auto_replies_schedule_and_holidays() {
    let sandbox = Sandbox::start().await;
    let grpc = sandbox.grpc_url();
    let channel = sandbox.telegram_channel(SECRET).await;
    ok(
        &grpc,
        &[
            "channels",
            "update",
            &channel.id,
            "--closing-message",
            "Bye",
        ],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.yaml");
    let yaml = "auto_replies:\n  - text: We are on it\n    delay_seconds: 30\n\
                schedule:\n  timezone: Europe/Berlin\n  weekly:\n    \
                - {weekday: 1, open: \"09:00\", close: \"18:00\"}\n  holidays: [\"2026-12-25\"]\n\
                off_hours_message: Back at nine\nunanswered_after_seconds: 300\n";
    std::fs::write(&path, yaml).unwrap();
    let path = path.to_str().unwrap();
    let updated = ok(
        &grpc,
        &["channels", "update", &channel.id, "--settings-file", path],
    )
    .await;
    let settings = &updated["settings"];
    assert_eq!(settings["closing_message"], "Bye", "kept: {settings}");
    assert_eq!(settings["off_hours_message"], "Back at nine");
    assert_eq!(settings["unanswered_after_seconds"], 300);
    let got = ok(
        &grpc,
        &[
            "call",
            "ChannelService/GetChannel",
            &format!("{{\"id\":\"{}\"}}", channel.id),
        ],
    )
    .await;
    let stored = &got["settings"];
    assert_eq!(stored["auto_replies"][0]["text"], "We are on it");
    assert_eq!(stored["auto_replies"][0]["delay_seconds"], 30);
    assert_eq!(stored["schedule"]["timezone"], "Europe/Berlin");
    assert_eq!(stored["schedule"]["holidays"][0], "2026-12-25");
    assert_eq!(stored["schedule"]["weekly"][0]["open"], "09:00");

    std::fs::write(dir.path().join("bad.yaml"), "auto_replys: []\n").unwrap();
    let bad = dir.path().join("bad.yaml");
    let err = omnictl(
        &grpc,
        &[
            "channels",
            "update",
            &channel.id,
            "--settings-file",
            bad.to_str().unwrap(),
        ],
    )
    .await
    .unwrap_err();
    assert!(omnictl::describe(&err).contains("auto_replys"), "{err:#}");
}

#[tokio::test]
async fn omnictl_conversation_events_tell_what_happened_to_a_message() {
    let sandbox = Sandbox::start().await;
    let grpc = sandbox.grpc_url();
    let (channel, conversation) = telegram_conversation(&sandbox).await;
    // Another customer of the same channel: none of their events belong.
    let other = telegram::text_update(2, 4343, "me too");
    let client = reqwest::Client::new();
    let status =
        telegram::post_update(&client, &sandbox.http_url(), &channel, SECRET, &other).await;
    assert_eq!(status, 200);
    wait_for_conversations(&sandbox, 2).await;
    let sent = ok(&grpc, &["messages", "send", &conversation, "On its way"]).await;
    let message_id = sent["id"].as_str().unwrap().to_owned();
    let events = wait_until("the send in the trail", PATIENCE, || async {
        let events = ok(&grpc, &["conversations", "events", &conversation]).await;
        let all = events["events"].as_array()?.clone();
        all.iter()
            .any(|e| e["kind"] == "dispatched" && e["message_id"] == message_id.as_str())
            .then_some(all)
    })
    .await;
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(
        !kinds.contains(&"other"),
        "only this conversation's events: {kinds:?}"
    );
    assert!(
        events
            .iter()
            .all(|e| e["event"]["conversation_id"] == conversation.as_str()),
        "{events:?}"
    );
    let at = |kind: &str| kinds.iter().position(|k| *k == kind).unwrap_or(usize::MAX);
    assert!(at("received") < at("requested"), "{kinds:?}");
    assert!(at("requested") < at("dispatched"), "{kinds:?}");
    let received = &events[at("received")];
    assert!(
        !received["provider_id"].as_str().unwrap_or("").is_empty(),
        "{received}"
    );
    assert_eq!(
        received["event"]["message_received"]["text"],
        "where is my order?"
    );
    let dispatched = &events[at("dispatched")];
    assert!(!dispatched["provider_id"].as_str().unwrap_or("").is_empty());
    let sequences: Vec<u64> = events
        .iter()
        .filter_map(|e| e["sequence"].as_u64())
        .collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");

    let unknown = omnictl(&grpc, &["conversations", "events", "cv_nope"]).await;
    assert!(omnictl::describe(&unknown.unwrap_err()).starts_with("NOT_FOUND"));
}

#[tokio::test]
async fn omnictl_watch_json_prints_one_line_per_notification_in_time_order() {
    let sandbox = Sandbox::start().await;
    let grpc = sandbox.grpc_url();
    let (channel, conversation) = telegram_conversation(&sandbox).await;
    let closed = ok(&grpc, &["conversations", "close", &conversation]).await;
    // Telegram delivers a message written a minute ago (dates are whole
    // seconds of the customer's clock): it reopens the conversation now.
    let update = omnictl::telegram_update_json(&omnictl::TelegramMessageSpec {
        update_id: 2,
        message_id: 2,
        chat_id: 4242,
        text: "sent from a tunnel".into(),
        date: omnibus_core::now_ms() / 1000 - 60,
        ..Default::default()
    });
    let client = reqwest::Client::new();
    let status =
        telegram::post_update(&client, &sandbox.http_url(), &channel, SECRET, &update).await;
    assert_eq!(status, 200);

    let cli = omnictl::Cli::try_parse_from([
        "omnictl", "--addr", &grpc, "--json", "watch", "--after", "0-0", "--count", "5",
    ])
    .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(PATIENCE, omnictl::run_with(cli, &mut out))
        .await
        .expect("watch stops after --count")
        .expect("watch succeeds");
    let text = String::from_utf8(out).unwrap();
    let notes: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect();
    let kinds: Vec<&str> = notes.iter().filter_map(|n| n["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "NEW_CONVERSATION",
            "NEW_MESSAGE",
            "CONVERSATION_CLOSED",
            "CONVERSATION_REOPENED",
            "NEW_MESSAGE"
        ],
        "{text}"
    );
    let times: Vec<String> = notes
        .iter()
        .filter_map(|n| n["created_at"].as_str().map(sortable))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "times follow the stream: {times:?}"
    );

    let reopened = ok(&grpc, &["conversations", "show", &conversation]).await;
    let (closed_at, reopened_at) = (
        sortable(closed["updated_at"].as_str().unwrap()),
        sortable(reopened["conversation"]["updated_at"].as_str().unwrap()),
    );
    assert!(
        reopened_at >= closed_at,
        "updated_at {reopened_at} before the close {closed_at}"
    );
}

/// An RFC 3339 UTC time whose text sorts like the time (nanoseconds padded).
fn sortable(rfc3339: &str) -> String {
    let bare = rfc3339.trim_end_matches('Z');
    let (seconds, fraction) = bare.split_once('.').unwrap_or((bare, ""));
    format!("{seconds}.{fraction:0<9}")
}
