//! `X-Hub-Signature-256`: Meta signs every webhook POST with
//! `sha256=<hex HMAC-SHA256(app_secret, raw body)>` (providers.md §1.2).
//! It is checked over the bytes as received, before any parsing, and
//! compared in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header Meta signs webhooks with.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// True when `header` is `sha256=<hex>` and the hex is the HMAC of `body`
/// under `app_secret`. Upper- and lowercase hex are both accepted.
pub fn is_valid(app_secret: &str, body: &[u8], header: &[u8]) -> bool {
    let Some(hex_digest) = header.strip_prefix(b"sha256=") else {
        return false;
    };
    let Ok(given) = hex::decode(hex_digest) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use omnibus_whatsapp_standin::webhook::sign;

    const SECRET: &str = "8c1e3a0f2b9d4e7a";
    const BODY: &[u8] = br#"{"object":"whatsapp_business_account","entry":[]}"#;

    #[test]
    fn meta_signatures_are_accepted() {
        let header = sign(SECRET, BODY);
        assert!(is_valid(SECRET, BODY, header.as_bytes()));
        let upper = format!("sha256={}", header[7..].to_uppercase());
        assert!(is_valid(SECRET, BODY, upper.as_bytes()));
    }

    #[test]
    fn anything_else_is_refused() {
        let header = sign(SECRET, BODY);
        assert!(!is_valid("other-secret", BODY, header.as_bytes()));
        assert!(!is_valid(SECRET, b"{}", header.as_bytes()), "another body");
        let mut body = BODY.to_vec();
        body.push(b' ');
        assert!(!is_valid(SECRET, &body, header.as_bytes()), "one byte more");
        assert!(
            !is_valid(SECRET, BODY, &header.as_bytes()[7..]),
            "no prefix"
        );
        assert!(!is_valid(SECRET, BODY, b"sha1=abcdef"));
        assert!(!is_valid(SECRET, BODY, b"sha256=not-hex"));
        assert!(!is_valid(SECRET, BODY, b"sha256="));
        assert!(
            !is_valid(SECRET, BODY, &header.as_bytes()[..40]),
            "truncated"
        );
    }
}
