//! Checking a Telegram channel before it is stored: the token with `getMe`,
//! the webhook secret's format, and, when `OMNIBUS_PUBLIC_URL` is set,
//! registering the webhook with `setWebhook`.

use omnibus_ingress::setup::reply;
use omnibus_ingress::{Context, ProviderError};
use omnibus_proto::{ChannelSetupReply, ChannelState, channel_setup_reply::Outcome};
use rand::distr::{Alphanumeric, SampleString};

use crate::Telegram;
use crate::botapi::{get_me, set_webhook};

pub(crate) async fn check(context: &Context, state: ChannelState) -> ChannelSetupReply {
    let mut credentials = state.credentials.clone();
    let token = credentials.get("bot_token").cloned().unwrap_or_default();
    if !looks_like_bot_token(&token) {
        return reply(
            Outcome::Invalid,
            "bot_token does not look like a Telegram bot token (digits, a colon, then letters, \
             digits, _ or -, as @BotFather gives it)",
        );
    }
    let webhook_url = context.webhook_url::<Telegram>(&state.id);
    let secret = match (credentials.get("secret_token"), &webhook_url) {
        (Some(secret), _) if is_valid_secret(secret) => secret.clone(),
        (Some(_), _) => {
            return reply(
                Outcome::Invalid,
                "secret_token must be 1 to 256 characters of A-Z, a-z, 0-9, _ and -",
            );
        }
        (None, Some(_)) => Alphanumeric.sample_string(&mut rand::rng(), 48),
        (None, None) => {
            return reply(
                Outcome::Invalid,
                "secret_token is required when OMNIBUS_PUBLIC_URL is not set: choose one (1 to 256 \
                 characters of A-Z, a-z, 0-9, _ and -) and give it to setWebhook as secret_token",
            );
        }
    };
    credentials.insert("secret_token".into(), secret.clone());
    let provider = context.provider::<Telegram>(&ChannelState {
        credentials: credentials.clone(),
        ..state.clone()
    });
    let bot = match get_me(&provider, &token).await {
        Ok(bot) => bot,
        Err(err) => return refused(&err, "check the bot token"),
    };
    if let Some(url) = webhook_url {
        if let Err(err) = set_webhook(&provider, &token, &url, &secret).await {
            return refused(&err, "register the webhook");
        }
        tracing::info!(channel_id = %state.id, "telegram webhook registered");
    }
    let display_name = if bot.first_name.is_empty() {
        format!("@{}", bot.username)
    } else {
        bot.first_name
    };
    ChannelSetupReply {
        outcome: Outcome::Ok as i32,
        message: String::new(),
        display_name,
        credentials,
    }
}

fn refused(err: &ProviderError, doing: &str) -> ChannelSetupReply {
    let outcome = if err.is_transient() {
        Outcome::Unavailable
    } else {
        Outcome::Invalid
    };
    reply(outcome, format!("cannot {doing}: {}", err.reason()))
}

fn looks_like_bot_token(token: &str) -> bool {
    let Some((id, secret)) = token.split_once(':') else {
        return false;
    };
    !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit())
        && !secret.is_empty()
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn is_valid_secret(secret: &str) -> bool {
    (1..=256).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bot_tokens_and_secrets_are_recognised() {
        assert!(looks_like_bot_token("123456:ABC-def_9"));
        assert!(!looks_like_bot_token("123456"));
        assert!(!looks_like_bot_token("abc:def"));
        assert!(!looks_like_bot_token("1:a/b"));
        assert!(is_valid_secret("s3cr3t-Value_42"));
        assert!(!is_valid_secret(""));
        assert!(!is_valid_secret(&"a".repeat(257)));
        assert!(!is_valid_secret("with space"));
    }
}
