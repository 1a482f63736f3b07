//! A client of the WhatsApp Cloud API on Meta's Graph API: sending messages,
//! reading a phone number (the token check) and listing templates, with
//! Graph's errors sorted into what the caller can act on.
//!
//! The access token travels in the `Authorization` header only; the kit's
//! provider client redacts any text echoing it.

use omnibus_ingress::{MediaCall, MediaDownload, Provider, ProviderError};
use omnibus_proto::message_failed::Kind;
use serde::Deserialize;
use serde_json::Value;

use crate::Whatsapp;

/// The Graph API version every path starts with.
pub const GRAPH_VERSION: &str = "v21.0";

/// Graph error codes that mean "too much, later": 130429 (throughput),
/// 131056 (pair rate limit), 4 / 80007 (app and account rate limits), and
/// 1, 2, 131000, 131016, 133004 (temporary failures at Meta).
const RETRYABLE_CODES: [i64; 9] = [130_429, 131_056, 4, 80_007, 1, 2, 131_000, 131_016, 133_004];

/// 131047: more than 24 hours since the customer last wrote.
pub const OUTSIDE_WINDOW_CODE: i64 = 131_047;

/// A failed Graph call, classified by what the caller should do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// Meta or the network failed, or Meta is throttling us; trying again
    /// later may work. `code` is Graph's, when it answered with one.
    #[error("transient failure ({code:?}): {message}")]
    Transient { code: Option<i64>, message: String },
    /// 131047: the customer's 24-hour window is closed.
    #[error("outside the customer service window: {message}")]
    OutsideWindow { message: String },
    /// 190 or HTTP 401: the access token expired or was revoked.
    #[error("unauthorized ({code}): {message}")]
    Unauthorized { code: i64, message: String },
    /// Anything else: Graph refused the request as it was. `code` 0 means
    /// it was refused here, before calling Graph.
    #[error("rejected ({code}): {message}")]
    Rejected { code: i64, message: String },
}

impl GraphError {
    /// Explains the failure to an operator, in words they can act on.
    pub fn readable(&self) -> String {
        match self {
            Self::Transient { message, .. } => {
                format!("WhatsApp is unavailable or throttling right now ({message})")
            }
            Self::OutsideWindow { message } => format!(
                "the customer has not written for more than 24 hours; only an approved template \
                 can be sent ({message})"
            ),
            Self::Unauthorized { message, .. } => format!(
                "WhatsApp refused the channel's access token (expired or revoked); update the \
                 channel's access_token ({message})"
            ),
            Self::Rejected { message, .. } => format!("WhatsApp refused the message: {message}"),
        }
    }

    /// Graph's error code, when Graph answered with one.
    pub fn provider_code(&self) -> Option<i64> {
        match self {
            Self::Transient { code, .. } => *code,
            Self::OutsideWindow { .. } => Some(OUTSIDE_WINDOW_CODE),
            Self::Unauthorized { code, .. } => Some(*code),
            Self::Rejected { code: 0, .. } => None,
            Self::Rejected { code, .. } => Some(*code),
        }
    }

    /// True when waiting and trying again may work.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }
}

/// What `GET /{version}/{phone_number_id}` says about a business number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PhoneNumber {
    pub verified_name: String,
    pub display_phone_number: String,
}

/// One page of `GET /{version}/{waba}/message_templates`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplatesPage {
    /// Graph's template objects.
    pub data: Vec<Value>,
    /// The cursor of the next page, when Graph says there is one.
    pub next: Option<String>,
}

/// Sends one message body with the channel's provider client; returns its
/// wamid.
pub async fn send(
    provider: &Provider,
    token: &str,
    phone_number_id: &str,
    body: &Value,
) -> Result<String, ProviderError> {
    let url = format!(
        "{}/{GRAPH_VERSION}/{phone_number_id}/messages",
        provider.base_url()
    );
    let answer = call(provider, token, provider.http().post(url).json(body)).await?;
    answer["messages"][0]["id"]
        .as_str()
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| unreadable("the answer carries no message id"))
}

/// The business number behind `phone_number_id`; the cheapest way to
/// check that the token works for it.
pub async fn phone_number(
    provider: &Provider,
    token: &str,
    phone_number_id: &str,
) -> Result<PhoneNumber, ProviderError> {
    let url = format!(
        "{}/{GRAPH_VERSION}/{phone_number_id}?fields=verified_name,display_phone_number",
        provider.base_url()
    );
    let answer = call(provider, token, provider.http().get(url)).await?;
    serde_json::from_value(answer).map_err(|_| unreadable("unreadable phone number"))
}

/// One page of the account's templates, from `after` (a cursor).
pub async fn templates_page(
    provider: &Provider,
    token: &str,
    business_account_id: &str,
    after: Option<&str>,
) -> Result<TemplatesPage, ProviderError> {
    // Graph's ids and cursors are URL-safe (digits, base64url).
    let mut url = format!(
        "{}/{GRAPH_VERSION}/{business_account_id}/message_templates?limit=100\
         &fields=name,language,status,category,components,id,rejected_reason",
        provider.base_url()
    );
    if let Some(after) = after {
        url.push_str("&after=");
        url.push_str(&url_safe(after));
    }
    let answer = call(provider, token, provider.http().get(url)).await?;
    let data = answer["data"].as_array().cloned().unwrap_or_default();
    let after = answer["paging"]["cursors"]["after"]
        .as_str()
        .filter(|a| !a.is_empty());
    let has_next = answer["paging"]["next"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    Ok(TemplatesPage {
        next: after
            .filter(|_| has_next && !data.is_empty())
            .map(str::to_owned),
        data,
    })
}

/// Resolves an inbound media id (`GET /<version>/<media id>` → a short-lived
/// URL) and returns the download of that URL, which Graph also wants the
/// access token for.
pub async fn media_download(call: &MediaCall<'_>) -> Result<MediaDownload, ProviderError> {
    let media_id = call.attachment.provider_file_id.trim();
    if media_id.is_empty() {
        return omnibus_ingress::messenger::link_download(call);
    }
    if !media_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(ProviderError::refused("the media id is not a Graph id"));
    }
    let provider = call.provider;
    let token = call.credential("access_token");
    let url = format!("{}/{GRAPH_VERSION}/{media_id}", provider.base_url());
    let media = self::call(provider, token, provider.http().get(url)).await?;
    let Some(link) = media["url"].as_str().filter(|u| u.starts_with("http")) else {
        return Err(unreadable("Graph gave no URL for the media"));
    };
    Ok(MediaDownload {
        request: provider.http().get(link).bearer_auth(token),
        mime_type: media["mime_type"].as_str().unwrap_or_default().to_owned(),
    })
}

/// Makes a Graph request with the access token in `Authorization` only.
async fn call(
    provider: &Provider,
    token: &str,
    request: reqwest::RequestBuilder,
) -> Result<Value, ProviderError> {
    provider.send(&Whatsapp, request.bearer_auth(token)).await
}

fn unreadable(what: &str) -> ProviderError {
    GraphError::Transient {
        code: None,
        message: what.to_owned(),
    }
    .into()
}

impl From<GraphError> for ProviderError {
    fn from(error: GraphError) -> Self {
        let reason = error.readable();
        let code = error.provider_code().map(|c| c.to_string());
        match error {
            GraphError::Transient { .. } => Self::Retry {
                after: None,
                reason,
                code,
            },
            GraphError::OutsideWindow { .. } => Self::OutsideWindow { reason, code },
            GraphError::Unauthorized { .. } => Self::Unauthorized { reason, code },
            GraphError::Rejected { .. } => Self::Fail {
                kind: Kind::Rejected,
                reason,
                code,
            },
        }
    }
}

/// Percent-encodes what is not unreserved in a query value (cursors may
/// end in base64 `=` padding).
fn url_safe(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn transient(code: Option<i64>, message: String) -> GraphError {
    GraphError::Transient { code, message }
}

// === answers ===

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Envelope {
    error: Option<ErrorBody>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErrorBody {
    message: String,
    code: i64,
    error_user_title: String,
    error_data: ErrorData,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErrorData {
    details: String,
}

/// Decodes a Graph answer, or classifies its error.
pub(crate) fn decode(status: u16, body: &[u8]) -> Result<Value, GraphError> {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    let error = value
        .as_ref()
        .and_then(|v| serde_json::from_value::<Envelope>(v.clone()).ok())
        .and_then(|e| e.error);
    match (status, value, error) {
        (200..=299, Some(value), None) => Ok(value),
        (_, _, Some(error)) => Err(classify(status, &error)),
        (500..=599, ..) | (200..=299, None, None) => Err(transient(
            None,
            format!("unreadable answer from WhatsApp (http {status})"),
        )),
        (401, ..) => Err(GraphError::Unauthorized {
            code: 190,
            message: "http 401".into(),
        }),
        (429, ..) => Err(transient(None, "http 429".into())),
        _ => Err(GraphError::Rejected {
            code: i64::from(status),
            message: format!("http {status}"),
        }),
    }
}

/// Sorts a Graph error by its code, then by HTTP status.
fn classify(status: u16, error: &ErrorBody) -> GraphError {
    let title = title(error);
    let message = if error.error_data.details.is_empty() || error.error_data.details == title {
        title
    } else {
        format!("{title}: {}", error.error_data.details)
    };
    let code = error.code;
    if code == OUTSIDE_WINDOW_CODE {
        GraphError::OutsideWindow { message }
    } else if code == 190 || status == 401 {
        GraphError::Unauthorized { code, message }
    } else if RETRYABLE_CODES.contains(&code) || status >= 500 || status == 429 {
        transient(Some(code), message)
    } else {
        GraphError::Rejected { code, message }
    }
}

/// The error's title: `error_user_title`, else `message` without Graph's
/// `(#131047) ` prefix.
fn title(error: &ErrorBody) -> String {
    if !error.error_user_title.is_empty() {
        return error.error_user_title.clone();
    }
    let message = error.message.trim();
    match message
        .strip_prefix("(#")
        .and_then(|rest| rest.split_once(") "))
    {
        Some((_, title)) => title.to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests;
