//! `omnictl simulate instagram` and `omnictl simulate wazzup`: a customer's
//! message as Meta posts it to an Instagram webhook (signed with the app
//! secret; `--comment` for a comment under a post), and as Wazzup posts it
//! to the account's webhook URL (with `Authorization: Bearer <webhook_token>`
//! when the channel has one).

use std::time::{SystemTime, UNIX_EPOCH};

use omnibus_instagram_standin::webhook as ig;
use omnibus_wazzup_standin::webhook as wz;
use serde_json::{Value, json};

use super::{HTTP_TIMEOUT, WebhookResponse};
use crate::cli::{SimulateInstagramArgs, SimulateWazzupArgs};
use crate::client::normalize_addr;
use crate::error::{ConnectError, HttpStatusError};
use crate::output::Output;

pub(super) fn now_ms(now: SystemTime) -> i64 {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// An Instagram Direct message (or, with `--comment`, a comment) from now.
pub fn instagram_webhook(args: &SimulateInstagramArgs, now: SystemTime) -> Value {
    let ms = now_ms(now);
    let id = format!("sim{ms}");
    let mut payload = if args.comment {
        ig::comment(&id, &args.text)
    } else {
        let mut event = ig::from_customer(&id, json!({ "text": args.text }));
        event["timestamp"] = ms.into();
        ig::messaging(vec![event])
    };
    payload["entry"][0]["time"] = (ms / 1000).into();
    payload
}

/// A Wazzup `messages` delivery with one text on `--wazzup-channel`.
pub fn wazzup_webhook(args: &SimulateWazzupArgs, now: SystemTime) -> Value {
    let id = format!("sim-{}", now_ms(now));
    let mut message = wz::text(&args.wazzup_channel, &id, &args.text);
    message["chatId"] = args.chat_id.clone().into();
    message["contact"]["phone"] = args.chat_id.clone().into();
    wz::messages(vec![message])
}

pub(super) async fn instagram(
    args: &SimulateInstagramArgs,
    out: &mut Output<'_>,
) -> anyhow::Result<()> {
    let payload = instagram_webhook(args, SystemTime::now());
    let body = payload.to_string();
    let signature = ig::sign(&args.app_secret, body.as_bytes());
    let header = (ig::SIGNATURE_HEADER, signature);
    let response = post(
        &args.http,
        "instagram",
        &args.channel_id,
        Some(header),
        body,
    )
    .await?;
    report(response, payload, out)
}

pub(super) async fn wazzup(args: &SimulateWazzupArgs, out: &mut Output<'_>) -> anyhow::Result<()> {
    let payload = wazzup_webhook(args, SystemTime::now());
    let header = args
        .webhook_token
        .as_deref()
        .map(|token| ("authorization", wz::authorization(token)));
    let response = post(
        &args.http,
        "wazzup",
        &args.channel_id,
        header,
        payload.to_string(),
    )
    .await?;
    report(response, payload, out)
}

/// POSTs `body` to `{http}/webhooks/{messenger}/{channel_id}`.
pub(super) async fn post(
    http: &str,
    messenger: &str,
    channel_id: &str,
    header: Option<(&str, String)>,
    body: String,
) -> anyhow::Result<WebhookResponse> {
    let base = normalize_addr(http);
    let url = format!(
        "{}/webhooks/{messenger}/{channel_id}",
        base.trim_end_matches('/')
    );
    let client = reqwest::Client::builder().timeout(HTTP_TIMEOUT).build()?;
    let mut request = client.post(&url).header("content-type", "application/json");
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    let response = request.body(body).send().await.map_err(|e| {
        if e.is_connect() {
            anyhow::Error::new(ConnectError::new(&base, &e))
        } else {
            anyhow::Error::new(e).context(format!("POST {url} failed"))
        }
    })?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    Ok(WebhookResponse {
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or("").to_owned(),
        body,
    })
}

pub(super) fn report(
    response: WebhookResponse,
    payload: Value,
    out: &mut Output<'_>,
) -> anyhow::Result<()> {
    out.emit(
        || json!({"status": response.status, "body": response.body, "webhook": payload}),
        || {
            format!(
                "HTTP {} {}\n{}",
                response.status, response.reason, response.body
            )
        },
    )?;
    if response.is_success() {
        return Ok(());
    }
    let hint = match response.status {
        401 | 403 => {
            "verification failed: check --app-secret / --auth-token / --secret / \
                      --webhook-token and, for Wazzup without a token, --wazzup-channel \
                      against the channel's channel_id"
        }
        status => super::status_hint(status),
    };
    Err(HttpStatusError {
        status: response.status,
        reason: response.reason,
        hint: hint.to_owned(),
    }
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webhooks_are_the_providers_shapes_at_the_given_time() {
        let at = UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let direct = SimulateInstagramArgs {
            http: String::new(),
            channel_id: "ch_1".into(),
            app_secret: "s".into(),
            text: "Hi".into(),
            comment: false,
        };
        let payload = instagram_webhook(&direct, at);
        assert_eq!(payload["object"], "instagram");
        assert_eq!(payload["entry"][0]["messaging"][0]["message"]["text"], "Hi");
        assert_eq!(
            payload["entry"][0]["messaging"][0]["timestamp"],
            1_800_000_000_000_i64
        );
        let comment = instagram_webhook(
            &SimulateInstagramArgs {
                comment: true,
                ..direct
            },
            at,
        );
        assert_eq!(comment["entry"][0]["changes"][0]["field"], "comments");
        let wazzup = SimulateWazzupArgs {
            http: String::new(),
            channel_id: "ch_2".into(),
            wazzup_channel: "f207".into(),
            webhook_token: None,
            chat_id: "79011112233".into(),
            text: "Hello".into(),
        };
        let delivery = wazzup_webhook(&wazzup, at);
        assert_eq!(delivery["messages"][0]["channelId"], "f207");
        assert_eq!(delivery["messages"][0]["chatId"], "79011112233");
    }
}
