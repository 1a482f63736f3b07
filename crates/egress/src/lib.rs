//! The one way Omnibus makes outbound HTTP calls (provider APIs, operators'
//! webhooks), so a channel's `api_base_url` or a webhook target cannot be
//! used to reach the network Omnibus runs in.
//!
//! - Internal addresses (loopback, link-local, private, unique-local, …)
//!   are refused unless `OMNIBUS_OUTBOUND_ALLOW` lists them, checked on the
//!   address actually connected to: names are filtered as they resolve, and
//!   every connection (IP-literal hosts such as `http://2130706433/` or
//!   `http://[::ffff:127.0.0.1]/` included, which skip the resolver) is
//!   checked before a byte of the request is written.
//! - Redirects are not followed; proxies from the environment are not used.
//! - Answers are read up to a cap ([`read_capped`]).

mod allow;
mod guard;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

pub use allow::{AllowList, AllowListError, is_internal};

/// Why an outbound call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    /// The target is an internal address that is not allowed.
    #[error("address {0} is not allowed (OMNIBUS_OUTBOUND_ALLOW)")]
    NotAllowed(IpAddr),
    /// The connection's address could not be checked.
    #[error("the connected address could not be checked")]
    Unchecked,
}

impl EgressError {
    /// The egress refusal somewhere in `error`'s source chain, if any:
    /// callers tell a refused target (final) from a network failure
    /// (transient) with it.
    pub fn find<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a EgressError> {
        std::iter::successors(Some(error), |e| e.source()).find_map(|e| e.downcast_ref())
    }
}

/// The outbound policy; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Egress {
    policy: Arc<guard::Policy>,
}

impl Egress {
    /// A policy allowing the internal hosts and networks of `allow`.
    pub fn new(allow: AllowList) -> Self {
        Self {
            policy: Arc::new(guard::Policy::new(allow)),
        }
    }

    /// A client builder with the policy in place (resolver, connection
    /// check, no redirects, no proxies, a 10 s connect timeout); callers
    /// may add timeouts and headers, never another resolver.
    pub fn builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .dns_resolver(Arc::new(guard::Resolver::new(self.policy.clone())))
            .connector_layer(guard::GuardLayer::new(self.policy.clone()))
    }

    /// A client with the policy in place.
    pub fn client(&self) -> Result<reqwest::Client, reqwest::Error> {
        self.builder().build()
    }

    /// True when `address` may be reached.
    pub fn allows(&self, address: IpAddr) -> bool {
        self.policy.allows(address)
    }
}

/// Reads `response`'s body, at most `limit` bytes (the rest is dropped, so
/// a huge or endless answer cannot exhaust memory).
pub async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Bytes, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == limit {
            break;
        }
    }
    Ok(Bytes::from(body))
}

#[cfg(test)]
mod tests;
