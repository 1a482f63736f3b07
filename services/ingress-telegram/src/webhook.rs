//! Telegram webhook verification: the secret given to `setWebhook` comes
//! back in a header, so it is checked before the body is read.

use axum::http::HeaderMap;
use omnibus_core::secret::secrets_equal;
use omnibus_ingress::{Verdict, WebhookError};
use omnibus_proto::ChannelState;

/// The header Telegram sends with the secret given to `setWebhook`.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The secret header matches the channel's `secret_token`.
pub fn verify(channel: &ChannelState, headers: &HeaderMap) -> Verdict {
    let Some(given) = headers.get(SECRET_HEADER).map(|v| v.as_bytes()) else {
        return Verdict::Invalid(WebhookError::Unauthenticated(
            "missing X-Telegram-Bot-Api-Secret-Token header",
        ));
    };
    let expected = channel.credentials.get("secret_token");
    if expected.is_some_and(|s| secrets_equal(given, s.as_bytes())) {
        Verdict::Valid
    } else {
        Verdict::Invalid(WebhookError::Forbidden(
            "X-Telegram-Bot-Api-Secret-Token does not match the channel's secret_token",
        ))
    }
}
