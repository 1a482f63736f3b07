//! VK on the messenger kit: what VK differs in.

use axum::http::HeaderMap;
use omnibus_ingress::setup::reply;
use omnibus_ingress::{
    Answer, Call, Context, Inbound, Messenger, ProviderError, Verdict, Webhook, WebhookError,
};
use omnibus_proto::{
    ChannelKind, ChannelSetupReply, ChannelState, MessageRequested, channel_setup_reply::Outcome,
};
use serde_json::Value;

use crate::errors;
use crate::normalize::{ChannelView, normalize};
use crate::plan;
use crate::verify::{Credentials, Refused, Verified, verify};
use crate::wire::parse_notification;

/// The API version Omnibus speaks (and asks of the callback server).
pub const API_VERSION: &str = "5.199";

/// The VK Callback API messenger.
#[derive(Debug, Clone, Copy, Default)]
pub struct Vk;

impl Messenger for Vk {
    type Request = plan::Call;

    const KIND: ChannelKind = ChannelKind::Vk;
    const SECRET_KEYS: &'static [&'static str] = &["access_token", "secret", "confirmation_code"];
    const DEFAULT_API_BASE: &'static str = "https://api.vk.com";

    fn verify(&self, channel: &ChannelState, _headers: &HeaderMap, body: Option<&[u8]>) -> Verdict {
        let Some(body) = body else {
            return Verdict::NeedsBody;
        };
        // What is not a notification at all is the normalizer's 400.
        let Ok(notification) = parse_notification(body) else {
            return Verdict::Valid;
        };
        match verify(&credentials(channel), &notification) {
            Ok(_) => Verdict::Valid,
            Err(refused) => Verdict::Invalid(WebhookError::Forbidden(match refused {
                Refused::WrongSecret => "the secret field does not match the channel's secret",
                Refused::OtherCommunity => "the notification is for another community",
                Refused::NoConfirmationCode => "the channel has no confirmation_code",
            })),
        }
    }

    fn normalize(
        &self,
        channel: &ChannelState,
        webhook: &Webhook<'_>,
    ) -> Result<Inbound, WebhookError> {
        let notification = parse_notification(webhook.body)
            .map_err(|e| WebhookError::BadRequest(e.to_string()))?;
        if let Ok(Verified::Confirm(code)) = verify(&credentials(channel), &notification) {
            return Ok(Inbound::default().answer(Answer::Text(code)));
        }
        let view = ChannelView {
            id: &channel.id,
            group_id: group_id(channel),
        };
        let normalized = normalize(&view, &notification);
        Ok(
            Inbound::conversations(normalized.events, &normalized.skipped)
                .answer(Answer::Text("ok".into())),
        )
    }

    fn plan(
        &self,
        channel: &ChannelState,
        message: &MessageRequested,
    ) -> Result<Vec<plan::Call>, ProviderError> {
        plan::plan(message, group_id(channel))
            .map(|call| vec![call])
            .map_err(|e| ProviderError::refused(e.to_string()))
    }

    async fn call(&self, call: &Call<'_>, request: &plan::Call) -> Result<String, ProviderError> {
        let key = if request.method == "messages.send" {
            "random_id"
        } else {
            "guid"
        };
        let mut form: Vec<(&str, String)> = request.params.clone();
        form.push((key, call.idempotency_number().to_string()));
        form.push(("access_token", call.credential("access_token").to_owned()));
        form.push(("v", API_VERSION.to_owned()));
        let url = format!("{}/method/{}", call.provider.base_url(), request.method);
        let answer = call
            .provider
            .send(&Vk, call.provider.http().post(url).form(&form))
            .await?;
        errors::created_id(&answer)
            .ok_or_else(|| ProviderError::transient("vk accepted the message without its id"))
    }

    fn classify(&self, status: u16, body: &[u8]) -> Result<Value, ProviderError> {
        errors::classify(status, body)
    }

    async fn setup(&self, context: &Context, channel: ChannelState) -> ChannelSetupReply {
        check(context, channel).await
    }
}

/// The channel check: the secret and the confirmation code are set, and the
/// token works (`groups.getById`), for the community `group_id` names.
async fn check(context: &Context, state: ChannelState) -> ChannelSetupReply {
    let mut credentials = state.credentials.clone();
    for (key, what) in [
        (
            "access_token",
            "the community token (Manage → API usage) with the messages right",
        ),
        (
            "secret",
            "the secret key set on the community's Callback API server",
        ),
        (
            "confirmation_code",
            "the string VK shows to confirm the Callback API server",
        ),
    ] {
        if credentials.get(key).is_none_or(|v| v.trim().is_empty()) {
            return reply(Outcome::Invalid, format!("{key} is required: {what}"));
        }
    }
    let provider = context.provider::<Vk>(&state);
    let form = [
        (
            "access_token",
            credentials["access_token"].trim().to_owned(),
        ),
        ("v", API_VERSION.to_owned()),
    ];
    let url = format!("{}/method/groups.getById", provider.base_url());
    let answer = match provider
        .send(&Vk, provider.http().post(url).form(&form))
        .await
    {
        Ok(answer) => answer,
        Err(err) => {
            let outcome = if err.is_transient() {
                Outcome::Unavailable
            } else {
                Outcome::Invalid
            };
            return reply(
                outcome,
                format!("vk refused to check the access token: {}", err.reason()),
            );
        }
    };
    let group = answer
        .get("groups")
        .and_then(|g| g.get(0))
        .or_else(|| answer.get(0))
        .cloned()
        .unwrap_or_default();
    let id = group["id"].as_i64().unwrap_or_default();
    let given = group_id(&state);
    if given != 0 && id != 0 && given != id {
        return reply(
            Outcome::Invalid,
            format!("the access_token belongs to community {id}, not group_id {given}"),
        );
    }
    if given == 0 && id != 0 {
        credentials.insert("group_id".into(), id.to_string());
    }
    ChannelSetupReply {
        outcome: Outcome::Ok as i32,
        message: String::new(),
        display_name: group["name"].as_str().unwrap_or_default().to_owned(),
        credentials,
    }
}

fn credentials(channel: &ChannelState) -> Credentials<'_> {
    let get = |key: &str| channel.credentials.get(key).map_or("", |v| v.trim());
    Credentials {
        secret: get("secret"),
        confirmation_code: get("confirmation_code"),
        group_id: group_id(channel),
    }
}

fn group_id(channel: &ChannelState) -> i64 {
    channel
        .credentials
        .get("group_id")
        .and_then(|g| g.trim().trim_start_matches('-').parse().ok())
        .unwrap_or_default()
}
