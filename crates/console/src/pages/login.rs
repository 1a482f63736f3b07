//! Signing in with an operator id and, when the API has one, its token.
//! The token is checked by calling the API with it; it is kept only in the
//! signed cookie.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use omnibus_proto::ListOperatorsRequest;
use serde::Deserialize;

use crate::AppState;
use crate::api::Api;
use crate::html::{bare_page, esc};
use crate::session::Signer;

/// The longest operator id the console accepts.
const MAX_OPERATOR_ID: usize = 64;

#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    expired: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    operator_id: String,
    #[serde(default)]
    token: String,
}

/// `GET /console/login`.
pub(crate) async fn form(Query(query): Query<LoginQuery>) -> Html<String> {
    let message = query
        .expired
        .map(|_| "Your session ended or the API token changed: sign in again.");
    Html(render("", message))
}

fn render(operator_id: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| {
            format!(
                r#"<p class="error" role="alert" id="login-error">{}</p>"#,
                esc(e)
            )
        })
        .unwrap_or_default();
    let body = format!(
        r#"<section class="panel login"><h1><span class="brand">Omnibus</span> console</h1><p class="muted">Answer customers on every messenger from one inbox.</p>{error}<form method="post" action="/console/login"><label for="operator_id">Operator id</label><input id="operator_id" name="operator_id" required maxlength="{MAX_OPERATOR_ID}" autocomplete="username" autofocus value="{}"><label for="token">API token <span class="muted">(when the server has one)</span></label><input id="token" name="token" type="password" autocomplete="current-password"><button class="primary" type="submit">Sign in</button></form></section>"#,
        esc(operator_id)
    );
    bare_page("Sign in", &body)
}

fn valid_operator_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_OPERATOR_ID
        && id
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

/// `POST /console/login`: checks the token against the API, then signs in.
pub(crate) async fn submit(State(state): State<AppState>, Form(form): Form<LoginForm>) -> Response {
    let operator_id = form.operator_id.trim();
    let refuse = |status: StatusCode, why: &str| {
        (status, Html(render(operator_id, Some(why)))).into_response()
    };
    if !valid_operator_id(operator_id) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "An operator id is letters, digits, '.', '_', '-' or '@' (at most 64).",
        );
    }
    let token = form.token.trim();
    let api = match Api::new(state.transport.clone(), token) {
        Ok(api) => api,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    match api
        .operators()
        .list_operators(ListOperatorsRequest {})
        .await
    {
        Ok(_) => {}
        Err(status) if status.code() == tonic::Code::Unauthenticated => {
            tracing::info!(%operator_id, "console sign-in refused: wrong API token");
            return refuse(
                StatusCode::UNAUTHORIZED,
                "The API token is not valid. Use the server's OMNIBUS_API_TOKEN.",
            );
        }
        Err(status) => {
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("The API cannot be reached: {}", status.message()),
            );
        }
    }
    tracing::info!(%operator_id, "console sign-in");
    (
        [(header::SET_COOKIE, state.signer.sign_in(operator_id, token))],
        Redirect::to("/console/"),
    )
        .into_response()
}

/// `POST /console/logout`.
pub(crate) async fn sign_out() -> Response {
    (
        [(header::SET_COOKIE, Signer::sign_out())],
        Redirect::to("/console/login"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_ids_are_plain_names() {
        assert!(valid_operator_id("alice"));
        assert!(valid_operator_id("a.lice-2@support"));
        assert!(!valid_operator_id(""));
        assert!(!valid_operator_id("alice smith"));
        assert!(!valid_operator_id("<b>"));
        assert!(!valid_operator_id(&"a".repeat(65)));
    }
}
