//! Applies events to the conversations tables.
//!
//! Every handler is idempotent (inserts ignore existing rows, statuses only
//! move forward), and a batch commits together with its checkpoint, so a
//! replay from any point converges on the same state.

use omnibus_bus::Delivery;
use omnibus_proto::{Event, event::Payload};
use omnibus_store::{Backend, Rules, Runner, Shot, Step, Store, execute_in_order};
use sqlx::AnyConnection;
use tokio::sync::broadcast;

use crate::contacts::{self, phone::Region};

mod activity;
mod channel;
mod conversation;
mod echo;
mod known;
mod message;
mod received;

pub(crate) use message::queued;
#[cfg(test)]
mod tests;

/// Name of the projection's durable consumer and checkpoint.
pub const NAME: &str = "conversations";

/// The conversations read model: its rules, run by the shared [`Runner`].
pub struct ConversationsProjection {
    /// Tells API callers which conversations changed (for waiting and streams).
    changes: broadcast::Sender<String>,
    /// Where phones without a country code are read (contact joins).
    region: Region,
    /// Which conversations and channels hold what a send's outcome looks for.
    known: known::Lookups,
}

impl ConversationsProjection {
    /// The projection writing into `store`.
    pub fn new(store: Store, changes: broadcast::Sender<String>, region: Region) -> Runner<Self> {
        let rules = Self {
            changes,
            region,
            known: known::Lookups::default(),
        };
        Runner::new(store, rules)
    }
}

impl Rules for ConversationsProjection {
    type Output = ();

    fn name(&self) -> &'static str {
        NAME
    }

    /// Consecutive `MessageReceived` events go together (applied in bulk);
    /// so do consecutive other events (applied one by one, but in one
    /// savepoint: a savepoint per event cost two round trips each on
    /// PostgreSQL). A refused run is retried event by event by the runner.
    fn run_len(&self, rest: &[Step<'_>]) -> usize {
        let bulk = rest
            .iter()
            .take_while(|step| run_member(step).is_some())
            .count();
        if bulk > 0 {
            return bulk;
        }
        rest.iter()
            .take_while(|step| run_member(step).is_none())
            .count()
    }

    async fn apply(
        &mut self,
        conn: &mut AnyConnection,
        run: &[Step<'_>],
    ) -> Result<(), sqlx::Error> {
        let received: Vec<received::Received<'_>> = run.iter().map_while(run_member).collect();
        if !received.is_empty() && received.len() == run.len() {
            received::apply(conn, &received).await?;
            let events = run.iter().map(|step| (step.sequence, step.event));
            return contacts::projection::seen_run(conn, events, self.region).await;
        }
        let backend = Backend::of(conn);
        let mut shots = Vec::new();
        for step in run {
            // An event that can go as a shot goes so inside a run too: its
            // rule is the shot's statement, in one place. Consecutive shots
            // share round trips; what follows them reads after they ran.
            // (A shot's event is no sighting and no contact change, so the
            // contacts rules write nothing for it.)
            match self.shot(step, backend) {
                Some((shot, ())) => shots.push(shot),
                None => {
                    execute_in_order(conn, std::mem::take(&mut shots)).await?;
                    apply_conversation_event(conn, &mut self.known, step.sequence, step.event)
                        .await?;
                }
            }
            contacts::projection::apply(conn, step.sequence, step.event, self.region).await?;
        }
        execute_in_order(conn, shots).await
    }

    /// A send and its outcome, most of live traffic besides what customers
    /// write, and the operators' reads and assignments (which the API waits
    /// for), each in one round trip; an outcome only when no early status
    /// and no stored echo can wait for it (what the lookups already know).
    /// `apply` runs the same shots inside a run: for a send, a read, an
    /// assignment and a no-reply-needed the shot is the only rule.
    fn shot(&self, step: &Step<'_>, backend: Backend) -> Option<(Shot, ())> {
        let event = step.event;
        let shot = match event.payload.as_ref()? {
            Payload::MessageRequested(requested) => {
                message::requested_shot(backend, step.sequence, event, requested)
            }
            Payload::MessageDispatched(dispatched) => {
                let alone = dispatched.provider_message_id.is_empty()
                    || (self.known.early.lacks(&event.conversation_id)
                        && self.known.echoes.lacks(&event.channel_id));
                if !alone {
                    return None;
                }
                message::dispatched_shot(event_time(event), dispatched)
            }
            Payload::ConversationRead(_) => {
                conversation::read_shot(&event.conversation_id, event_time(event))
            }
            Payload::NoReplyNeeded(_) => {
                conversation::no_reply_needed_shot(&event.conversation_id, event_time(event))
            }
            Payload::ConversationAssigned(assigned) => {
                conversation::assigned_shot(&event.conversation_id, event_time(event), assigned)
            }
            _ => return None,
        };
        Some((shot, ()))
    }

    /// What the lookups read or kept may be from what was rolled back.
    fn discarded(&mut self) {
        self.known.forget();
    }

    fn resumed(&mut self, _applied: u64) {
        self.known.forget();
    }

    fn committed(&mut self, batch: &[Delivery], _outputs: Vec<()>) {
        for delivery in batch {
            if let Ok(event) = &delivery.event
                && !event.conversation_id.is_empty()
            {
                let _ = self.changes.send(event.conversation_id.clone());
            }
        }
    }
}

/// A `MessageReceived` that joins a run: any but an echo that may be ours.
fn run_member<'a>(step: &Step<'a>) -> Option<received::Received<'a>> {
    match &step.event.payload {
        Some(Payload::MessageReceived(message)) if !echo::may_be_ours(message) => {
            Some(received::Received {
                seq: step.sequence,
                event: step.event,
                received: message,
            })
        }
        _ => None,
    }
}

async fn apply_conversation_event(
    conn: &mut AnyConnection,
    known: &mut known::Lookups,
    seq: u64,
    event: &Event,
) -> Result<(), sqlx::Error> {
    let Some(payload) = &event.payload else {
        return Ok(());
    };
    let at = event_time(event);
    let conversation_id = event.conversation_id.as_str();
    match payload {
        Payload::ChannelChanged(changed) => channel::apply(conn, changed).await,
        Payload::MessageReceived(received) => {
            if echo::may_be_ours(received) {
                known.echoes.add(&event.channel_id);
            }
            message::received(conn, seq, event, received).await
        }
        Payload::MessageEdited(edited) => message::edited(conn, seq, event, edited).await,
        Payload::MessageDispatched(dispatched) => {
            message::dispatched(conn, &mut known.early, conversation_id, at, dispatched).await?;
            echo::drop_echo_of(conn, &mut known.echoes, event, dispatched).await
        }
        Payload::MessageHeld(held) => message::held(conn, seq, at, held).await,
        Payload::ChannelFlagged(flagged) => {
            channel::flagged(conn, &event.channel_id, at, flagged).await
        }
        Payload::MessageFailed(failed) => {
            message::failed(conn, seq, conversation_id, at, failed).await
        }
        Payload::DeliveryStatusChanged(changed) => {
            message::status_changed(conn, &mut known.early, conversation_id, at, changed).await
        }
        Payload::ConversationClosed(closed) => {
            if conversation::closed(conn, conversation_id, at, closed).await? {
                activity::closed_line(conn, seq, conversation_id, at, closed).await?;
            }
            Ok(())
        }
        Payload::ConversationStarted(started) => {
            if activity::is_closed(conn, conversation_id).await? {
                activity::reopened_line(conn, seq, conversation_id, at, &started.operator_id)
                    .await?;
            }
            conversation::started(conn, event, started).await
        }
        Payload::ConversationSubject(subject) => {
            conversation::keep_subject(conn, conversation_id, &subject.subject_url).await
        }
        // Sends, reads, assignments and no-reply-needed are shots
        // (`Rules::shot`); dead letters and other services' events change
        // nothing here.
        _ => Ok(()),
    }
}

/// When the event happened, falling back to when it was recorded.
pub(crate) fn event_time(event: &Event) -> i64 {
    if event.occurred_at_ms != 0 {
        event.occurred_at_ms
    } else {
        event.recorded_at_ms
    }
}
