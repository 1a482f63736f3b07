//! Meta's webhook verification, shared with WhatsApp (providers.md §5.1):
//! the `GET` subscription handshake and `X-Hub-Signature-256` over the raw
//! body. The signature check itself is WhatsApp's (`omnibus_ingress_whatsapp::
//! signature`), not a copy; the messenger kit is where both will live.

use omnibus_core::secret::secrets_equal;

pub use omnibus_ingress_whatsapp::signature::{SIGNATURE_HEADER, is_valid as signature_is_valid};

/// The query of Meta's subscription handshake.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Handshake {
    #[serde(rename = "hub.mode", default)]
    pub mode: String,
    #[serde(rename = "hub.verify_token", default)]
    pub verify_token: String,
    #[serde(rename = "hub.challenge", default)]
    pub challenge: String,
}

/// The challenge to echo when the handshake names the channel's
/// `verify_token` (compared in constant time), `None` to answer 403.
pub fn handshake<'a>(query: &'a Handshake, verify_token: &str) -> Option<&'a str> {
    let subscribe = query.mode == "subscribe";
    let token_ok = !verify_token.is_empty()
        && secrets_equal(query.verify_token.as_bytes(), verify_token.as_bytes());
    (subscribe && token_ok).then_some(query.challenge.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use omnibus_instagram_standin::webhook::sign;

    #[test]
    fn the_handshake_echoes_the_challenge_for_the_right_token_only() {
        let query = Handshake {
            mode: "subscribe".into(),
            verify_token: "meatyhamhock".into(),
            challenge: "1158201444".into(),
        };
        assert_eq!(handshake(&query, "meatyhamhock"), Some("1158201444"));
        assert_eq!(handshake(&query, "other"), None);
        assert_eq!(handshake(&query, ""), None);
        let unsubscribe = Handshake {
            mode: "unsubscribe".into(),
            ..query
        };
        assert_eq!(handshake(&unsubscribe, "meatyhamhock"), None);
    }

    #[test]
    fn instagram_signatures_are_meta_signatures() {
        let body = br#"{"object":"instagram","entry":[]}"#;
        let header = sign("app-secret", body);
        assert!(signature_is_valid("app-secret", body, header.as_bytes()));
        assert!(!signature_is_valid("other", body, header.as_bytes()));
        assert!(!signature_is_valid("app-secret", b"{}", header.as_bytes()));
    }
}
