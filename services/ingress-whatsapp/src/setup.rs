//! Checking a WhatsApp channel before it is stored: every credential the
//! webhook and sends need is there, and the access token works for the
//! phone number (`GET /{version}/{phone_number_id}`), whose verified name
//! becomes the channel's name.
//!
//! Meta's webhook subscription is configured per app in the App Dashboard
//! (with the channel's `webhook_path` and `verify_token`), so nothing is
//! registered from here.

use std::sync::Arc;

use omnibus_ingress::setup::reply;
use omnibus_proto::{ChannelSetupReply, ChannelSetupRequest, channel_setup_reply::Outcome};

use crate::graph::{GraphApi, GraphError};
use crate::service::Shared;

/// Credentials without which a channel cannot work.
const REQUIRED: [&str; 4] = [
    "access_token",
    "app_secret",
    "verify_token",
    "phone_number_id",
];

pub(crate) async fn check(shared: Arc<Shared>, request: ChannelSetupRequest) -> ChannelSetupReply {
    let Some(state) = request.state else {
        return reply(Outcome::Invalid, "setup request without a channel");
    };
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
    let api = GraphApi::new(
        shared.http.clone(),
        shared.api_base(&state.api_base_url),
        credential("access_token").unwrap_or_default(),
    )
    .with_request_timeout(shared.config.request_timeout);
    let number = match api.phone_number(phone_number_id).await {
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

fn refused(err: &GraphError) -> ChannelSetupReply {
    let (outcome, message) = match err {
        GraphError::Transient { .. } => (
            Outcome::Unavailable,
            format!(
                "cannot check the channel with WhatsApp now: {}",
                err.readable()
            ),
        ),
        GraphError::Unauthorized { .. } => (Outcome::Invalid, err.readable()),
        _ => (
            Outcome::Invalid,
            format!(
                "WhatsApp refused the phone_number_id or access_token: {err}; check both in \
                 the Meta App Dashboard"
            ),
        ),
    };
    reply(outcome, message)
}
