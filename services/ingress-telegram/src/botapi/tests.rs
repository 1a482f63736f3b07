//! The Bot API calls and the kit's send path against the Telegram stand-in.

use std::time::Duration;

use omnibus_ingress::retry::send_plan;
use omnibus_ingress::{Call, Provider, ProviderError, RetryPolicy};
use omnibus_proto::message_failed::Kind;
use omnibus_proto::{Attachment, AttachmentKind, ChannelState};
use omnibus_telegram_standin::{Scripted, StandIn};
use serde_json::json;

use super::*;
use crate::compose::{OutboundMessage, plan};

const TOKEN: &str = "7000000001:AAE-Secret_token";

fn text(text: &str) -> OutboundMessage {
    OutboundMessage {
        chat_id: "100200300".into(),
        text: text.into(),
        ..OutboundMessage::default()
    }
}

fn attachment(kind: AttachmentKind, url: &str) -> Attachment {
    Attachment {
        kind: kind.into(),
        url: url.into(),
        ..Attachment::default()
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        base_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        ..RetryPolicy::default()
    }
}

fn channel() -> ChannelState {
    ChannelState {
        id: "ch_1".into(),
        credentials: [("bot_token".to_owned(), TOKEN.to_owned())].into(),
        ..ChannelState::default()
    }
}

fn provider(base_url: &str) -> Provider {
    Provider::for_channel::<Telegram>(reqwest::Client::new(), base_url, &channel())
}

/// The kit's send path: the plan, each request retried on its own.
async fn send(
    base_url: &str,
    msg: &OutboundMessage,
) -> Result<(String, u32), (ProviderError, u32)> {
    let (channel, provider) = (channel(), provider(base_url));
    let requests = plan(msg).map_err(|e| (e.into(), 0))?;
    let call = Call {
        provider: &provider,
        channel: &channel,
        message_id: "ms_1",
        part: 0,
    };
    send_plan(&Telegram, &call, &requests, &fast_retries()).await
}

#[tokio::test]
async fn get_me_and_set_webhook_speak_the_bot_api() {
    let telegram = StandIn::start().await;
    let provider = provider(&telegram.base_url());
    let bot = get_me(&provider, TOKEN).await.expect("getMe");
    assert_eq!(
        bot,
        BotUser {
            id: 7000000001,
            first_name: "SupportBot".into(),
            username: "acme_support_bot".into()
        }
    );
    let url = "https://omnibus.test/webhooks/telegram/ch_1";
    set_webhook(&provider, TOKEN, url, "s3cr3t")
        .await
        .expect("setWebhook");
    let webhook = telegram.webhook(TOKEN).expect("webhook set");
    assert_eq!(webhook.url, url);
    assert_eq!(webhook.secret_token.as_deref(), Some("s3cr3t"));
    assert_eq!(webhook.allowed_updates, ALLOWED_UPDATES);
}

#[tokio::test]
async fn send_returns_telegrams_message_id() {
    let telegram = StandIn::start().await;
    let (id, attempts) = send(&telegram.base_url(), &text("Hello!"))
        .await
        .expect("sent");
    let recorded = telegram.sent();
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        recorded[0].body,
        json!({"chat_id": 100200300, "text": "Hello!"})
    );
    assert!(id.parse::<i64>().expect("numeric") > 0);
    assert_eq!(attempts, 1);
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_then_sent() {
    let telegram = StandIn::start().await;
    telegram.script("sendMessage", Scripted::TooManyRequests { retry_after: 1 });
    let (_, attempts) = send(&telegram.base_url(), &text("hi"))
        .await
        .expect("sent after the wait");
    assert_eq!(attempts, 2);
    let requests = telegram.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[1].at.duration_since(requests[0].at) >= Duration::from_secs(1));
}

#[tokio::test]
async fn server_errors_are_retried() {
    let telegram = StandIn::start().await;
    telegram.script("sendMessage", Scripted::ServerError);
    telegram.script("sendMessage", Scripted::ServerError);
    let (_, attempts) = send(&telegram.base_url(), &text("hi"))
        .await
        .expect("sent on the third try");
    assert_eq!(attempts, 3);
    assert_eq!(telegram.sent().len(), 1);
}

#[tokio::test]
async fn retries_give_up_after_max_attempts() {
    let telegram = StandIn::start().await;
    for _ in 0..5 {
        telegram.script("sendMessage", Scripted::ServerError);
    }
    let (error, attempts) = send(&telegram.base_url(), &text("hi"))
        .await
        .expect_err("gave up");
    assert_eq!(attempts, 5);
    assert!(error.is_transient());
    assert_eq!(
        error.reason(),
        "Telegram is unavailable right now (Internal Server Error)"
    );
    assert!(telegram.sent().is_empty());
}

#[tokio::test]
async fn a_blocked_bot_fails_at_once() {
    let telegram = StandIn::start().await;
    telegram.script("sendMessage", Scripted::Blocked);
    let (error, attempts) = send(&telegram.base_url(), &text("hi"))
        .await
        .expect_err("blocked");
    assert_eq!(attempts, 1);
    assert_eq!(
        error,
        ProviderError::Fail {
            kind: Kind::RecipientBlocked,
            reason: "the customer blocked the bot (Forbidden: bot was blocked by the user)".into(),
            code: Some("403".into()),
        }
    );
    assert_eq!(telegram.requests().len(), 1);
}

#[tokio::test]
async fn a_bad_request_fails_at_once_with_the_description() {
    let telegram = StandIn::start().await;
    telegram.script(
        "sendMessage",
        Scripted::BadRequest("Bad Request: chat not found".into()),
    );
    let (error, attempts) = send(&telegram.base_url(), &text("hi"))
        .await
        .expect_err("rejected");
    assert_eq!(attempts, 1);
    assert_eq!(
        error,
        ProviderError::Fail {
            kind: Kind::Rejected,
            reason: "Telegram refused the message: Bad Request: chat not found".into(),
            code: Some("400".into()),
        }
    );
}

#[tokio::test]
async fn a_revoked_token_is_unauthorized() {
    let telegram = StandIn::start().await;
    telegram.only_token("1:other");
    let error = get_me(&provider(&telegram.base_url()), TOKEN)
        .await
        .expect_err("refused");
    assert!(
        matches!(error, ProviderError::Unauthorized { .. }),
        "{error:?}"
    );
    assert!(error.reason().contains("check the channel credentials"));
}

#[tokio::test]
async fn parts_already_sent_are_not_repeated_on_retry() {
    let telegram = StandIn::start().await;
    telegram.script("sendPhoto", Scripted::ServerError);
    let msg = OutboundMessage {
        attachments: vec![
            attachment(AttachmentKind::Document, "https://cdn.test/a.pdf"),
            attachment(AttachmentKind::Image, "https://cdn.test/b.png"),
        ],
        ..text("files")
    };
    let (id, attempts) = send(&telegram.base_url(), &msg).await.expect("sent");
    assert_eq!(attempts, 2);
    let methods: Vec<String> = telegram.sent().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["sendDocument", "sendPhoto"]);
    assert_eq!(telegram.requests().len(), 3);
    assert_eq!(id, "1", "the first part's id");
}

#[tokio::test]
async fn connection_failures_are_transient_and_never_show_the_token() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let base_url = format!("http://{addr}");
    let (error, _) = send(&base_url, &text("hi"))
        .await
        .expect_err("nobody listens");
    assert!(error.is_transient(), "{error:?}");
    for text in [
        error.to_string(),
        format!("{error:?}"),
        format!("{:?}", provider(&base_url)),
    ] {
        assert!(!text.contains(TOKEN) && !text.contains("Secret"), "{text}");
    }
}

#[tokio::test]
async fn timeouts_are_transient_and_never_show_the_token() {
    // Accepted by the kernel backlog, never answered.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base_url = format!("http://{}", silent.local_addr().expect("addr"));
    let provider = provider(&base_url).with_timeout(Duration::from_millis(100));
    let error = get_me(&provider, TOKEN).await.expect_err("timed out");
    assert!(error.is_transient(), "{error:?}");
    assert!(error.reason().contains("timed out"), "{error}");
    assert!(!error.reason().contains(TOKEN));
}
