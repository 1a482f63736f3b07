//! The WhatsApp webhook: handshake, signatures, bad input, duplicates and
//! several numbers. Every refusal must leave the stream untouched.

use omnibus_tests::{Sandbox, whatsapp};
use omnibus_whatsapp_standin::webhook::{self as meta, Customer, PHONE_NUMBER_ID, sign};
use omnibus_whatsapp_standin::{StandIn, VERIFIED_NAME};
use serde_json::json;

use super::{WA_ID, now_s};
use crate::support::{PATIENCE, all_conversations, all_messages, wait_for_conversations};

#[tokio::test]
async fn whatsapp_handshake_echoes_the_challenge_only_for_the_verify_token() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let channel = whatsapp::channel(&sandbox, &graph).await;
    assert_eq!(channel.name, VERIFIED_NAME, "the number's verified name");
    assert_eq!(
        channel.webhook_path,
        format!("/webhooks/whatsapp/{}", channel.id)
    );
    let client = reqwest::Client::new();
    let url = sandbox.http_url();

    let (status, body) = whatsapp::handshake(
        &client,
        &url,
        &channel.id,
        whatsapp::VERIFY_TOKEN,
        "1158201444",
    )
    .await;
    assert_eq!((status.as_u16(), body.as_str()), (200, "1158201444"));
    let (status, _) = whatsapp::handshake(&client, &url, &channel.id, "wrong", "1").await;
    assert_eq!(status, 403);
    let (status, _) =
        whatsapp::handshake(&client, &url, "ch_nope", whatsapp::VERIFY_TOKEN, "1").await;
    assert_eq!(status, 404);
    let no_mode = format!(
        "{url}/webhooks/whatsapp/{}?hub.verify_token={}&hub.challenge=1",
        channel.id,
        whatsapp::VERIFY_TOKEN
    );
    assert_eq!(client.get(no_mode).send().await.unwrap().status(), 403);
}

#[tokio::test]
async fn whatsapp_unsigned_or_badly_signed_webhooks_store_nothing() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let channel = whatsapp::channel(&sandbox, &graph).await;
    let stored_before = sandbox.stream_messages().await;
    let client = reqwest::Client::new();
    let url = sandbox.http_url();
    let payload = meta::messages(
        PHONE_NUMBER_ID,
        &Customer::default(),
        vec![meta::text(WA_ID, "wamid.SPOOF", now_s(), "spoofed")],
    )
    .to_string();
    let post = |signature: Option<String>, body: String| {
        let client = client.clone();
        let (url, id) = (url.clone(), channel.id.clone());
        async move { whatsapp::post(&client, &url, &id, signature.as_deref(), body).await }
    };

    assert_eq!(post(None, payload.clone()).await, 401, "missing signature");
    let wrong = sign("another-app-secret", payload.as_bytes());
    assert_eq!(
        post(Some(wrong), payload.clone()).await,
        401,
        "wrong secret"
    );
    let other_body = sign(whatsapp::APP_SECRET, b"{}");
    assert_eq!(
        post(Some(other_body), payload.clone()).await,
        401,
        "signature of another body"
    );
    let not_json = "{not json".to_owned();
    let signed = sign(whatsapp::APP_SECRET, not_json.as_bytes());
    assert_eq!(post(Some(signed), not_json).await, 400, "malformed");
    let instagram = json!({"object": "instagram", "entry": []}).to_string();
    let signed = sign(whatsapp::APP_SECRET, instagram.as_bytes());
    assert_eq!(
        post(Some(signed), instagram).await,
        400,
        "not a whatsapp webhook"
    );
    let signed = sign(whatsapp::APP_SECRET, payload.as_bytes());
    let unknown = whatsapp::post(&client, &url, "ch_nope", Some(&signed), payload.clone()).await;
    assert_eq!(unknown, 404, "unknown channel");
    let huge =
        json!({"object": "whatsapp_business_account", "entry": [], "pad": "x".repeat(1 << 20)})
            .to_string();
    let signed = sign(whatsapp::APP_SECRET, huge.as_bytes());
    assert_eq!(post(Some(signed), huge).await, 413, "over 1 MiB");

    assert_eq!(
        sandbox.stream_messages().await,
        stored_before,
        "nothing stored"
    );
    assert!(all_conversations(&sandbox).await.is_empty());
}

#[tokio::test]
async fn whatsapp_the_same_webhook_three_times_is_one_message() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let channel = whatsapp::channel(&sandbox, &graph).await;
    let client = reqwest::Client::new();
    let url = sandbox.http_url();
    let hello = meta::messages(
        PHONE_NUMBER_ID,
        &Customer::default(),
        vec![meta::text(WA_ID, "wamid.HELLO", now_s(), "Hello")],
    );
    for _ in 0..3 {
        let status = whatsapp::post_signed(&client, &url, &channel.id, &hello).await;
        assert_eq!(status, 200, "repeats are acknowledged");
    }
    // A later, different message proves the projection got past the repeats.
    let later = meta::messages(
        PHONE_NUMBER_ID,
        &Customer::default(),
        vec![meta::text(WA_ID, "wamid.LATER", now_s(), "Anyone there?")],
    );
    assert_eq!(
        whatsapp::post_signed(&client, &url, &channel.id, &later).await,
        200
    );
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    assert_eq!(conversation.title, "Sheena Nelson");
    let messages = omnibus_testkit::wait_until("both messages", PATIENCE, || async {
        let messages = all_messages(&sandbox, &conversation.id).await;
        (messages.len() >= 2).then_some(messages)
    })
    .await;
    let texts: Vec<&str> = messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["Hello", "Anyone there?"]);
}

#[tokio::test]
async fn whatsapp_numbers_are_separate_channels_and_ignore_each_others_changes() {
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let first = whatsapp::channel_for(&sandbox, &graph, PHONE_NUMBER_ID).await;
    let second = whatsapp::channel_for(&sandbox, &graph, "109876543210987").await;
    let client = reqwest::Client::new();
    let url = sandbox.http_url();
    let customer = Customer::default();
    let to_first = meta::messages(
        PHONE_NUMBER_ID,
        &customer,
        vec![meta::text(
            WA_ID,
            "wamid.TO1",
            now_s(),
            "to the first number",
        )],
    );
    let to_second = meta::messages(
        "109876543210987",
        &customer,
        vec![meta::text(
            WA_ID,
            "wamid.TO2",
            now_s(),
            "to the second number",
        )],
    );
    // One app, one webhook carrying both numbers' changes: each channel
    // takes its own and answers 200 for the rest.
    let both = meta::batch(&[to_first.clone(), to_second.clone()]);
    assert_eq!(
        whatsapp::post_signed(&client, &url, &first.id, &both).await,
        200
    );
    assert_eq!(
        whatsapp::post_signed(&client, &url, &second.id, &to_second).await,
        200
    );

    let conversations = wait_for_conversations(&sandbox, 2).await;
    for conversation in conversations {
        let messages = all_messages(&sandbox, &conversation.id).await;
        assert_eq!(messages.len(), 1, "{messages:?}");
        let expected = if conversation.channel_id == first.id {
            "to the first number"
        } else {
            "to the second number"
        };
        assert_eq!(messages[0].text, expected);
    }
}

#[tokio::test]
async fn whatsapp_omnictl_simulate_posts_a_signed_message() {
    use omnictl::simulate::{post_whatsapp_webhook, whatsapp_text_webhook};
    let sandbox = Sandbox::start().await;
    let graph = StandIn::start().await;
    let channel = whatsapp::channel(&sandbox, &graph).await;
    let args = omnictl::cli::SimulateWhatsappArgs {
        http: sandbox.http_url(),
        channel_id: channel.id.clone(),
        app_secret: whatsapp::APP_SECRET.to_owned(),
        phone_number_id: PHONE_NUMBER_ID.to_owned(),
        wa_id: WA_ID.to_owned(),
        name: "Sheena Nelson".to_owned(),
        text: "My order did not arrive".to_owned(),
        wamid: None,
        sent_ago: None,
    };
    let body = whatsapp_text_webhook(&args, std::time::SystemTime::now()).to_string();
    let spoofed = post_whatsapp_webhook(&args.http, &channel.id, "wrong", &body)
        .await
        .unwrap();
    assert_eq!(spoofed.status, 401);
    let answer = post_whatsapp_webhook(&args.http, &channel.id, whatsapp::APP_SECRET, &body)
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    let conversation = wait_for_conversations(&sandbox, 1).await.remove(0);
    let messages = all_messages(&sandbox, &conversation.id).await;
    assert_eq!(messages[0].text, "My order did not arrive");
}
