//! Signatures of webhook bodies: `sha256=<hex HMAC-SHA256(secret, body)>`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-omnibus-signature";
/// Header carrying the notification id, the same on every retry.
pub const EVENT_ID_HEADER: &str = "x-omnibus-event-id";
/// Header carrying the attempt's unix time in seconds.
pub const TIMESTAMP_HEADER: &str = "x-omnibus-timestamp";

/// The `X-Omnibus-Signature` value for `body`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("hmac takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// True when `header` is the signature of `body`, compared in constant time;
/// for receivers written in Rust (and the tests).
pub fn verify(secret: &[u8], body: &[u8], header: &str) -> bool {
    let expected = signature(secret, body);
    omnibus_core::secret::secrets_equal(header.as_bytes(), expected.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_known_hmac() {
        // RFC 4231 test case 2.
        let sig = signature(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify(b"Jefe", b"what do ya want for nothing?", &sig));
        assert!(!verify(b"Jeff", b"what do ya want for nothing?", &sig));
    }
}
