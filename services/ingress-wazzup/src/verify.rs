//! Wazzup signs nothing (providers.md §6.1). When the channel has a
//! `webhook_token` (given to Wazzup as its `crmKey`), every delivery must
//! carry `Authorization: Bearer <webhook_token>`; without one, only a body
//! naming a known channel of the account is accepted
//! ([`crate::normalize::names_account`]).

use omnibus_core::secret::secrets_equal;

/// How a delivery fared against the channel's `webhook_token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The header carries the token.
    Verified,
    /// The channel has no token: the body must name the account.
    NeedsKnownChannel,
    /// A token is set and the header does not carry it: 401.
    Refused,
}

/// Checks the `Authorization` header (as received) against `webhook_token`,
/// in constant time; needs only headers, so it runs before the body is read.
pub fn check(webhook_token: &str, authorization: Option<&[u8]>) -> Verdict {
    if webhook_token.is_empty() {
        return Verdict::NeedsKnownChannel;
    }
    let Some(given) = authorization.and_then(|h| h.strip_prefix(b"Bearer ")) else {
        return Verdict::Refused;
    };
    if secrets_equal(given.trim_ascii(), webhook_token.as_bytes()) {
        Verdict::Verified
    } else {
        Verdict::Refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_token_when_the_channel_has_one() {
        assert_eq!(check("Q7f", Some(b"Bearer Q7f")), Verdict::Verified);
        assert_eq!(check("Q7f", Some(b"Bearer Q7g")), Verdict::Refused);
        assert_eq!(check("Q7f", Some(b"Q7f")), Verdict::Refused);
        assert_eq!(check("Q7f", None), Verdict::Refused);
        assert_eq!(check("", None), Verdict::NeedsKnownChannel);
        assert_eq!(
            check("", Some(b"Bearer anything")),
            Verdict::NeedsKnownChannel
        );
    }
}
