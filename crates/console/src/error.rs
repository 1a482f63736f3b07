//! What a page shows when the API says no.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::html;

/// Why a page or an action could not be served.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The API refused or failed the call.
    #[error("{}", .0.message())]
    Api(#[from] tonic::Status),
    /// The form was not usable.
    #[error("{0}")]
    Invalid(String),
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = match &self {
            // The token changed since sign-in: sign in again.
            PageError::Api(s) if s.code() == tonic::Code::Unauthenticated => {
                return Redirect::to("/console/login?expired=1").into_response();
            }
            PageError::Api(s) => match s.code() {
                tonic::Code::NotFound => StatusCode::NOT_FOUND,
                tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition => {
                    StatusCode::BAD_REQUEST
                }
                tonic::Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_GATEWAY,
            },
            PageError::Invalid(_) => StatusCode::BAD_REQUEST,
        };
        let body = format!(
            r#"<section class="panel"><h1>Something went wrong</h1><p class="error" role="alert">{}</p><p><a href="/console/">Back to conversations</a></p></section>"#,
            html::esc(&self.to_string())
        );
        (status, Html(html::bare_page("Error", &body))).into_response()
    }
}
