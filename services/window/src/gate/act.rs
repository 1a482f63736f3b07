//! One round of the gate's work: release, decide, expire.

use std::collections::HashSet;

use omnibus_proto::{AuthorKind, ChannelKind, message_failed::Kind};
use sqlx::AnyConnection;
use tracing::Instrument as _;

use super::events::{self, Outgoing};
use super::{BATCH, Gate, InFlight};
use crate::error::Result;
use crate::facts::Facts;
use crate::model::{MessageRow, MessageState};
use crate::policy::{self, Decision};
use crate::sql;

/// The longest window of any kind: older customer messages open nothing.
const LONGEST_WINDOW_MS: i64 = 24 * 3_600_000;

/// State of one round.
pub(super) struct Round<'a> {
    gate: &'a Gate,
    in_flight: &'a mut InFlight,
    now_ms: i64,
    /// Conversations that got a default template in this round.
    reopened: HashSet<String>,
}

impl<'a> Round<'a> {
    pub(super) fn new(gate: &'a Gate, in_flight: &'a mut InFlight, now_ms: i64) -> Self {
        Self {
            gate,
            in_flight,
            now_ms,
            reopened: HashSet::new(),
        }
    }

    /// Releases held messages of conversations whose window is open again;
    /// true when the batch was full.
    pub(super) async fn release(&mut self, conn: &mut AnyConnection) -> Result<bool> {
        let since = self.now_ms.saturating_sub(LONGEST_WINDOW_MS);
        let held = sql::held_since(conn, since, BATCH).await?;
        let full = held.len() as i64 == BATCH;
        for message in held {
            if self.in_flight.contains(&message.message_id) {
                continue;
            }
            let facts = Facts::load(conn, &message.channel_id, &message.conversation_id).await?;
            let kind = facts.kind(message.request.channel_kind());
            if !facts.window(kind).is_open(self.now_ms) {
                continue;
            }
            let template = template_of(&facts, &message);
            let forward = events::forward(self.subjects(), &message, kind, template, self.now_ms);
            let span = tracing::info_span!("window.release", message_id = %message.message_id);
            self.publish(&message, vec![forward])
                .instrument(span)
                .await?;
        }
        Ok(full)
    }

    /// Decides pending requests; true when the batch was full.
    pub(super) async fn decide(&mut self, conn: &mut AnyConnection) -> Result<bool> {
        let pending = sql::messages_in_state(conn, MessageState::Pending, BATCH).await?;
        let full = pending.len() as i64 == BATCH;
        for message in pending {
            if self.in_flight.contains(&message.message_id) {
                continue;
            }
            let facts = Facts::load(conn, &message.channel_id, &message.conversation_id).await?;
            let outgoing = self.decision(&facts, &message);
            let span = tracing::info_span!("window.decide", message_id = %message.message_id);
            self.publish(&message, outgoing).instrument(span).await?;
        }
        Ok(full)
    }

    /// True when some held message ran out.
    pub(super) async fn has_expired(&mut self, conn: &mut AnyConnection) -> Result<bool> {
        Ok(!sql::held_until(conn, self.now_ms, 1).await?.is_empty())
    }

    /// Fails held messages that ran out; true when the batch was full.
    pub(super) async fn expire(&mut self, conn: &mut AnyConnection) -> Result<bool> {
        let expired = sql::held_until(conn, self.now_ms, BATCH).await?;
        let full = expired.len() as i64 == BATCH;
        let held_for = policy::ago(self.gate.hold_for.as_millis() as i64);
        for message in expired {
            if self.in_flight.contains(&message.message_id) {
                continue;
            }
            let reason = format!(
                "held for {held_for}; the customer did not answer the template, so the \
                 24-hour window never reopened"
            );
            let failed = events::failed(
                self.subjects(),
                &message,
                Kind::WindowClosed,
                reason,
                true,
                self.now_ms,
            );
            self.publish(&message, vec![failed]).await?;
        }
        Ok(full)
    }

    /// What to publish for a pending request.
    fn decision(&mut self, facts: &Facts, message: &MessageRow) -> Vec<Outgoing> {
        let subjects = self.gate.bus.subjects();
        let now = self.now_ms;
        let request = &message.request;
        let kind = facts.kind(request.channel_kind());
        let fail = |kind_of: Kind, reason: String| {
            vec![events::failed(
                subjects, message, kind_of, reason, false, now,
            )]
        };
        if facts.channel.as_ref().is_some_and(|c| c.deleted) {
            return fail(Kind::NotSent, "the channel was deleted".into());
        }
        if message.attempt > 0 && request.template.is_some() {
            return fail(
                Kind::Rejected,
                "the provider refused the template as outside the 24-hour window".into(),
            );
        }
        let author = AuthorKind::try_from(request.author_kind).unwrap_or(AuthorKind::Operator);
        let situation = facts.situation(kind, author, request.template.as_ref());
        match policy::decide(&situation, now) {
            Decision::Open => vec![events::forward(subjects, message, kind, None, now)],
            Decision::HumanAgent => vec![events::tagged(events::forward(
                subjects, message, kind, None, now,
            ))],
            Decision::Template { template, rendered } => {
                let template = Some((template, rendered));
                vec![events::forward(subjects, message, kind, template, now)]
            }
            Decision::Hold { default } => self.hold(facts, message, kind, &default),
            Decision::Refused(reason) => fail(Kind::WindowClosed, reason),
            Decision::Invalid(reason) => fail(Kind::Rejected, reason),
        }
    }

    /// The default template (unless one went out since the customer last
    /// wrote), then the hold. In that order: a crash between them leaves a
    /// sent template and a pending request, which is then held without a
    /// second template, rather than a hold whose template never went out.
    fn hold(
        &mut self,
        facts: &Facts,
        message: &MessageRow,
        kind: ChannelKind,
        default: &crate::model::TemplateRow,
    ) -> Vec<Outgoing> {
        let subjects = self.gate.bus.subjects();
        let already = facts.conversation.as_ref().is_some_and(|c| c.reopen_sent)
            || self.reopened.contains(&message.conversation_id);
        let mut outgoing = Vec::new();
        let mut template_message_id = String::new();
        if !already {
            let reopen = events::reopen(subjects, message, kind, default, self.now_ms);
            template_message_id = reopen_message_id(&reopen);
            self.reopened.insert(message.conversation_id.clone());
            outgoing.push(reopen);
        }
        let window = facts.window(kind);
        let reason = format!(
            "{}; held until the customer answers the template {}",
            policy::closed_words(&window, self.now_ms),
            default.label()
        );
        let expires = self.now_ms + self.gate.hold_for.as_millis() as i64;
        outgoing.push(events::held(
            subjects,
            message,
            reason,
            expires,
            template_message_id,
            self.now_ms,
        ));
        outgoing
    }

    /// Publishes in order, awaiting each acknowledgement, and remembers the
    /// message as in flight until the projection applied the last one.
    async fn publish(&mut self, message: &MessageRow, outgoing: Vec<Outgoing>) -> Result<()> {
        let mut last = 0;
        for (subject, event) in outgoing {
            let published = self.gate.bus.publish(subject, &event).await?;
            tracing::info!(event_id = %event.id, duplicate = published.duplicate, "window decision");
            last = published.sequence;
        }
        if last > 0 {
            self.in_flight.insert(&message.message_id, last);
        }
        Ok(())
    }

    fn subjects(&self) -> &omnibus_bus::Subjects {
        self.gate.bus.subjects()
    }
}

/// A released template message keeps its template, resolved again in case
/// its language was left empty.
fn template_of(
    facts: &Facts,
    message: &MessageRow,
) -> Option<(omnibus_proto::TemplateRef, String)> {
    let reference = message.request.template.as_ref()?;
    policy::resolve(&facts.templates, reference).ok()
}

fn reopen_message_id((_, event): &Outgoing) -> String {
    match &event.payload {
        Some(omnibus_proto::event::Payload::MessageRequested(r)) => r.message_id.clone(),
        _ => String::new(),
    }
}
