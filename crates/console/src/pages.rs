//! The console's pages and form actions, one file per area.

pub(crate) mod actions;
pub(crate) mod admin;
pub(crate) mod channels;
pub(crate) mod compose;
pub(crate) mod conversation;
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
