//! Credentials sealed at rest: channel credentials and webhook secrets are
//! encrypted before they go on the stream or into a projection, so the
//! JetStream store files and the database never hold them in the clear.
//!
//! The keyring comes from `OMNIBUS_CREDENTIALS_KEY`: `<key id>:<32 bytes,
//! base64>`, several separated by commas. The first key seals; every key
//! opens what it sealed, so a new key is added in front and old events still
//! read. A sealed value names its key: `enc:v1:<key id>:<base64 of nonce and
//! ciphertext>` (ChaCha20-Poly1305 with a random 96-bit nonce, the key id as
//! associated data). Values without the prefix are taken as written in the
//! clear (before a key was set) and pass through unchanged.
//!
//! ```
//! use omnibus_core::sealed::Keyring;
//!
//! let keys = Keyring::parse("k2:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=").unwrap();
//! let sealed = keys.seal("bot-token");
//! assert!(sealed.starts_with("enc:v1:k2:"));
//! assert_eq!(keys.open(&sealed).unwrap(), "bot-token");
//! assert_eq!(keys.open("written-in-the-clear").unwrap(), "written-in-the-clear");
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// What a sealed value starts with.
pub const SEALED_PREFIX: &str = "enc:v1:";
const KEY_LEN: usize = 32;

/// Why a keyring value or a sealed value is unusable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// The keyring variable is malformed; the message says how.
    #[error("invalid credentials key: {0}")]
    InvalidKeyring(String),
    /// A value was sealed with a key the keyring does not hold.
    #[error("credential sealed with key {0:?}, which the credentials key does not hold")]
    UnknownKey(String),
    /// A value has the prefix but does not decrypt (corrupt or tampered).
    #[error("credential sealed with key {0:?} does not decrypt")]
    Corrupt(String),
}

/// The keys that seal and open credentials; cheap to clone. Empty when no
/// key is configured: then values are stored in the clear.
#[derive(Clone, Default)]
pub struct Keyring {
    keys: Arc<Vec<(String, LessSafeKey)>>,
}

impl fmt::Debug for Keyring {
    /// Shows the key ids only, never key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

impl Keyring {
    /// Parses `<key id>:<32 bytes, base64>[,<key id>:<base64>…]`; the first
    /// key seals. Refuses empty entries, repeated ids, ids other than
    /// letters, digits, `_`, `-` and `.`, and keys that are not 32 bytes.
    pub fn parse(value: &str) -> Result<Self, SealError> {
        let mut keys: Vec<(String, LessSafeKey)> = Vec::new();
        for entry in value.split(',').map(str::trim) {
            let (id, material) = entry.split_once(':').ok_or_else(|| {
                invalid("each key is <key id>:<32 bytes, base64>, separated by commas")
            })?;
            let id = id.trim();
            let valid_id = !id.is_empty()
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if !valid_id {
                return Err(invalid(format!(
                    "key id {id:?} must be letters, digits, _, - or . only"
                )));
            }
            if keys.iter().any(|(known, _)| known == id) {
                return Err(invalid(format!("key id {id:?} appears twice")));
            }
            let bytes = decode_key(material.trim()).ok_or_else(|| {
                invalid(format!(
                    "key {id:?} is not 32 bytes in base64 (make one with `openssl rand -base64 32`)"
                ))
            })?;
            let unbound = UnboundKey::new(&CHACHA20_POLY1305, &bytes)
                .map_err(|_| invalid(format!("key {id:?} is unusable")))?;
            keys.push((id.to_owned(), LessSafeKey::new(unbound)));
        }
        Ok(Self {
            keys: Arc::new(keys),
        })
    }

    /// True when a key is configured (values are sealed).
    pub fn is_enabled(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The id of the key that seals, if any.
    pub fn sealing_key_id(&self) -> Option<&str> {
        self.keys.first().map(|(id, _)| id.as_str())
    }

    /// Encrypts `plaintext` with the first key; without keys, returns it as
    /// is. An already sealed value is left alone, so sealing twice is safe.
    pub fn seal(&self, plaintext: &str) -> String {
        let Some((id, key)) = self.keys.first() else {
            return plaintext.to_owned();
        };
        if plaintext.is_empty() || plaintext.starts_with(SEALED_PREFIX) {
            return plaintext.to_owned();
        }
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the operating system's random source works");
        let mut sealed = plaintext.as_bytes().to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(id.as_bytes()),
            &mut sealed,
        )
        .expect("chacha20-poly1305 seals any message under 256 GiB");
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{id}:{}", STANDARD_NO_PAD.encode(blob))
    }

    /// Decrypts a sealed value with the key it names; a value without the
    /// prefix was written in the clear and is returned unchanged.
    pub fn open(&self, value: &str) -> Result<String, SealError> {
        let Some(rest) = value.strip_prefix(SEALED_PREFIX) else {
            return Ok(value.to_owned());
        };
        let (id, encoded) = rest.split_once(':').unwrap_or((rest, ""));
        let (_, key) = self
            .keys
            .iter()
            .find(|(known, _)| known == id)
            .ok_or_else(|| SealError::UnknownKey(id.to_owned()))?;
        let corrupt = || SealError::Corrupt(id.to_owned());
        let blob = STANDARD_NO_PAD.decode(encoded).map_err(|_| corrupt())?;
        if blob.len() < NONCE_LEN {
            return Err(corrupt());
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| corrupt())?;
        let mut buffer = sealed.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(id.as_bytes()), &mut buffer)
            .map_err(|_| corrupt())?;
        String::from_utf8(plain.to_vec()).map_err(|_| corrupt())
    }

    /// Seals every value of a credentials map.
    pub fn seal_all(&self, values: &mut HashMap<String, String>) {
        for value in values.values_mut() {
            *value = self.seal(value);
        }
    }

    /// Opens every value of a credentials map; the first failure is returned
    /// and the map is left as it was.
    pub fn open_all(&self, values: &mut HashMap<String, String>) -> Result<(), SealError> {
        let mut opened = HashMap::with_capacity(values.len());
        for (name, value) in values.iter() {
            opened.insert(name.clone(), self.open(value)?);
        }
        *values = opened;
        Ok(())
    }
}

fn decode_key(material: &str) -> Option<[u8; KEY_LEN]> {
    let bytes = STANDARD
        .decode(material)
        .or_else(|_| STANDARD_NO_PAD.decode(material))
        .ok()?;
    bytes.try_into().ok()
}

fn invalid(message: impl Into<String>) -> SealError {
    SealError::InvalidKeyring(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    const K2: &str = "k2:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";

    #[test]
    fn seals_without_showing_the_value_and_opens_it_again() {
        let keys = Keyring::parse(K1).unwrap();
        let sealed = keys.seal("7000000001:AAE-secret");
        assert!(sealed.starts_with("enc:v1:k1:"), "{sealed}");
        assert!(!sealed.contains("AAE-secret"));
        assert_ne!(sealed, keys.seal("7000000001:AAE-secret"), "random nonce");
        assert_eq!(keys.open(&sealed).unwrap(), "7000000001:AAE-secret");
        assert_eq!(keys.seal(&sealed), sealed, "sealing twice is a no-op");
    }

    #[test]
    fn a_second_key_seals_new_values_and_still_opens_old_ones() {
        let old = Keyring::parse(K1).unwrap().seal("token");
        let rotated = Keyring::parse(&format!("{K2}, {K1}")).unwrap();
        assert_eq!(rotated.sealing_key_id(), Some("k2"));
        assert_eq!(rotated.open(&old).unwrap(), "token");
        assert!(rotated.seal("token").starts_with("enc:v1:k2:"));
        let without_old = Keyring::parse(K2).unwrap();
        assert_eq!(
            without_old.open(&old),
            Err(SealError::UnknownKey("k1".into()))
        );
    }

    #[test]
    fn clear_values_pass_through_and_no_key_means_no_sealing() {
        let none = Keyring::default();
        assert!(!none.is_enabled());
        assert_eq!(none.seal("token"), "token");
        assert_eq!(none.open("token").unwrap(), "token");
        let keys = Keyring::parse(K1).unwrap();
        assert_eq!(keys.open("legacy-token").unwrap(), "legacy-token");
    }

    #[test]
    fn tampered_values_do_not_open() {
        let keys = Keyring::parse(K1).unwrap();
        let sealed = keys.seal("token");
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(keys.open(&tampered), Err(SealError::Corrupt("k1".into())));
        assert!(keys.open("enc:v1:k1:").is_err());
        assert!(keys.open("enc:v1:k1:!!!").is_err());
        // The key id is authenticated: moving a value to another id fails.
        let both = Keyring::parse(&format!(
            "{K1},k3:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
        ))
        .unwrap();
        let moved = sealed.replacen("enc:v1:k1:", "enc:v1:k3:", 1);
        assert!(both.open(&moved).is_err());
    }

    #[test]
    fn malformed_keyrings_are_refused_with_a_reason() {
        for bad in [
            "",
            "k1",
            ":AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
            "k1:c2hvcnQ=",
            "k1:not base64!",
            "k 1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
            &format!("{K1},{K1}"),
            &format!("{K1},"),
        ] {
            let err = Keyring::parse(bad).unwrap_err();
            assert!(
                matches!(err, SealError::InvalidKeyring(_)),
                "{bad:?}: {err}"
            );
        }
        let debug = format!("{:?}", Keyring::parse(K1).unwrap());
        assert!(debug.contains("k1") && !debug.contains("AQEB"), "{debug}");
    }

    #[test]
    fn maps_are_sealed_and_opened_whole() {
        let keys = Keyring::parse(K1).unwrap();
        let mut map = HashMap::from([("bot_token".to_owned(), "t".to_owned())]);
        keys.seal_all(&mut map);
        assert!(map["bot_token"].starts_with(SEALED_PREFIX));
        keys.open_all(&mut map).unwrap();
        assert_eq!(map["bot_token"], "t");
    }
}
