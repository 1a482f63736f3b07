use std::time::Duration;

use clap::Parser;

use super::*;
use crate::cli::{Cli, Command};

fn args(extra: &[&str]) -> SimulateTelegramArgs {
    let mut argv = vec![
        "omnictl",
        "simulate",
        "telegram",
        "--channel",
        "ch_1",
        "--secret",
        "s",
    ];
    argv.extend_from_slice(extra);
    match Cli::try_parse_from(argv).unwrap().command {
        Command::Simulate(SimulateCmd::Telegram(args)) => args,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_text_update_has_the_bot_api_shape() {
    let update = telegram_update_json(&TelegramMessageSpec {
        text: "test".to_owned(),
        ..Default::default()
    });
    // Exactly the chatwoot fixture of providers.md §2.2.
    let expected: Value = serde_json::from_str(
        r#"{
          "update_id": 734512001,
          "message": {
            "message_id": 1,
            "from": {
              "id": 100200300, "is_bot": false, "first_name": "Sojan", "last_name": "Jose",
              "username": "sojan", "language_code": "en"
            },
            "chat": { "id": 100200300, "first_name": "Sojan", "last_name": "Jose", "username": "sojan", "type": "private" },
            "date": 1631132077,
            "text": "test"
          }
        }"#,
    )
    .unwrap();
    assert_eq!(update, expected);
}

#[test]
fn a_photo_update_has_sizes_smallest_first_and_a_caption() {
    let update = telegram_update_json(&TelegramMessageSpec {
        photo: true,
        text: "Screenshot of the error".to_owned(),
        last_name: String::new(),
        ..Default::default()
    });
    let message = &update["message"];
    assert!(message.get("text").is_none());
    assert_eq!(message["caption"], "Screenshot of the error");
    assert!(
        message["from"].get("last_name").is_none(),
        "empty last name is left out"
    );
    let photo = message["photo"].as_array().unwrap();
    assert_eq!(photo.len(), 2);
    for size in photo {
        for key in ["file_id", "file_unique_id"] {
            assert!(size[key].as_str().is_some_and(|s| !s.is_empty()), "{key}");
        }
        for key in ["file_size", "width", "height"] {
            assert!(size[key].as_u64().is_some(), "{key}");
        }
    }
    assert!(photo[0]["width"].as_u64() < photo[1]["width"].as_u64());
    assert_ne!(photo[0]["file_unique_id"], photo[1]["file_unique_id"]);
}

#[test]
fn ids_derive_from_the_clock_unless_given() {
    let now = UNIX_EPOCH + Duration::from_millis(1_760_000_000_123);
    let spec = TelegramMessageSpec::from_args(&args(&[]), now);
    assert_eq!(spec.update_id, 1_760_000_000_123);
    assert_eq!(spec.date, 1_760_000_000);
    assert!(spec.message_id > 0 && spec.message_id <= i64::from(i32::MAX));
    let later = TelegramMessageSpec::from_args(&args(&[]), now + Duration::from_millis(1));
    assert_ne!(later.update_id, spec.update_id);
    assert_ne!(later.message_id, spec.message_id);

    let given =
        TelegramMessageSpec::from_args(&args(&["--update-id", "7", "--message-id", "9"]), now);
    assert_eq!((given.update_id, given.message_id), (7, 9));
}

#[test]
fn the_update_round_trips_through_json_text() {
    let spec =
        TelegramMessageSpec::from_args(&args(&["--text", "Привет \"там\""]), SystemTime::now());
    let update = telegram_update_json(&spec);
    let text = serde_json::to_string(&update).unwrap();
    let back: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back["message"]["text"], "Привет \"там\"");
    assert_eq!(back["message"]["chat"]["type"], "private");
    assert_eq!(back["message"]["from"]["is_bot"], false);
    assert!(back["update_id"].is_i64());
    assert!(back["message"]["date"].is_i64());
}

#[test]
fn webhook_urls_and_hints() {
    assert_eq!(
        telegram_webhook_url("http://127.0.0.1:8080/", "ch_1"),
        "http://127.0.0.1:8080/webhooks/telegram/ch_1"
    );
    assert_eq!(
        telegram_webhook_url("localhost:8080", "ch_1"),
        "http://localhost:8080/webhooks/telegram/ch_1"
    );
    assert_eq!(
        status_hint(401),
        "the secret token does not match the channel's"
    );
    assert_eq!(status_hint(403), status_hint(401));
    assert!(status_hint(404).contains("no such channel"));
    let err = HttpStatusError {
        status: 401,
        reason: "Unauthorized".to_owned(),
        hint: status_hint(401).to_owned(),
    };
    assert_eq!(
        err.to_string(),
        "401 Unauthorized: the secret token does not match the channel's"
    );
}
