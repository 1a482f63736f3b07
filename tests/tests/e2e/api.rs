//! The gRPC API's edges: validation errors, authentication, reflection.

use omnibus_proto::{
    ChannelKind, ChannelSettings, CreateChannelRequest, GetConversationRequest,
    ListConversationsRequest, SendMessageRequest, UpdateChannelRequest,
};
use omnibus_tests::{Sandbox, SandboxOptions, telegram};
use tonic::Code;

use crate::support::wait_for_conversations;

fn telegram_request(credentials: &[(&str, &str)]) -> CreateChannelRequest {
    CreateChannelRequest {
        kind: ChannelKind::Telegram as i32,
        credentials: credentials
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..Default::default()
    }
}

#[tokio::test]
async fn channel_creation_errors_say_what_to_fix() {
    let sandbox = Sandbox::start().await;
    let mut channels = sandbox.channels().await;
    let cases = [
        (CreateChannelRequest::default(), "kind is required"),
        (telegram_request(&[("secret_token", "abc")]), "bot_token"),
        (
            telegram_request(&[("bot_token", "1:a"), ("password", "x")]),
            "unknown credential",
        ),
        (
            telegram_request(&[("bot_token", "not a token"), ("secret_token", "abc")]),
            "does not look like",
        ),
        (
            telegram_request(&[("bot_token", "1:a")]),
            "secret_token is required",
        ),
        (
            telegram_request(&[("bot_token", "1:a"), ("secret_token", "has space")]),
            "secret_token must be",
        ),
    ];
    for (request, expected) in cases {
        let status = channels.create_channel(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(
            status.message().contains(expected),
            "{:?} should mention {expected:?}",
            status.message()
        );
    }
    let mut bad_settings = telegram_request(&[("bot_token", "1:a"), ("secret_token", "abc")]);
    bad_settings.settings = Some(ChannelSettings {
        closing_message: "x".repeat(251),
        ..Default::default()
    });
    let status = channels.create_channel(bad_settings).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    sandbox.telegram.only_token("7000000001:AAE-right");
    let status = channels
        .create_channel(telegram_request(&[
            ("bot_token", "7000000001:AAE-wrong"),
            ("secret_token", "abc"),
        ]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("bot token"),
        "{}",
        status.message()
    );
    assert!(
        !status.message().contains("AAE-wrong"),
        "credentials never appear in errors"
    );
    let listed = channels
        .list_channels(omnibus_proto::ListChannelsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.channels.is_empty(), "nothing stored");
}

#[tokio::test]
async fn credentials_are_never_returned_and_updates_take_effect_at_once() {
    let sandbox = Sandbox::start().await;
    let channel = sandbox.telegram_channel("first-secret").await;
    assert_eq!(channel.credential_keys, ["bot_token", "secret_token"]);
    let mut channels = sandbox.channels().await;
    let updated = channels
        .update_channel(UpdateChannelRequest {
            id: channel.id.clone(),
            credentials: [("secret_token".to_owned(), "second-secret".to_owned())].into(),
            name: Some("Support".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.name, "Support");
    let debug = format!("{updated:?}");
    assert!(!debug.contains("second-secret") && !debug.contains("AAE-test_token"));

    let client = reqwest::Client::new();
    let update = telegram::text_update(1, 100, "hi");
    let url = sandbox.http_url();
    // The new secret works the moment UpdateChannel returns (read-your-writes)...
    let new = telegram::post_update(&client, &url, &channel.id, "second-secret", &update).await;
    assert_eq!(new, 200);
    // ...and the old one is refused once the ingress has followed the change.
    omnibus_testkit::wait_until(
        "the old secret to be refused",
        crate::support::PATIENCE,
        || async {
            let old =
                telegram::post_update(&client, &url, &channel.id, "first-secret", &update).await;
            (old == 403).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn conversation_errors_are_specific() {
    let sandbox = Sandbox::start().await;
    let channel = sandbox.telegram_channel("secret").await;
    let mut api = sandbox.conversations().await;
    let missing = api
        .get_conversation(GetConversationRequest {
            id: "cv_nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let client = reqwest::Client::new();
    let update = telegram::text_update(1, 100, "hi");
    telegram::post_update(&client, &sandbox.http_url(), &channel.id, "secret", &update).await;
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    let empty = api
        .send_message(SendMessageRequest {
            conversation_id: conversation.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument);
    let too_long = api
        .send_message(SendMessageRequest {
            conversation_id: conversation.id.clone(),
            text: "x".repeat(4097),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(too_long.code(), Code::InvalidArgument);
    assert!(too_long.message().contains("4096"));
    let stray_reply = api
        .send_message(SendMessageRequest {
            conversation_id: conversation.id.clone(),
            text: "re".into(),
            reply_to_message_id: "msg_other".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(stray_reply.code(), Code::InvalidArgument);
    let page = api
        .list_conversations(ListConversationsRequest {
            page_size: 100_000,
            query: "hi".into(),
            ..Default::default()
        })
        .await
        .expect("an oversized page is clamped, not refused")
        .into_inner();
    assert_eq!(page.conversations.len(), 1, "found by message text");
}

#[tokio::test]
async fn the_api_token_is_enforced() {
    let sandbox = Sandbox::start_with(SandboxOptions {
        api_token: Some("t0ken-long-enough-for-the-check".into()),
        ..Default::default()
    })
    .await;
    let mut channels = sandbox.channels().await;
    let status = channels
        .list_channels(omnibus_proto::ListChannelsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let mut request = tonic::Request::new(omnibus_proto::ListChannelsRequest::default());
    request
        .metadata_mut()
        .insert("authorization", "Bearer wrong".parse().unwrap());
    assert_eq!(
        channels.list_channels(request).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let mut request = tonic::Request::new(omnibus_proto::ListChannelsRequest::default());
    request.metadata_mut().insert(
        "authorization",
        "Bearer t0ken-long-enough-for-the-check".parse().unwrap(),
    );
    assert!(channels.list_channels(request).await.is_ok());
}

#[tokio::test]
async fn reflection_lists_the_services() {
    use tokio_stream::StreamExt;
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let sandbox = Sandbox::start().await;
    let channel = tonic::transport::Channel::from_shared(sandbox.grpc_url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.next().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "omnibus.v1.ChannelService",
        "omnibus.v1.ConversationService",
        "omnibus.v1.ContactService",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
}
