//! Publishes what the state decided and fires bot deadlines.
//!
//! Nothing is published before the reader has caught up with the stream as
//! it was when the term began: during the catch-up a decision is made again
//! before the event that carried it long ago is read back, and publishing
//! it then could repeat it after JetStream's duplicate window.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use omnibus_bus::Bus;
use omnibus_proto::Event;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::state::{self, State};

/// How long a published event may take to come back from the stream
/// before it is published again (same id: the stream drops a repeat).
const REPUBLISH_AFTER: Duration = Duration::from_secs(5);
/// Longest sleep between looks at the deadlines.
const TICK: Duration = Duration::from_millis(500);

/// The publishing side of one term.
pub struct Publisher {
    pub bus: Bus,
    pub state: Arc<Mutex<State>>,
    /// Woken by the reader after each batch.
    pub changed: Arc<Notify>,
    /// The reader's progress.
    pub applied: watch::Receiver<u64>,
    /// The stream's last sequence when the term began.
    pub caught_up_at: u64,
    pub shutdown: CancellationToken,
}

impl Publisher {
    /// Runs until the term ends.
    pub async fn run(mut self) {
        let target = self.caught_up_at;
        let caught_up = self.applied.wait_for(|applied| *applied >= target);
        tokio::select! {
            () = self.shutdown.cancelled() => return,
            result = caught_up => if result.is_err() { return },
        }
        tracing::info!(at = target, "routing caught up; publishing decisions");
        let mut sent: HashMap<String, Instant> = HashMap::new();
        loop {
            let now_ms = omnibus_core::now_ms();
            let (outgoing, next_due) = self.outgoing(now_ms, &mut sent);
            for event in outgoing {
                self.publish(event).await;
            }
            let wait = next_due
                .map(|due| Duration::from_millis(due.saturating_sub(now_ms).max(0) as u64))
                .unwrap_or(TICK)
                .min(TICK);
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                () = self.changed.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Decisions and due deadlines not sent lately; forgets what came back.
    fn outgoing(
        &self,
        now_ms: i64,
        sent: &mut HashMap<String, Instant>,
    ) -> (Vec<Event>, Option<i64>) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        sent.retain(|id, _| state.pending.contains_key(id) || state.timers.contains_key(id));
        let mut outgoing = Vec::new();
        let mut fresh = |id: &str| match sent.get(id) {
            Some(at) if at.elapsed() < REPUBLISH_AFTER => false,
            _ => {
                sent.insert(id.to_owned(), Instant::now());
                true
            }
        };
        for (id, event) in &state.pending {
            if fresh(id) {
                let mut event = event.clone();
                event.recorded_at_ms = now_ms;
                outgoing.push(event);
            }
        }
        for (id, timer) in state.due_timers(now_ms) {
            if fresh(&id) {
                outgoing.push(state::due_event(&id, &timer, now_ms));
            }
        }
        let next_due = state.next_due().filter(|due| *due > now_ms);
        (outgoing, next_due)
    }

    async fn publish(&self, event: Event) {
        let subject = self.bus.subjects().conversation(&event.conversation_id);
        match self.bus.publish(subject, &event).await {
            Ok(published) => tracing::info!(
                conversation_id = %event.conversation_id,
                channel_id = %event.channel_id,
                event_id = %event.id,
                duplicate = published.duplicate,
                "routing event stored"
            ),
            Err(err) => tracing::warn!(
                conversation_id = %event.conversation_id,
                event_id = %event.id,
                error = %err,
                "cannot store a routing event; retrying"
            ),
        }
    }
}
