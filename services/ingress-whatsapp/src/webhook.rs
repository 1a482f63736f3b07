//! `/webhooks/whatsapp/{channel_id}`: Meta's `GET` subscription handshake
//! and the signature check of `POST` deliveries.

use std::collections::HashMap;

use axum::http::HeaderMap;
use omnibus_core::secret::secrets_equal;
use omnibus_ingress::{Answer, Verdict, WebhookError};
use omnibus_proto::ChannelState;

use crate::signature::{self, SIGNATURE_HEADER};

/// Meta's subscription check: echo `hub.challenge` when `hub.verify_token`
/// is the channel's `verify_token`.
pub fn handshake(
    channel: &ChannelState,
    query: &HashMap<String, String>,
) -> Result<Answer, WebhookError> {
    if query.get("hub.mode").map(String::as_str) != Some("subscribe") {
        return Err(WebhookError::Forbidden("hub.mode must be subscribe"));
    }
    let Some(given) = query.get("hub.verify_token") else {
        return Err(WebhookError::Forbidden("hub.verify_token is missing"));
    };
    let matches = channel
        .credentials
        .get("verify_token")
        .is_some_and(|t| secrets_equal(given.as_bytes(), t.as_bytes()));
    if !matches {
        return Err(WebhookError::Forbidden(
            "hub.verify_token does not match the channel's verify_token",
        ));
    }
    let challenge = query.get("hub.challenge").cloned().unwrap_or_default();
    Ok(Answer::Text(challenge))
}

/// The body is signed with the channel's app secret (checked over the raw
/// bytes, so the body is needed).
pub fn verify(channel: &ChannelState, headers: &HeaderMap, body: Option<&[u8]>) -> Verdict {
    let Some(given) = headers.get(SIGNATURE_HEADER).map(|v| v.as_bytes()) else {
        return Verdict::Invalid(WebhookError::Unauthenticated(
            "missing X-Hub-Signature-256 header",
        ));
    };
    let Some(body) = body else {
        return Verdict::NeedsBody;
    };
    let signed = channel
        .credentials
        .get("app_secret")
        .is_some_and(|secret| signature::is_valid(secret, body, given));
    if signed {
        Verdict::Valid
    } else {
        Verdict::Invalid(WebhookError::Unauthenticated(
            "X-Hub-Signature-256 does not match the body signed with the channel's app_secret",
        ))
    }
}
