//! `GET /media/<message_id>/<n>` through `serve all`: files customers sent,
//! fetched from the provider stand-ins the providers' real way (Telegram
//! `getFile` and its file path, Graph's media object and its URL), cached,
//! capped, guarded by the API token (or the console's session) and by the
//! outbound allow-list.

use omnibus_proto::{ListMessagesRequest, Message};
use omnibus_server::config::{ENV_MEDIA_MAX_BYTES, ENV_OUTBOUND_ALLOW};
use omnibus_testkit::wait_until;
use omnibus_tests::telegram::post_update;
use omnibus_tests::{Sandbox, SandboxOptions};
use omnibus_whatsapp_standin::StandIn as Graph;
use omnibus_whatsapp_standin::webhook::{Customer, PHONE_NUMBER_ID, messages, sample};

use crate::support::{PATIENCE, all_messages, wait_for_conversations};

const SECRET: &str = "media-secret";
const TOKEN: &str = "media-api-token-0123456789";
const BOT_TOKEN: &str = "AAE-test_token";

/// A JPEG-looking file of `size` bytes.
fn jpeg(size: usize) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend((0..size.saturating_sub(4)).map(|i| (i % 251) as u8));
    bytes
}

/// Posts a Telegram photo; returns the stored message (listed with `token`).
async fn telegram_photo(sandbox: &Sandbox, token: Option<&str>) -> Message {
    let channel = sandbox.telegram_channel(SECRET).await;
    let update = omnictl::simulate::telegram_update_json(&omnictl::simulate::TelegramMessageSpec {
        update_id: 9001,
        message_id: 9001,
        chat_id: 555_001,
        text: "the damaged box".into(),
        date: omnibus_core::now_ms() / 1000,
        photo: true,
        ..Default::default()
    });
    let client = reqwest::Client::new();
    let status = post_update(&client, &sandbox.http_url(), &channel.id, SECRET, &update).await;
    assert_eq!(status, 200);
    inbound_message(sandbox, token).await
}

/// The one inbound message of the sandbox, once stored.
async fn inbound_message(sandbox: &Sandbox, token: Option<&str>) -> Message {
    wait_until("the inbound message", PATIENCE, || async {
        let mut api = sandbox.conversations().await;
        let list = omnibus_proto::ListConversationsRequest::default();
        let conversations = api.list_conversations(authed(list, token)).await.ok()?;
        let conversation = conversations.into_inner().conversations.pop()?;
        let request = ListMessagesRequest {
            conversation_id: conversation.id,
            ..Default::default()
        };
        let messages = api.list_messages(authed(request, token)).await.ok()?;
        messages.into_inner().messages.pop()
    })
    .await
}

fn authed<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(token) = token {
        let bearer = format!("Bearer {token}").parse().expect("header-safe");
        request.metadata_mut().insert("authorization", bearer);
    }
    request
}

async fn get(url: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("GET /media")
}

#[tokio::test]
async fn a_telegram_photo_is_served_with_its_type_from_a_cache() {
    let sandbox = Sandbox::start().await;
    let message = telegram_photo(&sandbox, None).await;
    let attachment = &message.attachments[0];
    assert_eq!(attachment.url, format!("/media/{}/0", message.id));
    let bytes = jpeg(48_211);
    sandbox
        .telegram
        .put_file(&attachment.provider_file_id, bytes.clone(), "image/jpeg");
    let url = format!("{}{}", sandbox.http_url(), attachment.url);
    for _ in 0..3 {
        let response = get(&url, None).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "image/jpeg");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert_eq!(response.bytes().await.unwrap().as_ref(), bytes.as_slice());
    }
    let telegram = &sandbox.telegram;
    assert_eq!(
        telegram.downloads(&attachment.provider_file_id),
        1,
        "cached"
    );
    let get_file = telegram.requests();
    let get_file: Vec<_> = get_file.iter().filter(|r| r.method == "getFile").collect();
    assert_eq!(get_file.len(), 1);
    assert_eq!(
        get_file[0].body["file_id"],
        attachment.provider_file_id.as_str()
    );

    let missing = get(
        &format!("{}/media/{}/1", sandbox.http_url(), message.id),
        None,
    )
    .await;
    assert_eq!(missing.status(), 404);
    let unknown = get(&format!("{}/media/msg_nope/0", sandbox.http_url()), None).await;
    assert_eq!(unknown.status(), 404);
    assert!(unknown.text().await.unwrap().contains("no message"));
}

#[tokio::test]
async fn media_needs_the_api_token_or_a_console_session() {
    let sandbox = Sandbox::start_with(SandboxOptions {
        api_token: Some(TOKEN.into()),
        ..Default::default()
    })
    .await;
    let message = telegram_photo(&sandbox, Some(TOKEN)).await;
    let attachment = &message.attachments[0];
    sandbox
        .telegram
        .put_file(&attachment.provider_file_id, jpeg(100), "image/jpeg");
    let url = format!("{}{}", sandbox.http_url(), attachment.url);
    let anonymous = get(&url, None).await;
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.text().await.unwrap().contains("API token"));
    assert_eq!(
        get(&url, Some("wrong-token-of-some-length")).await.status(),
        401
    );
    assert_eq!(sandbox.telegram.downloads(&attachment.provider_file_id), 0);
    assert_eq!(get(&url, Some(TOKEN)).await.status(), 200);

    let login = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/console/login", sandbox.http_url()))
        .form(&[("operator_id", "alice"), ("token", TOKEN)])
        .send()
        .await
        .expect("sign in");
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let with_session = reqwest::Client::new()
        .get(&url)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(with_session.status(), 200);
}

#[tokio::test]
async fn a_file_above_the_cap_is_refused_with_413() {
    let sandbox = Sandbox::start_with(SandboxOptions {
        env: vec![(ENV_MEDIA_MAX_BYTES, "1000".into())],
        ..Default::default()
    })
    .await;
    let message = telegram_photo(&sandbox, None).await;
    let attachment = &message.attachments[0];
    sandbox
        .telegram
        .put_file(&attachment.provider_file_id, jpeg(2000), "image/jpeg");
    let response = get(&format!("{}{}", sandbox.http_url(), attachment.url), None).await;
    assert_eq!(response.status(), 413);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("OMNIBUS_MEDIA_MAX_BYTES")
    );
}

#[tokio::test]
async fn a_provider_refused_by_the_allow_list_is_a_clear_502_without_the_token() {
    let mut sandbox = Sandbox::start().await;
    let message = telegram_photo(&sandbox, None).await;
    let attachment = message.attachments[0].clone();
    sandbox
        .telegram
        .put_file(&attachment.provider_file_id, jpeg(100), "image/jpeg");
    sandbox.stop_server().await;
    sandbox.set_env(ENV_OUTBOUND_ALLOW, "10.9.8.7/32");
    sandbox.start_server().await;
    let response = get(&format!("{}{}", sandbox.http_url(), attachment.url), None).await;
    assert_eq!(response.status(), 502);
    let text = response.text().await.unwrap();
    assert!(text.contains("not allowed"), "{text}");
    assert!(text.contains("OMNIBUS_OUTBOUND_ALLOW"), "{text}");
    assert!(!text.contains(BOT_TOKEN), "{text}");
    assert_eq!(sandbox.telegram.downloads(&attachment.provider_file_id), 0);
}

#[tokio::test]
async fn a_whatsapp_image_comes_through_the_graph_media_url_with_the_token() {
    let sandbox = Sandbox::start().await;
    let graph = Graph::start().await;
    let channel = omnibus_tests::whatsapp::channel(&sandbox, &graph).await;
    let customer = Customer::default();
    let now = omnibus_core::now_ms() / 1000;
    let image = sample("image", &customer.wa_id, "wamid.media1", now).unwrap();
    let location = sample("location", &customer.wa_id, "wamid.media2", now).unwrap();
    let payload = messages(PHONE_NUMBER_ID, &customer, vec![image]);
    let client = reqwest::Client::new();
    let http = sandbox.http_url();
    let status = omnibus_tests::whatsapp::post_signed(&client, &http, &channel.id, &payload).await;
    assert_eq!(status, 200);
    let message = inbound_message(&sandbox, None).await;
    let media_id = message.attachments[0].provider_file_id.clone();
    let bytes = jpeg(5_000);
    graph.put_media(&media_id, bytes.clone(), "image/jpeg");
    let url = format!("{http}{}", message.attachments[0].url);
    let response = get(&url, None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(response.bytes().await.unwrap().as_ref(), bytes.as_slice());
    assert_eq!(graph.media_downloads(&media_id), 1);
    let download = graph
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/media-cdn/"))
        .expect("the download");
    let bearer = format!("Bearer {}", omnibus_tests::whatsapp::ACCESS_TOKEN);
    assert_eq!(download.authorization.as_deref(), Some(bearer.as_str()));

    let payload = messages(PHONE_NUMBER_ID, &customer, vec![location]);
    let status = omnibus_tests::whatsapp::post_signed(&client, &http, &channel.id, &payload).await;
    assert_eq!(status, 200);
    let conversation = &wait_for_conversations(&sandbox, 1).await[0];
    let located = wait_until("the location", PATIENCE, || async {
        all_messages(&sandbox, &conversation.id)
            .await
            .into_iter()
            .find(|m| m.attachments.iter().any(|a| a.location.is_some()))
    })
    .await;
    let response = get(&format!("{http}/media/{}/0", located.id), None).await;
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("no file"));
}

#[tokio::test]
async fn media_works_with_conversations_and_the_ingress_in_separate_processes() {
    use omnibus_proto::channel_service_client::ChannelServiceClient;
    use omnibus_proto::conversation_service_client::ConversationServiceClient;
    use omnibus_proto::{ChannelKind, CreateChannelRequest, ListConversationsRequest};
    use omnibus_tests::child::ChildServer;
    const BINARY: &str = env!("CARGO_BIN_EXE_omnibus-under-test");

    let sandbox = Sandbox::start_with(SandboxOptions {
        no_server: true,
        ..Default::default()
    })
    .await;
    let env = sandbox.env();
    let conversations = ChildServer::start_service(BINARY, "conversations", &env).await;
    let ingress = ChildServer::start_service(BINARY, "ingress-telegram", &env).await;
    let grpc = conversations.grpc_url();
    let request = CreateChannelRequest {
        kind: ChannelKind::Telegram as i32,
        credentials: [
            ("bot_token".to_owned(), format!("7000000001:{BOT_TOKEN}")),
            ("secret_token".to_owned(), SECRET.to_owned()),
        ]
        .into(),
        ..Default::default()
    };
    let channel = ChannelServiceClient::connect(grpc.clone())
        .await
        .unwrap()
        .create_channel(request)
        .await
        .expect("create a channel")
        .into_inner();
    let update = omnictl::simulate::telegram_update_json(&omnictl::simulate::TelegramMessageSpec {
        update_id: 77,
        message_id: 77,
        chat_id: 555_077,
        date: omnibus_core::now_ms() / 1000,
        photo: true,
        ..Default::default()
    });
    let client = reqwest::Client::new();
    let status = post_update(&client, &ingress.http_url(), &channel.id, SECRET, &update).await;
    assert_eq!(status, 200);
    let api = ConversationServiceClient::connect(grpc).await.unwrap();
    let message = wait_until("the photo", PATIENCE, || {
        let mut api = api.clone();
        async move {
            let list = api.list_conversations(ListConversationsRequest::default());
            let conversation = list.await.ok()?.into_inner().conversations.pop()?;
            let request = ListMessagesRequest {
                conversation_id: conversation.id,
                ..Default::default()
            };
            api.list_messages(request)
                .await
                .ok()?
                .into_inner()
                .messages
                .pop()
        }
    })
    .await;
    let attachment = &message.attachments[0];
    let bytes = jpeg(3_000);
    sandbox
        .telegram
        .put_file(&attachment.provider_file_id, bytes.clone(), "image/jpeg");
    // `/media` is the conversations service's; the file comes from the
    // ingress process through NATS and the object store.
    let response = get(
        &format!("{}{}", conversations.http_url(), attachment.url),
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().as_ref(), bytes.as_slice());
    assert_eq!(sandbox.telegram.downloads(&attachment.provider_file_id), 1);
}

/// Runs `omnictl --json <argv…>` in-process; returns its output or error.
async fn omnictl(argv: &[&str]) -> Result<serde_json::Value, String> {
    use clap::Parser as _;
    let mut full = vec!["omnictl", "--json"];
    full.extend_from_slice(argv);
    let cli = omnictl::Cli::try_parse_from(full).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    omnictl::run_with(cli, &mut out)
        .await
        .map_err(|e| omnictl::describe(&e))?;
    serde_json::from_slice(&out).map_err(|e| e.to_string())
}

#[tokio::test]
async fn omnictl_downloads_an_attachment_with_the_token() {
    let sandbox = Sandbox::start_with(SandboxOptions {
        api_token: Some(TOKEN.into()),
        ..Default::default()
    })
    .await;
    let message = telegram_photo(&sandbox, Some(TOKEN)).await;
    let bytes = jpeg(4_321);
    sandbox.telegram.put_file(
        &message.attachments[0].provider_file_id,
        bytes.clone(),
        "image/jpeg",
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("photo.jpg");
    let (http, file_arg) = (sandbox.http_url(), file.display().to_string());
    let argv = [
        "messages",
        "media",
        &message.id,
        "0",
        "-o",
        &file_arg,
        "--http",
        &http,
    ];
    let refused = omnictl(&argv).await.unwrap_err();
    assert!(refused.contains("401"), "{refused}");
    let mut with_token = vec!["--token", TOKEN];
    with_token.extend_from_slice(&argv);
    let saved = omnictl(&with_token).await.expect("omnictl messages media");
    assert_eq!(saved["bytes"], 4_321);
    assert_eq!(saved["content_type"], "image/jpeg");
    assert_eq!(std::fs::read(&file).unwrap(), bytes);
}
