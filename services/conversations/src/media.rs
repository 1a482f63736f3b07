//! `GET /media/<message_id>/<n>`: streams attachment `n` of a message.
//!
//! This service knows message → channel and attachment; the messenger's
//! ingress knows how to fetch from the provider. The file comes from the
//! keep bucket (copies taken at receipt where links expire), else the cache
//! bucket (an earlier fetch), else the ingress is asked over NATS to fetch
//! it into the cache bucket (through the outbound allow-list, capped in
//! size), and it is streamed from there. The bytes never ride in a NATS
//! request, so this works with every service in its own process.
//!
//! # Layout
//! - this file: the route, the lookups and the answers
//! - [`links`]: attachments' `url` in API answers

pub mod links;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use omnibus_api::auth::{HttpAuthError, TokenCheck};
use omnibus_bus::media::object_name;
use omnibus_bus::{Bus, MediaBuckets, MediaRetention, Shelf, StoredMedia};
use omnibus_core::kind::has_file;
use omnibus_proto::{
    Attachment, ChannelKind, MediaFetchReply, MediaFetchRequest, media_fetch_reply::Outcome,
};
use tokio::sync::OnceCell;

pub use links::MediaLinks;

use crate::commands::Commands;
use crate::queries::Queries;

/// The default size cap of a served file (`OMNIBUS_MEDIA_MAX_BYTES`).
pub const DEFAULT_MAX_BYTES: u64 = 25 * 1024 * 1024;

/// Settings of `GET /media`.
#[derive(Clone)]
pub struct MediaConfig {
    /// `OMNIBUS_API_TOKEN`: required (as a bearer token or inside the
    /// console's session) when set.
    pub api_token: Option<String>,
    /// Larger files answer 413.
    pub max_bytes: u64,
    /// How long the media buckets keep files.
    pub retention: MediaRetention,
    /// How long the ingress may take to fetch a file.
    pub fetch_timeout: Duration,
}

impl std::fmt::Debug for MediaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaConfig")
            .field("max_bytes", &self.max_bytes)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            api_token: None,
            max_bytes: DEFAULT_MAX_BYTES,
            retention: MediaRetention::default(),
            fetch_timeout: Duration::from_secs(60),
        }
    }
}

#[derive(Clone)]
struct MediaState {
    queries: Queries,
    commands: Commands,
    bus: Bus,
    check: TokenCheck,
    config: Arc<MediaConfig>,
    /// Opened on first use, so a NATS hiccup at start costs no restart.
    buckets: Arc<OnceCell<MediaBuckets>>,
}

/// The `/media/{message_id}/{n}` route.
pub(crate) fn router(
    queries: Queries,
    commands: Commands,
    bus: Bus,
    config: MediaConfig,
) -> Router {
    let state = MediaState {
        queries,
        commands,
        bus,
        check: TokenCheck::new(config.api_token.as_deref()),
        config: Arc::new(config),
        buckets: Arc::new(OnceCell::new()),
    };
    Router::new()
        .route("/media/{message_id}/{index}", get(serve))
        .with_state(state)
}

/// Why no file is served; one mapping to HTTP answers.
#[derive(Debug, thiserror::Error)]
enum MediaError {
    #[error("{0}")]
    Unauthenticated(#[from] HttpAuthError),
    #[error("{0}")]
    NotFound(String),
    #[error("the file is larger than the limit of {0} bytes (OMNIBUS_MEDIA_MAX_BYTES)")]
    TooLarge(u64),
    #[error("the provider did not give the file: {0}")]
    Provider(String),
    #[error("{0}")]
    Unavailable(String),
}

impl IntoResponse for MediaError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Provider(_) => StatusCode::BAD_GATEWAY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        let mut response = (status, format!("{self}\n")).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[tracing::instrument(skip_all, fields(message_id = %message_id, index = %index, channel_id))]
async fn serve(
    State(state): State<MediaState>,
    Path((message_id, index)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match media(&state, &message_id, &index, &headers).await {
        Ok(response) => response,
        Err(err) => {
            tracing::debug!(error = %err, "media not served");
            err.into_response()
        }
    }
}

async fn media(
    state: &MediaState,
    message_id: &str,
    index: &str,
    headers: &HeaderMap,
) -> Result<Response, MediaError> {
    state.check.check_http(headers)?;
    let not_found =
        || MediaError::NotFound(format!("message {message_id} has no attachment {index}"));
    let index: u32 = index.parse().map_err(|_| not_found())?;
    let stored = state
        .queries
        .stored_message(message_id)
        .await
        .map_err(|e| MediaError::Unavailable(format!("the message store failed: {e}")))?
        .ok_or_else(|| MediaError::NotFound(format!("no message {message_id}")))?;
    let attachment = stored
        .attachments
        .get(index as usize)
        .ok_or_else(not_found)?;
    if !has_file(attachment) {
        return Err(MediaError::NotFound(format!(
            "attachment {index} of message {message_id} is a location or a contact card: it has no file"
        )));
    }
    let buckets = state.buckets().await?;
    let name = object_name(message_id, index);
    for shelf in [Shelf::Keep, Shelf::Cache] {
        if let Some(found) = lookup(buckets, shelf, &name).await? {
            return respond(found, attachment, state.config.max_bytes);
        }
    }
    let kind = ChannelKind::try_from(stored.channel_kind).unwrap_or(ChannelKind::Unspecified);
    let request = MediaFetchRequest {
        channel_id: stored.channel_id.clone(),
        message_id: message_id.to_owned(),
        index,
        attachment: Some(attachment.clone()),
        max_bytes: state.config.max_bytes,
        bucket: buckets.bucket_name(Shelf::Cache).to_owned(),
        object_name: name.clone(),
    };
    let reply: MediaFetchReply = state
        .commands
        .ask_within(
            kind,
            "media",
            "fetch the file",
            &request,
            state.config.fetch_timeout,
        )
        .await
        .map_err(|e| MediaError::Unavailable(e.to_string()))?;
    match Outcome::try_from(reply.outcome) {
        Ok(Outcome::Ok) => {}
        Ok(Outcome::TooLarge) => return Err(MediaError::TooLarge(state.config.max_bytes)),
        Ok(Outcome::NotFound) => return Err(MediaError::NotFound(reply.message)),
        _ => return Err(MediaError::Provider(reply.message)),
    }
    let found = lookup(buckets, Shelf::Cache, &name)
        .await?
        .ok_or_else(|| MediaError::Unavailable("the fetched file is not in the cache".into()))?;
    respond(found, attachment, state.config.max_bytes)
}

async fn lookup(
    buckets: &MediaBuckets,
    shelf: Shelf,
    name: &str,
) -> Result<Option<StoredMedia>, MediaError> {
    buckets
        .get(shelf, name)
        .await
        .map_err(|e| MediaError::Unavailable(format!("the media store failed: {e}")))
}

impl MediaState {
    async fn buckets(&self) -> Result<&MediaBuckets, MediaError> {
        self.buckets
            .get_or_try_init(|| MediaBuckets::open(&self.bus, self.config.retention))
            .await
            .map_err(|e| MediaError::Unavailable(format!("the media store failed: {e}")))
    }
}

/// Types a browser may show inline from our origin; anything else (HTML,
/// SVG, scripts) is a download, so a customer's file never runs as a page.
fn inline(mime: &str) -> bool {
    let mime = mime.to_ascii_lowercase();
    ["image/", "video/", "audio/"]
        .iter()
        .any(|prefix| mime.starts_with(prefix))
        && !mime.contains("svg")
        || mime == "application/pdf"
}

fn respond(
    found: StoredMedia,
    attachment: &Attachment,
    max_bytes: u64,
) -> Result<Response, MediaError> {
    if found.size > max_bytes {
        return Err(MediaError::TooLarge(max_bytes));
    }
    let mime = [attachment.mime_type.trim(), found.mime_type.trim()]
        .into_iter()
        .find(|m| !m.is_empty())
        .unwrap_or("application/octet-stream");
    let content_type =
        HeaderValue::from_str(mime).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let file_name = [&attachment.file_name, &found.file_name]
        .into_iter()
        .find(|n| !n.trim().is_empty())
        .map(|n| n.trim());
    let disposition = disposition(inline(mime), file_name);
    let size = found.size;
    let body = Body::from_stream(chunks(found.object));
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    Ok(response)
}

/// `inline` or `attachment`, with the file name when known: a plain ASCII
/// `filename` and the exact one as `filename*` (RFC 6266).
fn disposition(inline: bool, file_name: Option<&str>) -> HeaderValue {
    let kind = if inline { "inline" } else { "attachment" };
    let Some(name) = file_name else {
        return HeaderValue::from_static(if inline { "inline" } else { "attachment" });
    };
    let ascii: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' && c != '%' => c,
            _ => '_',
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    HeaderValue::from_str(&format!(
        "{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or(HeaderValue::from_static("attachment"))
}

/// The object's bytes as a stream of chunks.
fn chunks(
    object: async_nats::jetstream::object_store::Object,
) -> impl futures::Stream<Item = std::io::Result<bytes::Bytes>> + Send {
    use tokio::io::AsyncReadExt as _;
    futures::stream::unfold(Some(object), |object| async move {
        let mut object = object?;
        let mut buffer = bytes::BytesMut::with_capacity(64 * 1024);
        match object.read_buf(&mut buffer).await {
            Ok(0) => None,
            Ok(_) => Some((Ok(buffer.freeze()), Some(object))),
            Err(err) => Some((Err(err), None)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_media_types_show_inline() {
        assert!(inline("image/jpeg"));
        assert!(inline("video/mp4"));
        assert!(inline("application/pdf"));
        assert!(!inline("image/svg+xml"));
        assert!(!inline("text/html"));
        assert!(!inline("application/octet-stream"));
    }

    #[test]
    fn file_names_are_quoted_safely() {
        let value = disposition(false, Some("отчёт \"1\".pdf"));
        let text = value.to_str().unwrap();
        assert!(text.starts_with("attachment; filename=\""), "{text}");
        assert!(!text.contains("\"1\""), "{text}");
        assert!(text.contains("filename*=UTF-8''%D0%BE"), "{text}");
        assert_eq!(disposition(true, None), "inline");
    }
}
