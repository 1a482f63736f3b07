//! Checking a WhatsApp channel before it is stored: every credential the
//! webhook and sends need is there, and the access token works for the
//! phone number (`GET /{version}/{phone_number_id}`), whose verified name
//! becomes the channel's name.
//!
//! Meta's webhook subscription is configured per app in the App Dashboard
//! (with the channel's `webhook_path` and `verify_token`), so nothing is
//! registered from here.

use omnibus_ingress::setup::reply;
use omnibus_ingress::{Context, ProviderError};
use omnibus_proto::{ChannelSetupReply, ChannelState, channel_setup_reply::Outcome};

use crate::Whatsapp;
use crate::graph::phone_number;

/// Credentials without which a channel cannot work.
const REQUIRED: [&str; 4] = [
    "access_token",
    "app_secret",
    "verify_token",
    "phone_number_id",
];

pub(crate) async fn check(context: &Context, state: ChannelState) -> ChannelSetupReply {
    let credential = |key: &str| {
        state
            .credentials
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    };
    let missing: Vec<&str> = REQUIRED
        .into_iter()
        .filter(|key| credential(key).is_none())
        .collect();
    if !missing.is_empty() {
        return reply(
            Outcome::Invalid,
            format!(
                "missing WhatsApp credentials: {} (from the Meta App Dashboard: a system-user \
                 access token, the app secret, a verify token of your choice and the phone \
                 number id)",
                missing.join(", ")
            ),
        );
    }
    let phone_number_id = credential("phone_number_id").unwrap_or_default();
    if !phone_number_id.bytes().all(|b| b.is_ascii_digit()) {
        return reply(
            Outcome::Invalid,
            "phone_number_id must be the numeric id Meta shows under WhatsApp > API Setup, not \
             the phone number itself",
        );
    }
    let provider = context.provider::<Whatsapp>(&state);
    let token = credential("access_token").unwrap_or_default();
    let number = match phone_number(&provider, token, phone_number_id).await {
        Ok(number) => number,
        Err(err) => return refused(&err),
    };
    let display_name = [number.verified_name, number.display_phone_number]
        .into_iter()
        .find(|n| !n.trim().is_empty())
        .unwrap_or_default();
    ChannelSetupReply {
        outcome: Outcome::Ok as i32,
        message: String::new(),
        display_name,
        credentials: state.credentials.clone(),
    }
}

fn refused(err: &ProviderError) -> ChannelSetupReply {
    let (outcome, message) = match err {
        ProviderError::Retry { .. } => (
            Outcome::Unavailable,
            format!(
                "cannot check the channel with WhatsApp now: {}",
                err.reason()
            ),
        ),
        ProviderError::Unauthorized { .. } => (Outcome::Invalid, err.reason().to_owned()),
        _ => (
            Outcome::Invalid,
            format!(
                "WhatsApp refused the phone_number_id or access_token: {}; check both in \
                 the Meta App Dashboard",
                err.reason()
                    .trim_start_matches("WhatsApp refused the message: ")
            ),
        ),
    };
    reply(outcome, message)
}
