//! `UpdateChannel` moving a channel to another `api_base_url` needs every
//! credential again: the stored bot token or access token never goes to an
//! address the caller just chose.

use omnibus_proto::{ChannelKind, GetChannelRequest, UpdateChannelRequest};
use omnibus_tests::{Sandbox, telegram, whatsapp};
use reqwest::StatusCode;
use tonic::Code;

#[tokio::test]
async fn moving_a_channel_without_its_credentials_is_refused_and_sends_nothing() {
    let sandbox = Sandbox::start().await;
    let mut api = sandbox.channels().await;
    // The caller's own listeners, speaking each provider's protocol.
    let trap_telegram = omnibus_telegram_standin::StandIn::start().await;
    let graph = omnibus_whatsapp_standin::StandIn::start().await;
    let trap_graph = omnibus_whatsapp_standin::StandIn::start().await;

    let telegram = sandbox.telegram_channel("secret-token-1").await;
    let wa = whatsapp::channel(&sandbox, &graph).await;
    for (channel, trap_url) in [
        (&telegram, trap_telegram.base_url()),
        (&wa, trap_graph.base_url()),
    ] {
        let moved = api
            .update_channel(UpdateChannelRequest {
                id: channel.id.clone(),
                api_base_url: Some(trap_url.clone()),
                ..Default::default()
            })
            .await
            .expect_err("a move without credentials is refused");
        assert_eq!(moved.code(), Code::InvalidArgument, "{moved:?}");
        assert!(
            moved.message().contains("credentials again"),
            "{}",
            moved.message()
        );
        // Even with some credentials, all of the required ones are needed.
        let partial = api
            .update_channel(UpdateChannelRequest {
                id: channel.id.clone(),
                api_base_url: Some(trap_url),
                credentials: [("secret_token".to_owned(), "x".repeat(20))].into(),
                ..Default::default()
            })
            .await
            .expect_err("a move with part of the credentials is refused");
        assert_eq!(partial.code(), Code::InvalidArgument, "{partial:?}");
    }
    assert!(
        trap_telegram.requests().is_empty(),
        "the bot token went to the new address: {:?}",
        trap_telegram.requests()
    );
    assert!(
        trap_graph.requests().is_empty(),
        "the access token went to the new address: {:?}",
        trap_graph
            .requests()
            .iter()
            .map(|r| &r.path)
            .collect::<Vec<_>>()
    );
    let unchanged = api
        .get_channel(GetChannelRequest {
            id: telegram.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unchanged.kind(), ChannelKind::Telegram);

    // With every credential, the move goes through to the new address.
    let moved = api
        .update_channel(UpdateChannelRequest {
            id: telegram.id.clone(),
            api_base_url: Some(trap_telegram.base_url()),
            credentials: [
                (
                    "bot_token".to_owned(),
                    "7000000002:AAE-new_token".to_owned(),
                ),
                ("secret_token".to_owned(), "secret-token-2".to_owned()),
            ]
            .into(),
            ..Default::default()
        })
        .await;
    assert!(moved.is_ok(), "{moved:?}");
    let tokens: Vec<String> = trap_telegram
        .requests()
        .into_iter()
        .map(|r| r.token)
        .collect();
    assert!(
        tokens.iter().all(|t| t == "7000000002:AAE-new_token"),
        "only the new token goes to the new address: {tokens:?}"
    );
}

/// A leaked webhook secret is replaced with `UpdateChannel`; from the
/// moment the call returns, the old one is refused and the new one works,
/// every time (the ingress re-reads a channel while its copy of the
/// snapshots is behind one its own process published).
#[tokio::test]
async fn a_replaced_webhook_secret_is_refused_as_soon_as_the_update_returns() {
    let sandbox = Sandbox::start().await;
    let mut api = sandbox.channels().await;
    let client = reqwest::Client::new();
    let url = sandbox.http_url();
    let mut secret = "rotation-0".to_owned();
    let channel = sandbox.telegram_channel(&secret).await;
    for round in 1..=15 {
        let replaced = std::mem::replace(&mut secret, format!("rotation-{round}"));
        api.update_channel(UpdateChannelRequest {
            id: channel.id.clone(),
            credentials: [("secret_token".to_owned(), secret.clone())].into(),
            ..Default::default()
        })
        .await
        .expect("replace the secret");
        let update = telegram::text_update(round, 4_242, &format!("round {round}"));
        let stale = telegram::post_update(&client, &url, &channel.id, &replaced, &update).await;
        assert_eq!(
            stale,
            StatusCode::FORBIDDEN,
            "round {round}: the old secret"
        );
        let fresh = telegram::post_update(&client, &url, &channel.id, &secret, &update).await;
        assert_eq!(fresh, StatusCode::OK, "round {round}: the new secret");
    }
}
