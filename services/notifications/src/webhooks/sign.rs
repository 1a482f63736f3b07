//! Signatures of webhook bodies, as Stripe signs its own:
//! `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`, where
//! `timestamp` is the `X-Omnibus-Timestamp` header. The timestamp is signed
//! so a receiver can refuse a replayed delivery whose time it checks.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-omnibus-signature";
/// Header carrying the notification id, the same on every retry.
pub const EVENT_ID_HEADER: &str = "x-omnibus-event-id";
/// Header carrying the attempt's unix time in seconds (signed with the body).
pub const TIMESTAMP_HEADER: &str = "x-omnibus-timestamp";

/// The `X-Omnibus-Signature` value for `body` sent at `timestamp`.
pub fn signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("hmac takes any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// True when `header` is the signature of `body` sent at `timestamp`,
/// compared in constant time; for receivers written in Rust (and the
/// tests). Receivers should also refuse timestamps older than a few minutes.
pub fn verify(secret: &[u8], timestamp: &str, body: &[u8], header: &str) -> bool {
    let expected = signature(secret, timestamp, body);
    omnibus_core::secret::secrets_equal(header.as_bytes(), expected.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_an_independently_computed_hmac() {
        // python3: hmac.new(b"whsec", b'1700000000.{"id":"1"}', sha256).hexdigest()
        let sig = signature(b"whsec", "1700000000", br#"{"id":"1"}"#);
        assert_eq!(
            sig,
            "sha256=60734808e731b08d45bee887cade715d87211348f1bcb975b46c8d2e7fa5dbcd"
        );
    }

    #[test]
    fn the_timestamp_is_covered() {
        let sig = signature(b"s3cret", "1700000000", b"{\"id\":\"1\"}");
        assert!(verify(b"s3cret", "1700000000", b"{\"id\":\"1\"}", &sig));
        assert!(!verify(b"s3cret", "1700000001", b"{\"id\":\"1\"}", &sig));
        assert!(!verify(b"s3cret", "1700000000", b"{\"id\":\"2\"}", &sig));
        assert!(!verify(b"s3creT", "1700000000", b"{\"id\":\"1\"}", &sig));
    }
}
