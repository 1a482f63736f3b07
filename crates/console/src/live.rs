//! `GET /console/events`: the browser's live feed. Each notification of the
//! team's stream becomes a server-sent `change` event naming its kind and
//! conversation; the page then fetches itself again and swaps the parts
//! that changed. A second subscription, made with the operator's id, is what
//! the notifications service counts as the operator being online: presence
//! follows the open console exactly as it follows an open `omnictl watch`.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt as _};
use omnibus_proto::{NotificationKind, SubscribeRequest};

use crate::AppState;
use crate::api::Api;
use crate::error::PageError;
use crate::session::Session;

/// Aborts the presence subscription when the browser's stream ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The event stream of the signed-in operator's browser.
pub(crate) async fn events(
    State(state): State<AppState>,
    session: Session,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, PageError> {
    let api = Api::of(state.transport.clone(), &session)?;
    let everything = api
        .notifications()
        .subscribe(SubscribeRequest::default())
        .await?
        .into_inner();
    let mut mine = api
        .notifications()
        .subscribe(SubscribeRequest {
            operator_id: session.operator_id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let operator_id = session.operator_id.clone();
    tracing::debug!(%operator_id, "console stream opened");
    let presence = AbortOnDrop(tokio::spawn(async move {
        while let Ok(Some(_)) = mine.message().await {}
    }));
    let ready = futures::stream::once(async { Ok(Event::default().event("ready").data("online")) });
    let changes = everything
        .take_while(|item| std::future::ready(item.is_ok()))
        .filter_map(move |item| {
            let _keep_online = &presence;
            std::future::ready(item.ok().map(|note| {
                let kind = NotificationKind::try_from(note.kind)
                    .unwrap_or_default()
                    .as_str_name()
                    .trim_start_matches("NOTIFICATION_KIND_")
                    .to_owned();
                let data = serde_json::json!({
                    "kind": kind,
                    "conversation_id": note.conversation_id,
                })
                .to_string();
                Ok(Event::default().event("change").data(data))
            }))
        });
    let stream = ready
        .chain(changes)
        .take_until(state.shutdown.clone().cancelled_owned());
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
