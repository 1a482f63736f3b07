//! The timers projection: events → `timer_` tables → armed deadlines.
//!
//! State and checkpoint commit in one transaction, like every projection, so
//! a restart or a rebuild from an empty database re-arms exactly the pending
//! deadlines. The changes of a committed batch ([`Op`]s) then go to the
//! firing loop, which never sees the effects of a rolled-back batch.
//!
//! A run is applied on a [`working::WorkingSet`]: its conversations and
//! their timers are read once, every event's rules run in memory, and the
//! net result is written once. A channel snapshot may move the closes of
//! conversations outside the set, so it is applied in SQL between two
//! flushes of the set.

use omnibus_bus::Delivery;
use omnibus_proto::{Event, event::Payload};
use omnibus_store::{AppliedInMemory, Backend, Rules, Runner, Store};
use sqlx::AnyConnection;
use tokio::sync::mpsc;
use tracing::Instrument as _;

use crate::deadlines::Op;

mod channel;
mod conversation;
#[cfg(test)]
mod tests;
mod working;

pub use channel::{ChannelInfo, DEFAULT_INACTIVITY_SECONDS};

/// Name of the projection's durable consumer and checkpoint.
pub const NAME: &str = "timers";

/// The timers read model: its rules, run by the shared [`Runner`].
pub struct TimersProjection {
    channels: channel::ChannelCache,
    /// Conversations as committed runs left them (see `working`).
    kept: working::Kept,
    /// Committed arm/disarm changes for the firing loop.
    ops: mpsc::UnboundedSender<Vec<Op>>,
}

/// What a run hands on once its transaction committed.
pub struct Applied {
    /// The arm/disarm changes, for the firing loop.
    ops: Vec<Op>,
    /// Its conversations as it left them, to keep.
    ended: Vec<(String, working::Known)>,
}

/// What one event's handler works with.
pub(crate) struct Step<'a> {
    conn: &'a mut AnyConnection,
    channels: &'a mut channel::ChannelCache,
    work: &'a mut working::WorkingSet,
    ops: &'a mut Vec<Op>,
}

impl Step<'_> {
    async fn channel(&mut self, id: &str) -> Result<Option<ChannelInfo>, sqlx::Error> {
        self.channels.get(self.conn, id).await
    }
}

impl TimersProjection {
    /// The projection writing into `store` and telling the firing loop on `ops`.
    pub fn new(store: Store, ops: mpsc::UnboundedSender<Vec<Op>>) -> Runner<Self> {
        let rules = Self {
            channels: channel::ChannelCache::default(),
            kept: working::Kept::default(),
            ops,
        };
        Runner::new(store, rules)
    }
}

impl TimersProjection {
    /// Runs the rules of `run`'s events on `work` (which reads what it
    /// lacks); returns the arm/disarm changes.
    async fn run_rules(
        &mut self,
        conn: &mut AnyConnection,
        run: &[omnibus_store::Step<'_>],
        work: &mut working::WorkingSet,
    ) -> Result<Vec<Op>, sqlx::Error> {
        let mut ops = Vec::new();
        let mut loaded_until = 0;
        for (at, one) in run.iter().enumerate() {
            if is_channel(one) {
                // Its SQL reads and moves armed closes: write what stands
                // first, and keep nothing read before it.
                work.flush(conn).await?;
                work.forget_kept();
            } else if at >= loaded_until {
                loaded_until = at + run[at..].iter().take_while(|s| !is_channel(s)).count();
                work.load(conn, &conversations(&run[at..loaded_until]))
                    .await?;
            }
            let mut step = Step {
                conn: &mut *conn,
                channels: &mut self.channels,
                work: &mut *work,
                ops: &mut ops,
            };
            apply_event(&mut step, one.sequence, one.event).await?;
        }
        Ok(ops)
    }

    /// What is kept between runs (see `working`).
    #[cfg(test)]
    pub(crate) fn kept(&self) -> &working::Kept {
        &self.kept
    }
}

impl Rules for TimersProjection {
    type Output = Applied;

    fn name(&self) -> &'static str {
        NAME
    }

    /// The events [`dispatch`] acts on; delivery receipts and the like
    /// cost no transaction.
    fn changes(&self, step: &omnibus_store::Step<'_>) -> bool {
        is_channel(step) || is_conversation_event(step)
    }

    /// The whole batch in one savepoint; one event at a time only when the
    /// database refuses something in it.
    fn run_len(&self, rest: &[omnibus_store::Step<'_>]) -> usize {
        rest.len()
    }

    async fn apply(
        &mut self,
        conn: &mut AnyConnection,
        run: &[omnibus_store::Step<'_>],
    ) -> Result<Self::Output, sqlx::Error> {
        let mut work = working::WorkingSet::new(std::mem::take(&mut self.kept));
        let ops = self.run_rules(conn, run, &mut work).await?;
        work.flush(conn).await?;
        let (kept, ended) = work.finish();
        self.kept = kept;
        Ok(Applied { ops, ended })
    }

    /// A batch without channel snapshots (whose SQL moves armed closes)
    /// runs its rules in memory, on conversations earlier runs kept (read
    /// when not kept), and hands its net writes to the runner as shots:
    /// one round trip for a live batch instead of four.
    async fn apply_in_memory(
        &mut self,
        conn: &mut AnyConnection,
        batch: &[omnibus_store::Step<'_>],
    ) -> Result<AppliedInMemory<Applied>, sqlx::Error> {
        if batch.iter().any(is_channel) {
            return Ok(None);
        }
        let mut work = working::WorkingSet::new(std::mem::take(&mut self.kept));
        let ops = self.run_rules(conn, batch, &mut work).await?;
        let shots = work.take_shots(Backend::of(conn));
        let (kept, ended) = work.finish();
        self.kept = kept;
        Ok(Some((shots, Applied { ops, ended })))
    }

    fn committed(&mut self, _batch: &[Delivery], outputs: Vec<Self::Output>) {
        let mut ops = Vec::new();
        for applied in outputs {
            ops.extend(applied.ops);
            self.kept.keep(applied.ended);
        }
        if !ops.is_empty() {
            // The firing loop only stops at shutdown; nothing to do then.
            let _ = self.ops.send(ops);
        }
    }

    /// The caches may hold what a rolled-back savepoint read or wrote.
    fn discarded(&mut self) {
        self.channels.clear();
        self.kept.forget();
    }

    /// Another replica may have written the tables meanwhile.
    fn resumed(&mut self, _applied: u64) {
        self.channels.clear();
        self.kept.forget();
    }
}

fn is_channel(step: &omnibus_store::Step<'_>) -> bool {
    matches!(step.event.payload, Some(Payload::ChannelChanged(_)))
}

/// An event [`dispatch`] applies to its conversation's row and timers.
fn is_conversation_event(step: &omnibus_store::Step<'_>) -> bool {
    matches!(
        step.event.payload,
        Some(
            Payload::MessageReceived(_)
                | Payload::MessageRequested(_)
                | Payload::ConversationClosed(_)
                | Payload::ConversationStarted(_)
        )
    )
}

/// The conversations whose rows and timers `run` reads.
fn conversations<'a>(run: &[omnibus_store::Step<'a>]) -> Vec<&'a str> {
    run.iter()
        .filter(|s| is_conversation_event(s))
        .map(|s| s.event.conversation_id.as_str())
        .collect()
}

async fn apply_event(step: &mut Step<'_>, seq: u64, event: &Event) -> Result<(), sqlx::Error> {
    let Some(payload) = &event.payload else {
        return Ok(());
    };
    let span = tracing::debug_span!(
        "timers.apply",
        sequence = seq,
        channel_id = %event.channel_id,
        conversation_id = %event.conversation_id
    );
    let seq = i64::try_from(seq).unwrap_or(i64::MAX);
    dispatch(step, seq, event, payload).instrument(span).await
}

async fn dispatch(
    step: &mut Step<'_>,
    seq: i64,
    event: &Event,
    payload: &Payload,
) -> Result<(), sqlx::Error> {
    match payload {
        Payload::ChannelChanged(changed) => channel::changed(step, changed).await,
        Payload::MessageReceived(received) => {
            conversation::received(step, seq, event, received).await
        }
        Payload::MessageRequested(requested) => {
            conversation::requested(step, seq, event, requested).await
        }
        Payload::ConversationClosed(closed) => conversation::closed(step, seq, event, closed).await,
        Payload::ConversationStarted(started) => {
            conversation::started(step, seq, event, started).await
        }
        _ => Ok(()),
    }
}

/// When Omnibus accepted the event, falling back to when it happened.
///
/// Deadlines count from Omnibus's own clock, not the provider's: provider
/// times are second-granular and may be skewed, and a webhook the provider
/// retried late would otherwise start its deadlines in the past. The value is
/// stored in the event, so a replay computes the same deadlines.
fn event_time(event: &Event) -> i64 {
    if event.recorded_at_ms != 0 {
        event.recorded_at_ms
    } else {
        event.occurred_at_ms
    }
}
