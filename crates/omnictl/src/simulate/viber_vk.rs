//! `omnictl simulate viber` and `omnictl simulate vk`: a customer's text
//! message as Viber posts it (signed with the bot's auth token in
//! `X-Viber-Content-Signature`) and as VK's Callback API posts it
//! (`message_new`, the channel's `secret` in the body).

use std::time::SystemTime;

use omnibus_viber_standin::callbacks as viber_cb;
use omnibus_vk_standin::callbacks as vk_cb;
use serde_json::Value;

use super::instagram_wazzup::{now_ms, post, report};
use crate::cli::{SimulateViberArgs, SimulateVkArgs};
use crate::output::Output;

/// A Viber `message` callback from now: the message token and timestamp
/// are the current time, so repeated runs are not dropped as repeats.
pub fn viber_webhook(args: &SimulateViberArgs, now: SystemTime) -> Value {
    let ms = now_ms(now);
    let token = u64::try_from(ms).unwrap_or_default();
    let mut callback =
        viber_cb::message(token, &args.user_id, &args.name, viber_cb::text(&args.text));
    callback["timestamp"] = ms.into();
    callback
}

/// A VK `message_new` notification from now, with the message id and the
/// `event_id` taken from the current time so repeated runs are new messages.
pub fn vk_webhook(args: &SimulateVkArgs, now: SystemTime) -> Value {
    let ms = now_ms(now);
    let mut message = vk_cb::message(ms, args.user_id, args.user_id, &args.text);
    message["date"] = (ms / 1000).into();
    vk_cb::notification(
        "message_new",
        vk_cb::message_new(message),
        args.group_id,
        &format!("sim{ms:x}"),
        &args.secret,
    )
}

pub(super) async fn viber(args: &SimulateViberArgs, out: &mut Output<'_>) -> anyhow::Result<()> {
    let payload = viber_webhook(args, SystemTime::now());
    let body = payload.to_string();
    let signature = viber_cb::sign(&args.auth_token, body.as_bytes());
    let header = (viber_cb::SIGNATURE_HEADER, signature);
    let response = post(&args.http, "viber", &args.channel_id, Some(header), body).await?;
    report(response, payload, out)
}

pub(super) async fn vk(args: &SimulateVkArgs, out: &mut Output<'_>) -> anyhow::Result<()> {
    let payload = vk_webhook(args, SystemTime::now());
    let response = post(
        &args.http,
        "vk",
        &args.channel_id,
        None,
        payload.to_string(),
    )
    .await?;
    report(response, payload, out)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn the_callbacks_are_the_providers_shapes_at_the_given_time() {
        let at = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let viber = SimulateViberArgs {
            http: String::new(),
            channel_id: "ch_1".into(),
            auth_token: "t".into(),
            user_id: "u1=".into(),
            name: "Ann".into(),
            text: "Hi".into(),
        };
        let callback = viber_webhook(&viber, at);
        assert_eq!(callback["event"], "message");
        assert_eq!(callback["message_token"], 1_800_000_000_000_u64);
        assert_eq!(callback["timestamp"], 1_800_000_000_000_u64);
        assert_eq!(callback["sender"]["id"], "u1=");
        assert_eq!(callback["message"]["text"], "Hi");
        let vk = SimulateVkArgs {
            http: String::new(),
            channel_id: "ch_2".into(),
            secret: "s3".into(),
            group_id: 218_765_432,
            user_id: 42,
            text: "Hello".into(),
        };
        let notification = vk_webhook(&vk, at);
        assert_eq!(notification["type"], "message_new");
        assert_eq!(notification["secret"], "s3");
        assert_eq!(notification["group_id"], 218_765_432);
        let message = &notification["object"]["message"];
        assert_eq!(
            (message["peer_id"].clone(), message["from_id"].clone()),
            (42.into(), 42.into())
        );
        assert_eq!(message["text"], "Hello");
        assert_eq!(message["date"], 1_800_000_000);
        let later = vk_webhook(&vk, at + Duration::from_millis(1));
        assert_ne!(later["event_id"], notification["event_id"]);
        assert_ne!(later["object"]["message"]["id"], message["id"]);
    }
}
