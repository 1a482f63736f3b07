//! `omnictl messages media <message_id> <n> -o FILE`: downloads an
//! attachment's file through `GET /media` on the HTTP listener, with the
//! API token as a bearer token.

use std::io::Write as _;

use serde_json::json;

use crate::cli::{ApiToken, MediaArgs};
use crate::output::Output;

/// Downloads the file and writes it to `args.output`.
pub async fn download(
    args: MediaArgs,
    token: Option<&ApiToken>,
    out: &mut Output<'_>,
) -> anyhow::Result<()> {
    let url = format!(
        "{}/media/{}/{}",
        args.http.trim_end_matches('/'),
        args.message_id,
        args.index
    );
    let mut request = reqwest::Client::new().get(&url);
    if let Some(token) = token {
        request = request.bearer_auth(token.expose());
    }
    let mut response = request
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach {}: {}", args.http, e.without_url()))?;
    let status = response.status();
    if !status.is_success() {
        let why = response.text().await.unwrap_or_default();
        anyhow::bail!("GET /media answered {status}: {}", why.trim());
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut file = std::fs::File::create(&args.output)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", args.output.display()))?;
    let mut written = 0usize;
    while let Some(chunk) = response.chunk().await? {
        file.write_all(&chunk)?;
        written += chunk.len();
    }
    file.flush()?;
    let path = args.output.display().to_string();
    out.emit(
        || json!({ "file": path, "bytes": written, "content_type": content_type }),
        || format!("saved {written} bytes ({content_type}) to {path}"),
    )?;
    Ok(())
}
