//! The API token. When `OMNIBUS_API_TOKEN` is set, every gRPC call must
//! carry `authorization: Bearer <token>`; the comparison is constant-time and
//! the token never appears in logs or errors.

use std::sync::Arc;

use omnibus_core::secret::secrets_equal;
use tonic::{Request, Status};

/// Checks the bearer token of incoming gRPC calls.
#[derive(Clone)]
pub struct TokenCheck {
    expected: Option<Arc<[u8]>>,
}

impl TokenCheck {
    /// Requires `token` on every call; `None` lets every call through.
    pub fn new(token: Option<&str>) -> Self {
        Self {
            expected: token.map(|t| Arc::from(t.as_bytes())),
        }
    }

    /// The interceptor function: `Ok` passes the call on.
    #[allow(clippy::result_large_err)] // the signature tonic's interceptors require
    pub fn check(&self, request: Request<()>) -> Result<Request<()>, Status> {
        let Some(expected) = &self.expected else {
            return Ok(request);
        };
        let given = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            });
        match given {
            Some(token) if secrets_equal(token.trim().as_bytes(), expected) => Ok(request),
            Some(_) => Err(Status::unauthenticated("the API token is not valid")),
            None => Err(Status::unauthenticated(
                "missing API token: send `authorization: Bearer <OMNIBUS_API_TOKEN>`",
            )),
        }
    }
}

/// The operator console's session cookie (`crates/console`): its payload,
/// `base64url(JSON)` before the signature, carries the API token the
/// operator signed in with, so `GET /media` accepts a signed-in browser in
/// any process that knows the API token.
pub const CONSOLE_COOKIE: &str = "omnibus_console";

/// Why an HTTP request was refused by [`TokenCheck::check_http`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HttpAuthError {
    /// Neither a bearer token nor a console session.
    #[error(
        "missing API token: send `Authorization: Bearer <OMNIBUS_API_TOKEN>` or sign in to the console"
    )]
    Missing,
    /// A token that is not the API token.
    #[error("the API token is not valid")]
    Invalid,
}

impl TokenCheck {
    /// Checks an HTTP request to the API's HTTP endpoints (`GET /media`):
    /// `Authorization: Bearer <token>`, or the console's session cookie
    /// carrying the token, compared in constant time.
    pub fn check_http(&self, headers: &axum::http::HeaderMap) -> Result<(), HttpAuthError> {
        let Some(expected) = &self.expected else {
            return Ok(());
        };
        let bearer = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_owned());
        let Some(given) = bearer.or_else(|| console_token(headers)) else {
            return Err(HttpAuthError::Missing);
        };
        match secrets_equal(given.as_bytes(), expected) {
            true => Ok(()),
            false => Err(HttpAuthError::Invalid),
        }
    }
}

/// The token inside a current console session cookie, if there is one.
/// The cookie's signature is the console's business; here the token itself
/// is the proof, checked like a bearer token.
fn console_token(headers: &axum::http::HeaderMap) -> Option<String> {
    use base64::Engine as _;
    let value = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == CONSOLE_COOKIE)
        .map(|(_, value)| value)?;
    let (payload, _signature) = value.split_once('.')?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let session: serde_json::Value = serde_json::from_slice(&json).ok()?;
    let expires = session.get("expires")?.as_i64()?;
    if expires <= omnibus_core::now_ms() / 1000 {
        return None;
    }
    let token = session.get("token")?.as_str()?;
    (!token.is_empty()).then(|| token.to_owned())
}

/// The client side of [`TokenCheck`]: adds `authorization: Bearer <token>`
/// to every request when a token is set (omnictl, the console). The header
/// is marked sensitive so it never shows in debug output.
#[derive(Clone, Default)]
pub struct BearerAuth {
    header: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>,
}

/// The token cannot ride in a header (a control character or non-ASCII).
#[derive(Debug, thiserror::Error)]
#[error("the API token contains characters a header cannot carry")]
pub struct UnusableToken;

impl BearerAuth {
    /// Builds the interceptor; `None` or an empty token sends no header.
    pub fn new(token: Option<&str>) -> Result<Self, UnusableToken> {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Ok(Self::default());
        };
        let mut header: tonic::metadata::MetadataValue<_> = format!("Bearer {token}")
            .parse()
            .map_err(|_| UnusableToken)?;
        header.set_sensitive(true);
        Ok(Self {
            header: Some(header),
        })
    }
}

impl tonic::service::Interceptor for BearerAuth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(header) = &self.header {
            request
                .metadata_mut()
                .insert("authorization", header.clone());
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(header: Option<&str>) -> Request<()> {
        let mut request = Request::new(());
        if let Some(value) = header {
            request
                .metadata_mut()
                .insert("authorization", value.parse().unwrap());
        }
        request
    }

    #[test]
    fn token_is_required_only_when_configured() {
        assert!(TokenCheck::new(None).check(call(None)).is_ok());
        let check = TokenCheck::new(Some("s3cret"));
        assert!(check.check(call(Some("Bearer s3cret"))).is_ok());
        let missing = check.check(call(None)).unwrap_err();
        assert_eq!(missing.code(), tonic::Code::Unauthenticated);
        let wrong = check.check(call(Some("Bearer nope"))).unwrap_err();
        assert_eq!(wrong.code(), tonic::Code::Unauthenticated);
        assert!(!wrong.message().contains("s3cret"));
        assert!(
            check.check(call(Some("s3cret"))).is_err(),
            "scheme is required"
        );
    }

    #[test]
    fn http_requests_pass_with_a_bearer_token_or_a_console_session() {
        use axum::http::{HeaderMap, header};
        use base64::Engine as _;
        let check = TokenCheck::new(Some("s3cret"));
        let mut headers = HeaderMap::new();
        assert_eq!(check.check_http(&headers), Err(HttpAuthError::Missing));
        headers.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        assert_eq!(check.check_http(&headers), Ok(()));
        headers.insert(header::AUTHORIZATION, "Bearer nope".parse().unwrap());
        assert_eq!(check.check_http(&headers), Err(HttpAuthError::Invalid));
        let session = |token: &str, expires: i64| {
            let json = format!(r#"{{"operator_id":"op","token":"{token}","expires":{expires}}}"#);
            let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
            let mut headers = HeaderMap::new();
            let cookie = format!("a=1; {CONSOLE_COOKIE}={payload}.sig");
            headers.insert(header::COOKIE, cookie.parse().unwrap());
            headers
        };
        let later = omnibus_core::now_ms() / 1000 + 60;
        assert_eq!(check.check_http(&session("s3cret", later)), Ok(()));
        assert_eq!(
            check.check_http(&session("other", later)),
            Err(HttpAuthError::Invalid)
        );
        assert_eq!(
            check.check_http(&session("s3cret", 1)),
            Err(HttpAuthError::Missing),
            "an expired session"
        );
        assert_eq!(TokenCheck::new(None).check_http(&HeaderMap::new()), Ok(()));
    }

    #[test]
    fn the_client_side_passes_the_check() {
        use tonic::service::Interceptor as _;
        let check = TokenCheck::new(Some("s3cret"));
        let mut auth = BearerAuth::new(Some("s3cret")).unwrap();
        assert!(check.check(auth.call(call(None)).unwrap()).is_ok());
        let mut none = BearerAuth::new(Some("")).unwrap();
        assert!(check.check(none.call(call(None)).unwrap()).is_err());
        assert!(BearerAuth::new(Some("bad\ntoken")).is_err());
    }
}
