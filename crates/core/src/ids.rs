//! Deterministic identities, so that a replay of the stream reproduces the
//! same ids and a retried webhook maps onto the same conversation.

use sha2::{Digest, Sha256};

fn digest(prefix: &str, parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    // The prefix is part of the input, so a contact and a conversation keyed
    // on the same provider id still get unrelated ids.
    hasher.update(prefix.as_bytes());
    hasher.update([0u8]);
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let hash = hasher.finalize();
    format!("{prefix}{}", hex::encode(&hash[..12]))
}

/// The conversation of a provider chat on a channel.
pub fn conversation_id(channel_id: &str, provider_chat_id: &str) -> String {
    digest("cv_", &[channel_id, provider_chat_id])
}

/// The contact behind a provider user (or group) on a channel.
pub fn contact_id(channel_id: &str, provider_user_id: &str) -> String {
    digest("ct_", &[channel_id, provider_user_id])
}

/// A message that came from the provider, keyed by the provider's own ids.
pub fn inbound_message_id(channel_id: &str, provider_chat_id: &str, provider_msg: &str) -> String {
    digest("msg_", &[channel_id, provider_chat_id, provider_msg])
}

/// An outbound message: deterministic when the caller gave an idempotency key.
pub fn outbound_message_id(conversation_id: &str, idempotency_key: Option<&str>) -> String {
    match idempotency_key {
        Some(key) => digest("msg_", &[conversation_id, "idempotency", key]),
        None => random_id("msg_"),
    }
}

/// A fresh, time-ordered id with a prefix (e.g. `ch_` for channels).
pub fn random_id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::now_v7().simple())
}

/// `key` as a positive 31-bit number (FNV-1a, never 0), for providers that
/// deduplicate sends by an integer (VK `random_id`): the kit sends it, and
/// the conversations service recognises the provider's echo by it.
pub fn idempotency_number(key: &str) -> i32 {
    let hash = key.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    i32::try_from(hash & 0x7fff_ffff).unwrap_or(i32::MAX).max(1)
}

/// A message id is safe in a NATS subject token and a URL path segment.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_ids_are_stable_and_distinct() {
        let a = conversation_id("ch_1", "100");
        assert_eq!(a, conversation_id("ch_1", "100"));
        assert_ne!(a, conversation_id("ch_1", "101"));
        assert_ne!(a, conversation_id("ch_2", "100"));
        // The separator keeps ("ab","c") and ("a","bc") apart.
        assert_ne!(conversation_id("ab", "c"), conversation_id("a", "bc"));
        assert!(is_valid_id(&a));
        let (contact, conversation) = (contact_id("ch_1", "100"), conversation_id("ch_1", "100"));
        assert_ne!(contact[3..], conversation[3..], "unrelated hashes");
    }

    #[test]
    fn idempotency_key_makes_outbound_ids_deterministic() {
        let a = outbound_message_id("cv_1", Some("k"));
        assert_eq!(a, outbound_message_id("cv_1", Some("k")));
        assert_ne!(
            outbound_message_id("cv_1", None),
            outbound_message_id("cv_1", None)
        );
    }

    #[test]
    fn idempotency_numbers_are_stable_positive_and_spread() {
        let a = idempotency_number("msg_1");
        assert_eq!(a, idempotency_number("msg_1"));
        assert!(a > 0);
        assert_ne!(a, idempotency_number("msg_2"));
        assert!(idempotency_number("") > 0);
    }

    #[test]
    fn ids_with_subject_metacharacters_are_invalid() {
        for bad in ["", "a.b", "a*", "a>", "a b", "a/b"] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }
}
