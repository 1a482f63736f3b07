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
