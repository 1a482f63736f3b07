//! A channel created again for the same provider account (the same bot,
//! phone number id, account…) after the old one was deleted carries on the
//! old one's conversations: it gets the old channel's conversation scope,
//! ids derive from that scope, and the projection moves the conversations
//! to the new channel when it applies the new channel's snapshot (an event,
//! so a replay moves them again the same way).

use std::collections::HashMap;

use omnibus_proto::{ChannelKind, ChannelState, ChannelStatus};
use sha2::{Digest, Sha256};

use super::Commands;
use crate::error::Result;

impl Commands {
    /// Fills `account_key` and, when a deleted channel of that account
    /// exists, `conversation_scope`.
    pub(super) async fn link_to_predecessor(&self, state: &mut ChannelState) -> Result<()> {
        let kind = ChannelKind::try_from(state.kind).unwrap_or(ChannelKind::Unspecified);
        let Some(key) = account_key(kind, &state.credentials) else {
            return Ok(());
        };
        let found: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, conversation_scope FROM conv_channels
             WHERE kind = $1 AND account_key = $2 AND status = $3
             ORDER BY created_at_ms DESC, id DESC LIMIT 1",
        )
        .bind(i64::from(state.kind))
        .bind(key.as_str())
        .bind(ChannelStatus::Deleted as i64)
        .fetch_all(self.queries.pool())
        .await?;
        if let Some((id, scope)) = found.into_iter().next() {
            state.conversation_scope = if scope.is_empty() { id } else { scope };
        }
        state.account_key = key;
        Ok(())
    }
}

/// Who the channel is at its provider, hashed (a bot token's bot id part is
/// public, the rest of the token is not; hashing keeps both out of sight).
fn account_key(kind: ChannelKind, credentials: &HashMap<String, String>) -> Option<String> {
    let get = |key: &str| {
        credentials
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    };
    let identity = match kind {
        ChannelKind::Telegram => get("bot_token")?.split(':').next()?.to_owned(),
        ChannelKind::Whatsapp => get("phone_number_id")?.to_owned(),
        ChannelKind::Instagram => get("account_id")?.to_owned(),
        ChannelKind::Vk => get("group_id").or_else(|| get("access_token"))?.to_owned(),
        ChannelKind::Viber => get("auth_token")?.to_owned(),
        ChannelKind::Wazzup => get("channel_id")?.to_owned(),
        ChannelKind::Unspecified => return None,
    };
    let digest = Sha256::digest(format!("{}:{identity}", kind.as_str_name()));
    Some(hex::encode(&digest[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_bot_with_a_new_token_is_the_same_account() {
        let creds = |token: &str| HashMap::from([("bot_token".to_owned(), token.to_owned())]);
        let old = account_key(ChannelKind::Telegram, &creds("700:AAA"));
        let new = account_key(ChannelKind::Telegram, &creds("700:BBB"));
        let other = account_key(ChannelKind::Telegram, &creds("701:AAA"));
        assert!(old.is_some());
        assert_eq!(old, new);
        assert_ne!(old, other);
        assert!(!old.unwrap().contains("700"));
    }
}
