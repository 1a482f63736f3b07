//! The console's pages and form actions, one file per area.

pub(crate) mod actions;
pub(crate) mod admin;
pub(crate) mod channels;
pub(crate) mod compose;
pub(crate) mod contacts;
pub(crate) mod conversation;
pub(crate) mod groups;
pub(crate) mod list;
pub(crate) mod login;

use serde::Deserialize;

/// The `?notice=` line a page shows after an action redirected to it.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Notice {
    pub notice: Option<String>,
}

/// Where an action sends the browser back to, with a line to show.
pub(crate) fn back(path: &str, notice: &str) -> axum::response::Redirect {
    if notice.is_empty() {
        return axum::response::Redirect::to(path);
    }
    let separator = if path.contains('?') { '&' } else { '?' };
    axum::response::Redirect::to(&format!(
        "{path}{separator}notice={}",
        crate::html::url_enc(notice)
    ))
}

/// Sends the browser back to `to`: with `Ok`'s line, or with the API's own
/// words after `failed` (a refused token signs out instead).
pub(crate) fn done(
    result: Result<String, crate::error::PageError>,
    to: &str,
    failed: &str,
) -> axum::response::Response {
    use crate::error::PageError;
    use axum::response::IntoResponse as _;
    match result {
        Ok(notice) => back(to, &notice).into_response(),
        Err(PageError::Api(s)) if s.code() == tonic::Code::Unauthenticated => {
            PageError::Api(s).into_response()
        }
        Err(e) => back(to, &format!("{failed}: {e}")).into_response(),
    }
}

/// Runs one API call as the signed-in operator; `Ok` carries the line to show.
pub(crate) async fn act<F, Fut>(
    state: &crate::AppState,
    session: &crate::session::Session,
    call: F,
) -> Result<String, crate::error::PageError>
where
    F: FnOnce(crate::api::Api) -> Fut,
    Fut: std::future::Future<Output = Result<String, tonic::Status>>,
{
    let api = crate::api::Api::of(state.transport.clone(), session)?;
    Ok(call(api).await?)
}
