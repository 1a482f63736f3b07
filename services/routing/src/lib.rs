//! The routing service: assigns a new conversation (and a reopened one
//! nobody holds) by its channel's routing — to an operator, within an
//! operator group (ROUND_ROBIN, LEAST_BUSY, or waiting on the group until
//! one of its operators comes online), or to a bot with a fallback when the
//! bot does not answer in time or hands over.
//!
//! Decisions are a pure function of the stream ([`state`]): channels,
//! groups, presence and conversation events, read in order, give the same
//! `ConversationAssigned` events with the same ids
//! (`route:<conversation>:<trigger event>`) in every replica and on every
//! replay. One replica at a time (the lease `service.routing`) reads the
//! stream from the start into memory and, once caught up with the stream
//! as it was when it began, publishes the decisions not yet on the stream
//! ([`publisher`]) with their ids as `Nats-Msg-Id`. A decision already on
//! the stream is read back before the publisher may act, so restarts,
//! takeovers and replays never assign twice.
//!
//! # Layout
//! - [`state`] — the view of the stream and the decisions (pure)
//! - [`pick`] — the group rules
//! - [`projection`] — feeds the state from the stream
//! - [`publisher`] — publishes decisions and fires bot deadlines

pub mod pick;
pub mod projection;
pub mod publisher;
pub mod state;

use std::sync::{Arc, Mutex};

use omnibus_bus::{Bus, Precedence, ProjectionOptions, run_projection};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The lease one replica holds while it routes.
pub const LEASE: &str = "service.routing";

/// A running routing service.
pub struct Router {
    applied: watch::Receiver<u64>,
    task: JoinHandle<()>,
}

impl Router {
    /// Starts taking turns with other replicas; runs until `shutdown`.
    pub fn start(bus: Bus, shutdown: CancellationToken) -> Self {
        let (progress, applied) = watch::channel(0);
        let task = tokio::spawn(async move {
            let job = |work: CancellationToken| {
                let (bus, progress) = (&bus, &progress);
                async move { term(bus, progress, work).await }
            };
            omnibus_bus::lease::take_turns(&bus, LEASE, &shutdown, job).await;
        });
        Self { applied, task }
    }

    /// The stream sequence this replica has read through (0 while it
    /// stands by).
    pub fn applied(&self) -> watch::Receiver<u64> {
        self.applied.clone()
    }

    /// Waits for the router to stop after shutdown.
    pub async fn stopped(self) {
        let _ = self.task.await;
    }
}

/// One term as the routing replica: read the stream from the start, then
/// publish, until `work` is cancelled (lease lost or shutdown).
async fn term(bus: &Bus, progress: &watch::Sender<u64>, work: CancellationToken) {
    let caught_up_at = match bus.stream_end().await {
        Ok(end) => end,
        Err(err) => {
            tracing::warn!(error = %err, "cannot read the stream's end; standing by");
            return;
        }
    };
    tracing::info!(
        catch_up_to = caught_up_at,
        "routing replica active: reading the stream"
    );
    let state = Arc::new(Mutex::new(state::State::default()));
    let changed = Arc::new(Notify::new());
    let (term_progress, applied) = watch::channel(0);
    let projection = projection::RouterProjection::new(state.clone(), changed.clone());
    let options = ProjectionOptions {
        filter_subject: bus.subjects().all(),
        batch_size: 500,
        // Only the lease holder reads (see `Router::start`).
        shared: false,
        // Decides from its in-memory state: held back, it could decide
        // on a conversation an operator already took.
        precedence: Precedence::Independent,
    };
    let reader = run_projection(
        bus.clone(),
        options,
        projection,
        term_progress,
        work.clone(),
    );
    let publisher = publisher::Publisher {
        bus: bus.clone(),
        state,
        changed,
        applied: applied.clone(),
        caught_up_at,
        shutdown: work.clone(),
    };
    let forward = async {
        let mut applied = applied;
        while applied.changed().await.is_ok() {
            progress.send_replace(*applied.borrow());
        }
    };
    tokio::join!(reader, publisher.run(), forward);
}
