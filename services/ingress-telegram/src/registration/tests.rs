//! Bringing a registration up to date, against the Telegram stand-in.

use omnibus_telegram_standin::{Scripted, StandIn, Webhook};

use super::*;

const TOKEN: &str = "7000000001:AAE-Secret_token";
const SECRET: &str = "s3cr3t-Value_42";
const URL: &str = "https://support.example.com/omnibus/webhooks/telegram/ch_1";

fn channel() -> ChannelState {
    ChannelState {
        id: "ch_1".into(),
        credentials: [
            ("bot_token".to_owned(), TOKEN.to_owned()),
            ("secret_token".to_owned(), SECRET.to_owned()),
        ]
        .into(),
        ..ChannelState::default()
    }
}

fn provider(telegram: &StandIn) -> Provider {
    Provider::for_channel::<Telegram>(reqwest::Client::new(), &telegram.base_url(), &channel())
}

fn registered(url: &str, kinds: &[&str], max_connections: Option<u32>) -> Webhook {
    Webhook {
        url: url.to_owned(),
        secret_token: Some(SECRET.to_owned()),
        allowed_updates: kinds.iter().map(|k| (*k).to_owned()).collect(),
        max_connections,
    }
}

#[tokio::test]
async fn an_older_list_is_widened_keeping_url_secret_and_connections() {
    let telegram = StandIn::start().await;
    let old = ["message", "edited_message", "callback_query"];
    telegram.register_webhook(TOKEN, registered(URL, &old, Some(10)));

    let outcome = refresh(&provider(&telegram), &channel()).await;
    assert_eq!(outcome, Ok(Outcome::Updated));
    let webhook = telegram.webhook(TOKEN).expect("webhook");
    assert_eq!(webhook.url, URL);
    assert_eq!(webhook.secret_token.as_deref(), Some(SECRET));
    assert_eq!(webhook.allowed_updates, ALLOWED_UPDATES);
    assert_eq!(webhook.max_connections, Some(10));

    // Once current, a second look only reads.
    let outcome = refresh(&provider(&telegram), &channel()).await;
    assert_eq!(outcome, Ok(Outcome::Current));
    assert_eq!(telegram.calls("setWebhook").len(), 1);
}

#[tokio::test]
async fn the_default_list_lacks_reactions_and_is_widened() {
    let telegram = StandIn::start().await;
    telegram.register_webhook(TOKEN, registered(URL, &[], None));
    let outcome = refresh(&provider(&telegram), &channel()).await;
    assert_eq!(outcome, Ok(Outcome::Updated));
    let webhook = telegram.webhook(TOKEN).expect("webhook");
    assert_eq!(webhook.allowed_updates, ALLOWED_UPDATES);
    assert_eq!(webhook.max_connections, Some(40));
}

#[tokio::test]
async fn registrations_that_are_not_this_channels_are_left_alone() {
    let telegram = StandIn::start().await;
    // No webhook at all (the bot polls, or nothing is registered).
    assert_eq!(
        refresh(&provider(&telegram), &channel()).await,
        Ok(Outcome::Skipped)
    );
    // Another channel's or another system's URL.
    for url in [
        "https://support.example.com/webhooks/telegram/ch_2",
        "https://elsewhere.example.com/bot/hook",
    ] {
        telegram.register_webhook(TOKEN, registered(url, &["message"], None));
        assert_eq!(
            refresh(&provider(&telegram), &channel()).await,
            Ok(Outcome::Skipped)
        );
        assert_eq!(telegram.webhook(TOKEN).expect("webhook").url, url);
    }
    // Without a secret to register, nothing is changed either.
    telegram.register_webhook(TOKEN, registered(URL, &["message"], None));
    let mut no_secret = channel();
    no_secret.credentials.remove("secret_token");
    assert_eq!(
        refresh(&provider(&telegram), &no_secret).await,
        Ok(Outcome::Skipped)
    );
    assert_eq!(telegram.calls("setWebhook").len(), 0);
}

#[tokio::test]
async fn a_failed_look_is_an_error_to_retry_or_report() {
    let telegram = StandIn::start().await;
    telegram.script("getWebhookInfo", Scripted::ServerError);
    let err = refresh(&provider(&telegram), &channel())
        .await
        .expect_err("telegram is down");
    assert!(err.is_transient(), "{err:?}");
    assert!(!err.reason().contains(TOKEN), "the token never shows");
}

#[test]
fn the_registered_url_must_end_in_this_channels_path() {
    assert!(points_at(URL, "ch_1"));
    assert!(points_at(&format!("{URL}?x=1"), "ch_1"));
    assert!(points_at(&format!("{URL}/"), "ch_1"));
    assert!(!points_at(URL, "ch_12"));
    assert!(!points_at("https://x/webhooks/telegram/ch_12", "ch_1"));
    assert!(!points_at("", "ch_1"));
}
