//! The policy in reqwest: a resolver that drops refused addresses, and a
//! connector layer that checks the address every connection reached.

use std::collections::HashSet;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::{Connection, HttpInfo};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::{AllowList, EgressError};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The allow-list, and the addresses of hosts allowed by name.
#[derive(Debug, Default)]
pub(crate) struct Policy {
    allow: AllowList,
    named: RwLock<HashSet<IpAddr>>,
}

impl Policy {
    pub(crate) fn new(allow: AllowList) -> Self {
        Self {
            allow,
            named: RwLock::default(),
        }
    }

    pub(crate) fn allows(&self, address: IpAddr) -> bool {
        self.allow.allows(address)
            || self
                .named
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&address)
    }
}

/// Resolves with the system resolver and keeps the allowed addresses.
pub(crate) struct Resolver {
    policy: Arc<Policy>,
}

impl Resolver {
    pub(crate) fn new(policy: Arc<Policy>) -> Self {
        Self { policy }
    }
}

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if policy.allow.allows_host(&host) {
                let mut named = policy.named.write().unwrap_or_else(|e| e.into_inner());
                named.extend(found.iter().map(SocketAddr::ip));
                return Ok(Box::new(found.into_iter()) as Addrs);
            }
            let (allowed, refused): (Vec<_>, Vec<_>) =
                found.into_iter().partition(|a| policy.allows(a.ip()));
            match (allowed.is_empty(), refused.first()) {
                (true, Some(first)) => {
                    Err(Box::new(EgressError::NotAllowed(first.ip().to_canonical())) as BoxError)
                }
                _ => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

/// Wraps reqwest's connector with [`Guard`].
#[derive(Clone)]
pub(crate) struct GuardLayer {
    policy: Arc<Policy>,
}

impl GuardLayer {
    pub(crate) fn new(policy: Arc<Policy>) -> Self {
        Self { policy }
    }
}

impl<S> tower::Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            policy: self.policy.clone(),
        }
    }
}

/// Checks the remote address of every new connection before it is used.
#[derive(Clone)]
pub(crate) struct Guard<S> {
    inner: S,
    policy: Arc<Policy>,
}

impl<S, R> tower::Service<R> for Guard<S>
where
    S: tower::Service<R, Error = BoxError>,
    S::Response: Connection + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let connecting = self.inner.call(request);
        let policy = self.policy.clone();
        Box::pin(async move {
            let connection = connecting.await?;
            let mut extras = http::Extensions::new();
            connection.connected().get_extras(&mut extras);
            let Some(info) = extras.get::<HttpInfo>() else {
                return Err(Box::new(EgressError::Unchecked) as BoxError);
            };
            let address = info.remote_addr().ip().to_canonical();
            if policy.allows(address) {
                Ok(connection)
            } else {
                Err(Box::new(EgressError::NotAllowed(address)) as BoxError)
            }
        })
    }
}
