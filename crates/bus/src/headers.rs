//! NATS header values built from outside input. Provider ids end up in
//! `Nats-Msg-Id` (the event id embeds them); async-nats panics on a header
//! value with a CR or LF, which would drop the webhook's connection without
//! an answer and make the provider retry forever. Every header value the bus
//! sends goes through [`header_safe`] instead.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

/// Longest value sent as is; longer ones are hashed like unsafe ones, so a
/// header never grows with its input.
const MAX_PLAIN_LEN: usize = 256;

/// `value` unchanged when it is printable ASCII of at most 256 bytes, else
/// `sha256:<hex of its SHA-256>`. Deterministic, so a retried publish of the
/// same event still carries the same `Nats-Msg-Id` and is deduplicated; two
/// different values never collide in practice.
pub fn header_safe(value: &str) -> Cow<'_, str> {
    let plain = value.len() <= MAX_PLAIN_LEN
        && value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !value.starts_with(' ')
        && !value.ends_with(' ');
    if plain {
        Cow::Borrowed(value)
    } else {
        let digest = Sha256::digest(value.as_bytes());
        Cow::Owned(format!("sha256:{}", hex::encode(digest)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_ids_pass_unchanged() {
        let id = "whatsapp:ch_0190:wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTdBRTI1=";
        assert_eq!(header_safe(id), id);
    }

    #[test]
    fn line_breaks_controls_and_long_values_are_hashed_deterministically() {
        for value in [
            "wamid.1\r\nX-Injected: yes",
            "a\nb",
            "tab\there",
            "ünïcode",
            " padded",
            &"x".repeat(300),
        ] {
            let safe = header_safe(value);
            assert!(safe.starts_with("sha256:"), "{value:?} → {safe}");
            assert_eq!(safe.len(), "sha256:".len() + 64);
            assert_eq!(safe, header_safe(value), "the same input, the same value");
        }
        assert_ne!(header_safe("a\nb"), header_safe("a\rb"));
    }
}
