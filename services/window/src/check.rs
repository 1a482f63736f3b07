//! Answers `window.check` requests over core NATS request/reply: may this
//! outbound message go out, and how? The conversations service asks before
//! it stores a message, so an operator hears at once that free text cannot
//! go out; the gate decides again when the stored request reaches it.

use std::sync::Arc;

use futures::StreamExt;
use omnibus_bus::{Bus, BusError};
use omnibus_core::Clock;
use omnibus_proto::{
    AuthorKind, WindowCheckReply, WindowCheckRequest, window_check_reply::Outcome,
};
use omnibus_store::Store;
use prost::Message as _;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::facts::Facts;
use crate::policy::{self, Decision};

/// Requests answered at once; more wait for a slot.
const CONCURRENCY: usize = 64;
/// Replicas share the requests through this queue group.
const QUEUE_GROUP: &str = "window";

/// Subscribes to `window.check`; the returned future answers until shutdown.
/// Subscribing first means a started service answers at once.
pub async fn serve(
    bus: Bus,
    store: Store,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) -> Result<impl Future<Output = ()>, BusError> {
    let subject = bus.subjects().rpc("window.check");
    let mut requests = bus
        .client()
        .queue_subscribe(subject, QUEUE_GROUP.to_owned())
        .await
        .map_err(|e| BusError::Unavailable(e.to_string()))?;
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    Ok(async move {
        loop {
            let request = tokio::select! {
                () = shutdown.cancelled() => return,
                request = requests.next() => request,
            };
            let Some(request) = request else {
                return;
            };
            let Some(reply_to) = request.reply.clone() else {
                continue;
            };
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let (bus, store, clock) = (bus.clone(), store.clone(), clock.clone());
            tokio::spawn(async move {
                let reply = answer(&store, clock.as_ref(), &request.payload).await;
                if let Err(err) = bus
                    .client()
                    .publish(reply_to, reply.encode_to_vec().into())
                    .await
                {
                    tracing::warn!(error = %err, "cannot answer a window check");
                }
                drop(slot);
            });
        }
    })
}

/// The answer to one encoded request.
async fn answer(store: &Store, clock: &dyn Clock, payload: &[u8]) -> WindowCheckReply {
    let request = match WindowCheckRequest::decode(payload) {
        Ok(request) => request,
        Err(err) => return reply(Outcome::Invalid, format!("malformed window check: {err}")),
    };
    let facts = match load(store, &request).await {
        Ok(facts) => facts,
        Err(err) => {
            tracing::warn!(error = %err, "window check without a database");
            return reply(
                Outcome::Unspecified,
                format!("the window service cannot read its state: {err}"),
            );
        }
    };
    check(&facts, &request, clock.now_ms())
}

async fn load(store: &Store, request: &WindowCheckRequest) -> Result<Facts, sqlx::Error> {
    let mut conn = store.pool().acquire().await?;
    Facts::load(&mut conn, &request.channel_id, &request.conversation_id).await
}

/// Decides a request from `facts` at `now_ms`.
pub fn check(facts: &Facts, request: &WindowCheckRequest, now_ms: i64) -> WindowCheckReply {
    let kind = facts.kind(request.channel_kind());
    let author = match request.author_kind() {
        AuthorKind::Unspecified => AuthorKind::Operator,
        author => author,
    };
    let situation = facts.situation(kind, author, request.template.as_ref());
    match policy::decide(&situation, now_ms) {
        Decision::Open => reply(Outcome::Open, String::new()),
        Decision::HumanAgent => reply(
            Outcome::Open,
            "the 24-hour window is closed; sent with Instagram's HUMAN_AGENT tag (up to 7 days \
             after the customer's last message)"
                .into(),
        ),
        Decision::Template { template, rendered } => WindowCheckReply {
            outcome: Outcome::Template as i32,
            template: Some(template),
            rendered_text: rendered,
            ..Default::default()
        },
        Decision::Hold { default } => reply(
            Outcome::Hold,
            format!(
                "{}; the message is held until the customer answers the template {}",
                policy::closed_words(&situation.window, now_ms),
                default.label()
            ),
        ),
        Decision::Refused(message) => reply(Outcome::Refused, message),
        Decision::Invalid(message) => reply(Outcome::Invalid, message),
    }
}

fn reply(outcome: Outcome, message: String) -> WindowCheckReply {
    WindowCheckReply {
        outcome: outcome as i32,
        message,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use omnibus_proto::{ChannelKind, TemplateRef, TemplateStatus};

    use super::*;
    use crate::model::{ChannelRow, ConversationRow, TemplateRow};

    const NOW: i64 = 1_767_225_600_000;

    fn facts(last_customer_ms: i64, default_template: &str) -> Facts {
        Facts {
            channel: Some(ChannelRow {
                id: "ch".into(),
                kind: ChannelKind::Whatsapp,
                deleted: false,
                default_template: default_template.into(),
                human_agent_tag: false,
            }),
            conversation: Some(ConversationRow {
                id: "cv".into(),
                channel_id: "ch".into(),
                last_customer_ms,
                ..Default::default()
            }),
            templates: vec![
                TemplateRow {
                    name: "hello".into(),
                    language: "en_US".into(),
                    body: "Hi!".into(),
                    status: TemplateStatus::Approved,
                    ..Default::default()
                },
                TemplateRow {
                    name: "order".into(),
                    language: "en_US".into(),
                    body: "Order {{1}}".into(),
                    status: TemplateStatus::Approved,
                    ..Default::default()
                },
            ],
        }
    }

    fn request(template: Option<TemplateRef>) -> WindowCheckRequest {
        WindowCheckRequest {
            conversation_id: "cv".into(),
            channel_id: "ch".into(),
            channel_kind: ChannelKind::Whatsapp as i32,
            template,
            author_kind: AuthorKind::Operator as i32,
        }
    }

    #[test]
    fn every_outcome_of_the_check() {
        let hour = 3_600_000;
        let open = check(&facts(NOW - hour, ""), &request(None), NOW);
        assert_eq!(open.outcome(), Outcome::Open);
        let refused = check(&facts(NOW - 25 * hour, ""), &request(None), NOW);
        assert_eq!(refused.outcome(), Outcome::Refused);
        assert!(
            refused.message.contains("24-hour window closed at"),
            "{}",
            refused.message
        );
        let hold = check(&facts(NOW - 25 * hour, "hello"), &request(None), NOW);
        assert_eq!(hold.outcome(), Outcome::Hold);
        assert!(
            hold.message.contains("\"hello\" (en_US)"),
            "{}",
            hold.message
        );
        let reference = TemplateRef {
            name: "order".into(),
            parameters: vec!["A-7".into()],
            ..Default::default()
        };
        let template = check(&facts(0, ""), &request(Some(reference.clone())), NOW);
        assert_eq!(template.outcome(), Outcome::Template);
        assert_eq!(template.rendered_text, "Order A-7");
        assert_eq!(template.template.unwrap().language, "en_US");
        let wrong = TemplateRef {
            parameters: vec![],
            ..reference
        };
        let invalid = check(&facts(0, ""), &request(Some(wrong)), NOW);
        assert_eq!(invalid.outcome(), Outcome::Invalid);
        assert!(
            invalid.message.contains("{{1}} missing"),
            "{}",
            invalid.message
        );
    }
}
