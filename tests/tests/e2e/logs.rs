//! Structured logs: with `OMNIBUS_LOG_FORMAT=json` every line is a JSON
//! object, lines about a conversation carry its conversation and channel
//! ids as fields, and no credential appears anywhere.

use omnibus_proto::{
    ChannelKind, CreateChannelRequest, ListMessagesRequest, MessageStatus, SendMessageRequest,
    channel_service_client::ChannelServiceClient,
    conversation_service_client::ConversationServiceClient,
};
use omnibus_testkit::wait_until;
use omnibus_tests::child::ChildServer;
use omnibus_tests::{Sandbox, SandboxOptions, telegram};
use serde_json::Value;

use crate::support::PATIENCE;

const BINARY: &str = env!("CARGO_BIN_EXE_omnibus-under-test");
const BOT_TOKEN: &str = "7000000001:AAE-never-in-the-logs";
const SECRET: &str = "secret-never-in-the-logs";

#[tokio::test]
async fn json_logs_carry_ids_as_fields_and_never_credentials() {
    let sandbox = Sandbox::start_with(SandboxOptions {
        no_server: true,
        ..Default::default()
    })
    .await;
    let path = std::env::temp_dir().join(format!("omnibus-log-{}.jsonl", std::process::id()));
    let log = std::fs::File::create(&path).expect("a log file");
    let mut env = sandbox.env();
    env.push(("OMNIBUS_LOG_FORMAT", "json".to_owned()));
    env.push(("RUST_LOG", "info".to_owned()));
    let server = ChildServer::start_logging(BINARY, "all", &env, log).await;

    let mut channels = ChannelServiceClient::connect(server.grpc_url())
        .await
        .unwrap();
    let channel_id = channels
        .create_channel(CreateChannelRequest {
            kind: ChannelKind::Telegram as i32,
            credentials: [
                ("bot_token".to_owned(), BOT_TOKEN.to_owned()),
                ("secret_token".to_owned(), SECRET.to_owned()),
            ]
            .into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .id;
    let client = reqwest::Client::new();
    let update = telegram::text_update(1, 5150, "hello");
    let status =
        telegram::post_update(&client, &server.http_url(), &channel_id, SECRET, &update).await;
    assert_eq!(status, 200);
    // A wrong secret is refused: its value must not be logged either.
    let wrong = telegram::post_update(
        &client,
        &server.http_url(),
        &channel_id,
        "wrong-secret-xyz",
        &update,
    )
    .await;
    assert_eq!(wrong, 403);
    let conversation_id = omnibus_core::ids::conversation_id(&channel_id, "5150");
    let api = ConversationServiceClient::connect(server.grpc_url())
        .await
        .unwrap();
    wait_until("the reply SENT", PATIENCE, || {
        let mut api = api.clone();
        let conversation_id = conversation_id.clone();
        async move {
            let request = SendMessageRequest {
                conversation_id: conversation_id.clone(),
                text: "hi!".into(),
                idempotency_key: "log-1".into(),
                ..Default::default()
            };
            api.send_message(request).await.ok()?;
            let messages = api
                .list_messages(ListMessagesRequest {
                    conversation_id,
                    ..Default::default()
                })
                .await
                .ok()?
                .into_inner()
                .messages;
            messages
                .iter()
                .any(|m| m.text == "hi!" && m.status() == MessageStatus::Sent)
                .then_some(())
        }
    })
    .await;

    // "message sent" is logged inside the delivery's span, whose fields
    // name the conversation and the channel.
    let lines = wait_until("the send logged", PATIENCE, || async {
        let text = std::fs::read_to_string(&path).ok()?;
        text.contains("message sent").then_some(text)
    })
    .await;
    drop(server);
    let _ = std::fs::remove_file(&path);
    for credential in [BOT_TOKEN, SECRET, "wrong-secret-xyz"] {
        assert!(!lines.contains(credential), "{credential:?} was logged");
    }
    let objects: Vec<Value> = lines
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let sent = objects
        .iter()
        .find(|o| o["fields"]["message"] == "message sent")
        .expect("the send's line");
    assert_eq!(
        sent["span"]["conversation_id"],
        conversation_id.as_str(),
        "{sent}"
    );
    assert_eq!(sent["span"]["channel_id"], channel_id.as_str(), "{sent}");
}
