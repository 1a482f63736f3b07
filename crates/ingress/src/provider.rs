//! Calling a messenger's API: the error classes every provider answer is
//! sorted into, and a client bound to one channel that keeps the channel's
//! credentials out of every error text (Telegram's token sits in URL paths).

use std::time::Duration;

use bytes::Bytes;
use omnibus_egress::{EgressError, read_capped};
use omnibus_proto::{ChannelState, message_failed::Kind};
use serde_json::Value;

use crate::messenger::Messenger;

/// How long one provider request may take before it counts as transient.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest provider answer read; anything longer is cut off (and so
/// unreadable, hence transient).
pub const ANSWER_LIMIT: usize = 4 * 1024 * 1024;

/// A failed provider call, by what the kit should do next. `reason` is
/// written for an operator ("Telegram refused the bot token; check the
/// channel credentials"), `code` is the provider's own error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Try again: an outage, a timeout or throttling. `after` is the wait
    /// the provider asked for (capped by the retry policy); without one the
    /// kit backs off exponentially.
    #[error("{reason}")]
    Retry {
        after: Option<Duration>,
        reason: String,
        code: Option<String>,
    },
    /// Final: the message will not go as it is.
    #[error("{reason}")]
    Fail {
        kind: Kind,
        reason: String,
        code: Option<String>,
    },
    /// The provider refused the channel's credentials: the message fails
    /// as `UNAUTHORIZED` and the channel is flagged `ERROR` with the reason.
    #[error("{reason}")]
    Unauthorized {
        reason: String,
        code: Option<String>,
    },
    /// The customer's 24-hour window is closed; the window service decides
    /// what happens to the message.
    #[error("{reason}")]
    OutsideWindow {
        reason: String,
        code: Option<String>,
    },
}

impl ProviderError {
    /// A transient failure without a provider code.
    pub fn transient(reason: impl Into<String>) -> Self {
        Self::Retry {
            after: None,
            reason: reason.into(),
            code: None,
        }
    }

    /// A final refusal made here, before calling the provider.
    pub fn refused(reason: impl Into<String>) -> Self {
        Self::Fail {
            kind: Kind::Rejected,
            reason: reason.into(),
            code: None,
        }
    }

    /// Transient, with the provider's code: retried later.
    pub fn retry(reason: impl Into<String>, code: Option<String>) -> Self {
        Self::Retry {
            after: None,
            reason: reason.into(),
            code,
        }
    }

    /// The channel's credentials were refused.
    pub fn unauthorized(reason: impl Into<String>, code: Option<String>) -> Self {
        Self::Unauthorized {
            reason: reason.into(),
            code,
        }
    }

    /// The customer cannot be reached (blocked, unsubscribed, privacy).
    pub fn unreachable(reason: impl Into<String>, code: Option<String>) -> Self {
        Self::Fail {
            kind: Kind::RecipientBlocked,
            reason: reason.into(),
            code,
        }
    }

    /// The provider refused the request as it was.
    pub fn rejected(reason: impl Into<String>, code: Option<String>) -> Self {
        Self::Fail {
            kind: Kind::Rejected,
            reason: reason.into(),
            code,
        }
    }

    /// The reason, for an operator.
    pub fn reason(&self) -> &str {
        match self {
            Self::Retry { reason, .. }
            | Self::Fail { reason, .. }
            | Self::Unauthorized { reason, .. }
            | Self::OutsideWindow { reason, .. } => reason,
        }
    }

    /// The provider's error code, when it answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Retry { code, .. }
            | Self::Fail { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::OutsideWindow { code, .. } => code.as_deref(),
        }
    }

    /// True when waiting and trying again may work.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Retry { .. })
    }

    /// True when the channel itself is unusable and is flagged ERROR.
    pub fn flags_channel(&self) -> bool {
        matches!(self, Self::Unauthorized { .. })
    }

    /// How the message fails when this is the last word
    /// (`MessageFailed.kind`; a transient error once retries are spent).
    pub fn failure_kind(&self) -> Kind {
        match self {
            Self::Retry { .. } => Kind::GaveUp,
            Self::Unauthorized { .. } => Kind::Unauthorized,
            Self::Fail { kind, .. } => *kind,
            Self::OutsideWindow { .. } => Kind::WindowClosed,
        }
    }

    /// The same error with `redact` applied to its texts.
    fn map_text(self, redact: impl Fn(&str) -> String) -> Self {
        match self {
            Self::Retry {
                after,
                reason,
                code,
            } => Self::Retry {
                after,
                reason: redact(&reason),
                code,
            },
            Self::Fail { kind, reason, code } => Self::Fail {
                kind,
                reason: redact(&reason),
                code,
            },
            Self::Unauthorized { reason, code } => Self::Unauthorized {
                reason: redact(&reason),
                code,
            },
            Self::OutsideWindow { reason, code } => Self::OutsideWindow {
                reason: redact(&reason),
                code,
            },
        }
    }
}

/// A client of a messenger's API for one channel: its base URL, and its
/// secret credentials, which never appear in an error (or in `Debug`).
#[derive(Clone)]
pub struct Provider {
    http: reqwest::Client,
    base_url: String,
    secrets: Vec<String>,
    timeout: Duration,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// A client of `base_url` that redacts `secrets` from its errors.
    pub fn new(http: reqwest::Client, base_url: &str, secrets: Vec<String>) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            secrets: secrets.into_iter().filter(|s| !s.is_empty()).collect(),
            timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }

    /// A client for `channel` of messenger `M`: its `api_base_url` (else
    /// `default_base`) and the values of `M::SECRET_KEYS` as secrets.
    pub fn for_channel<M: Messenger>(
        http: reqwest::Client,
        default_base: &str,
        channel: &ChannelState,
    ) -> Self {
        let base = channel.api_base_url.trim();
        let base = if base.is_empty() { default_base } else { base };
        let secrets = M::SECRET_KEYS
            .iter()
            .filter_map(|key| channel.credentials.get(*key).cloned())
            .collect();
        Self::new(http, base, secrets)
    }

    /// Sets how long one request may take before it counts as transient.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The API base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The HTTP client, to build requests with.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends `request` and has `messenger` classify the answer. Transport
    /// failures (timeouts, refused connections) are transient; every error
    /// text is redacted.
    pub async fn send<M: Messenger>(
        &self,
        messenger: &M,
        request: reqwest::RequestBuilder,
    ) -> Result<Value, ProviderError> {
        let (status, body) = self.exchange(request).await?;
        messenger
            .classify(status, &body)
            .map_err(|e| e.map_text(|t| self.redact(t)))
    }

    /// Sends `request`; returns the status and the body (at most
    /// [`ANSWER_LIMIT`] bytes).
    pub async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, Bytes), ProviderError> {
        let response = request
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status().as_u16();
        let body = read_capped(response, ANSWER_LIMIT)
            .await
            .map_err(|e| self.transport_error(e))?;
        Ok((status, body))
    }

    /// Downloads a file with `request`: at most `limit` bytes, else
    /// [`Download::TooLarge`] (told by `Content-Length` before reading
    /// when the provider sends one). Every error text is redacted.
    pub async fn download(
        &self,
        request: reqwest::RequestBuilder,
        limit: u64,
    ) -> Result<Downloaded, Download> {
        let response = request
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| Download::Failed(self.transport_error(e).reason().to_owned()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(Download::Failed(format!(
                "the provider answered {status} to the file download"
            )));
        }
        if response
            .content_length()
            .is_some_and(|length| length > limit)
        {
            return Err(Download::TooLarge);
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let cap = usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX);
        let bytes = read_capped(response, cap)
            .await
            .map_err(|e| Download::Failed(self.transport_error(e).reason().to_owned()))?;
        if bytes.len() as u64 > limit {
            return Err(Download::TooLarge);
        }
        Ok(Downloaded {
            bytes,
            content_type,
        })
    }

    /// A network-level failure, without the URL (and so without a token
    /// in its path).
    fn transport_error(&self, error: reqwest::Error) -> ProviderError {
        if let Some(refused) = EgressError::find(&error) {
            return ProviderError::Fail {
                kind: Kind::NotSent,
                reason: format!("the provider's {refused}; check the channel's api_base_url"),
                code: None,
            };
        }
        let kind = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "connection failed"
        } else {
            "request failed"
        };
        let detail = error_chain(&error.without_url());
        ProviderError::transient(self.redact(&format!("{kind}: {detail}")))
    }

    /// `text` with every secret replaced by `<redacted>`.
    pub fn redact(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_owned(), |text, secret| {
            text.replace(secret.as_str(), "<redacted>")
        })
    }
}

/// A downloaded file.
#[derive(Debug, Clone)]
pub struct Downloaded {
    /// The bytes.
    pub bytes: Bytes,
    /// The answer's `Content-Type`, empty when missing.
    pub content_type: String,
}

/// Why a download gave no file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Download {
    /// Larger than the limit.
    #[error("the file is larger than the limit")]
    TooLarge,
    /// The provider or the network failed, or the outbound allow-list
    /// refused the address; redacted.
    #[error("{0}")]
    Failed(String),
}

/// An error and its sources, joined: reqwest's top-level text alone
/// ("error sending request") hides the useful part.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// One planned request of a send, with what the messenger needs to make it.
pub struct Call<'a> {
    /// The channel's provider client.
    pub provider: &'a Provider,
    /// The channel, with its credentials.
    pub channel: &'a ChannelState,
    /// Our id of the message being sent.
    pub message_id: &'a str,
    /// The request's position in the plan (0 for the first).
    pub part: usize,
}

impl Call<'_> {
    /// A credential of the channel, trimmed; empty when missing.
    pub fn credential(&self, key: &str) -> &str {
        self.channel.credentials.get(key).map_or("", |v| v.trim())
    }

    /// A key that is the same for every try of this request and differs
    /// between requests, for providers that deduplicate sends (VK
    /// `random_id`, Wazzup `crmMessageId`).
    pub fn idempotency_key(&self) -> String {
        if self.part == 0 {
            self.message_id.to_owned()
        } else {
            format!("{}-{}", self.message_id, self.part)
        }
    }

    /// [`idempotency_key`](Self::idempotency_key) as a positive 31-bit
    /// number (FNV-1a), for providers that want an integer.
    pub fn idempotency_number(&self) -> i32 {
        omnibus_core::ids::idempotency_number(&self.idempotency_key())
    }
}
