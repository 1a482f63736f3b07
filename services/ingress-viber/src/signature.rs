//! `X-Viber-Content-Signature`: Viber signs every callback with the lowercase
//! hex HMAC-SHA256 of the raw body, keyed with the bot's auth token, and no
//! prefix (providers.md §3.2). It is checked over the bytes as received,
//! before any parsing, and compared in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header Viber signs callbacks with.
pub const SIGNATURE_HEADER: &str = "x-viber-content-signature";

/// True when `header` is the hex HMAC-SHA256 of `body` under `auth_token`.
/// Upper- and lowercase hex are both accepted; surrounding whitespace is not.
pub fn is_valid(auth_token: &str, body: &[u8], header: &[u8]) -> bool {
    if auth_token.is_empty() {
        return false;
    }
    let Ok(given) = hex::decode(header) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(auth_token.as_bytes()) else {
        return false;
    };
    mac.update(body);
    // `verify_slice` compares in constant time (and refuses other lengths).
    mac.verify_slice(&given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use omnibus_viber_standin::callbacks::sign;

    const TOKEN: &str = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9";
    const BODY: &[u8] = br#"{"event":"webhook","timestamp":1457764197627,"message_token":1}"#;

    #[test]
    fn viber_signatures_are_accepted() {
        let header = sign(TOKEN, BODY);
        assert_eq!(header.len(), 64, "hex of 32 bytes, no prefix");
        assert!(is_valid(TOKEN, BODY, header.as_bytes()));
        assert!(is_valid(TOKEN, BODY, header.to_uppercase().as_bytes()));
    }

    #[test]
    fn anything_else_is_refused() {
        let header = sign(TOKEN, BODY);
        assert!(!is_valid("another-token", BODY, header.as_bytes()));
        assert!(
            !is_valid("", BODY, sign("", BODY).as_bytes()),
            "no token, no trust"
        );
        assert!(!is_valid(TOKEN, b"{}", header.as_bytes()), "another body");
        let mut longer = BODY.to_vec();
        longer.push(b'\n');
        assert!(
            !is_valid(TOKEN, &longer, header.as_bytes()),
            "one byte more"
        );
        let prefixed = format!("sha256={header}");
        assert!(
            !is_valid(TOKEN, BODY, prefixed.as_bytes()),
            "viber has no prefix"
        );
        assert!(
            !is_valid(TOKEN, BODY, &header.as_bytes()[..40]),
            "truncated"
        );
        assert!(!is_valid(TOKEN, BODY, b"not-hex"));
        assert!(!is_valid(TOKEN, BODY, b""));
    }
}
