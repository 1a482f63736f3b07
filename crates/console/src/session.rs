//! The signed-in operator: a cookie holding the operator id and the API
//! token, signed with HMAC-SHA256 under a key only this process knows. The
//! token never appears in a URL or a page; the cookie is `HttpOnly` and
//! `SameSite=Strict`, so other sites can neither read it nor post with it.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use omnibus_core::secret::secrets_equal;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::AppState;

/// The cookie's name.
pub const COOKIE: &str = omnibus_api::auth::CONSOLE_COOKIE;
/// How long a sign-in lasts.
const MAX_AGE_S: i64 = 12 * 3600;

/// Who is signed in, and the token their API calls carry.
#[derive(Clone, Serialize, Deserialize)]
pub struct Session {
    /// The operator id the console acts as.
    pub operator_id: String,
    /// The API token given at sign-in (empty when the API needs none).
    pub token: String,
    /// Unix seconds after which the cookie is refused.
    expires: i64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("operator_id", &self.operator_id)
            .finish_non_exhaustive()
    }
}

/// Signs and checks session cookies.
#[derive(Clone)]
pub struct Signer {
    key: Arc<[u8; 32]>,
}

impl Signer {
    /// A signer with a fresh random key: a restart signs everyone out.
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut key);
        Self { key: Arc::new(key) }
    }

    fn mac(&self, payload: &str) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.as_slice()).expect("any key length");
        mac.update(payload.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// The `Set-Cookie` value that signs in `operator_id`.
    pub fn sign_in(&self, operator_id: &str, token: &str) -> String {
        let session = Session {
            operator_id: operator_id.to_owned(),
            token: token.to_owned(),
            expires: now_s() + MAX_AGE_S,
        };
        let payload = B64.encode(serde_json::to_vec(&session).expect("a session serializes"));
        let signature = B64.encode(self.mac(&payload));
        format!(
            "{COOKIE}={payload}.{signature}; Path=/; HttpOnly; SameSite=Strict; Max-Age={MAX_AGE_S}"
        )
    }

    /// The `Set-Cookie` value that signs out.
    pub fn sign_out() -> String {
        format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
    }

    /// The session of a request's cookie, when it is ours and current.
    pub fn verify(&self, headers: &HeaderMap) -> Option<Session> {
        let value = cookie(headers, COOKIE)?;
        let (payload, signature) = value.split_once('.')?;
        let signature = B64.decode(signature).ok()?;
        if !secrets_equal(&signature, &self.mac(payload)) {
            return None;
        }
        let session: Session = serde_json::from_slice(&B64.decode(payload).ok()?).ok()?;
        (session.expires > now_s()).then_some(session)
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn now_s() -> i64 {
    omnibus_core::now_ms() / 1000
}

/// Pages need a session; without one the browser goes to the sign-in page.
impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        state
            .signer
            .verify(&parts.headers)
            .ok_or_else(|| Redirect::to("/console/login").into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(set_cookie: &str) -> HeaderMap {
        let pair = set_cookie.split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, format!("other=1; {pair}").parse().unwrap());
        headers
    }

    #[test]
    fn a_signed_cookie_round_trips_and_a_forged_one_is_refused() {
        let signer = Signer::random();
        let set = signer.sign_in("alice", "s3cret");
        let session = signer.verify(&headers(&set)).expect("our cookie");
        assert_eq!(
            (session.operator_id.as_str(), session.token.as_str()),
            ("alice", "s3cret")
        );
        assert!(!format!("{session:?}").contains("s3cret"));

        assert!(
            Signer::random().verify(&headers(&set)).is_none(),
            "another key"
        );
        let (payload, signature) = set.split(';').next().unwrap().split_once('.').unwrap();
        let forged_payload =
            B64.encode(br#"{"operator_id":"root","token":"","expires":9999999999}"#);
        let forged = format!("{COOKIE}={forged_payload}.{signature}");
        assert!(
            signer.verify(&headers(&forged)).is_none(),
            "payload swapped"
        );
        assert!(signer.verify(&headers(&format!("{payload}.x"))).is_none());
        assert!(signer.verify(&HeaderMap::new()).is_none());
    }
}
