//! The timers service: inactivity close, closing messages, auto-replies and
//! off-hours replies, derived from the event stream.
//!
//! Its state is a projection (tables `timer_…`, checkpoint `timers`): every
//! armed deadline follows from events, so a restart or a rebuild from the
//! stream re-arms them. A firing loop keeps the deadlines in memory, ordered
//! by due time, and fires each by publishing an event whose id is derived
//! from its trigger; JetStream drops a repeated id, and the projection
//! disarms a timer for good when its event comes back, so no timer fires
//! twice across replicas, restarts or replays.
//!
//! # Layout
//! - [`schedule`] — working hours: time zones, DST and holidays (pure)
//! - [`timer`] — a timer, its deterministic id and the event that fires it
//! - [`projection`] — events → `timer_` tables → arm/disarm changes
//! - [`deadlines`] — the in-memory schedule of armed timers
//! - [`firing`] — the loop that sleeps, fires and retries
//! - [`schema`], `sql` — tables and queries
//! - [`error`] — [`TimersError`]

pub mod deadlines;
pub mod error;
pub mod firing;
pub mod projection;
pub mod schedule;
pub mod schema;
pub mod timer;

mod sql;

use std::sync::Arc;

use omnibus_bus::{Bus, Precedence, ProjectionOptions, run_projection};
use omnibus_core::{Clock, SystemClock};
use omnibus_store::Store;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use error::TimersError;

/// Settings of the timers service.
#[derive(Clone)]
pub struct Config {
    /// Most events applied in one database transaction.
    pub projection_batch: usize,
    /// The source of "now" for the firing loop.
    pub clock: Arc<dyn Clock>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            // As conversations: a replay commits 2,000 events at a time; live,
            // a batch is whatever arrived meanwhile.
            projection_batch: 2000,
            clock: Arc::new(SystemClock),
        }
    }
}

/// A running timers service.
pub struct Timers {
    applied: watch::Receiver<u64>,
    task: JoinHandle<()>,
}

impl Timers {
    /// Migrates the store, loads the armed timers and starts the projection
    /// and the firing loop, which run until `shutdown`.
    ///
    /// On PostgreSQL, replicas share the database: one at a time is active
    /// (the lease `service.timers`), the others stand by and take over,
    /// reloading the armed timers, when it stops or dies. Firings carry
    /// deterministic ids besides, so a takeover never fires one twice.
    pub async fn start(
        config: Config,
        bus: Bus,
        store: Store,
        shutdown: CancellationToken,
    ) -> Result<Self, TimersError> {
        store.migrate("timers", schema::MIGRATIONS).await?;
        let (progress, applied) = watch::channel(0);
        let task = if store.backend() == omnibus_store::Backend::Postgres {
            tokio::spawn(take_turns(config, bus, store, progress, shutdown))
        } else {
            let term = Term::begin(&config, &bus, store, progress, shutdown).await?;
            tokio::spawn(term.stopped())
        };
        Ok(Self { applied, task })
    }

    /// The stream sequence the projection has applied through.
    pub fn applied(&self) -> watch::Receiver<u64> {
        self.applied.clone()
    }

    /// Waits for the projection and the firing loop to stop after shutdown.
    pub async fn stopped(self) {
        let _ = self.task.await;
    }
}

/// One replica's time as the active one: its projection and firing loop.
struct Term {
    projection: JoinHandle<()>,
    firing: JoinHandle<()>,
}

impl Term {
    /// Loads the armed timers and starts the projection and the firing
    /// loop, which run until `stop`.
    async fn begin(
        config: &Config,
        bus: &Bus,
        store: Store,
        progress: watch::Sender<u64>,
        stop: CancellationToken,
    ) -> Result<Self, TimersError> {
        let caught_up_at = bus.stream_end().await?;
        // Loaded before the projection starts, so no change is missed or
        // applied twice: later changes arrive as ops.
        let mut deadlines = deadlines::Deadlines::default();
        for timer in sql::all_pending(store.pool()).await? {
            deadlines.arm(timer);
        }
        let (ops_tx, ops) = mpsc::unbounded_channel();
        let applied = progress.subscribe();
        let options = ProjectionOptions {
            filter_subject: bus.subjects().all(),
            batch_size: config.projection_batch,
            // Only the active replica runs it (see `Timers::start`).
            shared: false,
            // Its deadlines settle for what it applied after a short wait:
            // it must not be held back.
            precedence: Precedence::Independent,
        };
        let projection = projection::TimersProjection::new(store, ops_tx);
        let projection = tokio::spawn(run_projection(
            bus.clone(),
            options,
            projection,
            progress,
            stop.clone(),
        ));
        let firing = firing::FiringLoop {
            bus: bus.clone(),
            clock: config.clock.clone(),
            deadlines,
            ops,
            applied,
            caught_up_at,
            shutdown: stop,
        };
        let firing = tokio::spawn(firing.run());
        Ok(Self { projection, firing })
    }

    async fn stopped(self) {
        let _ = self.projection.await;
        let _ = self.firing.await;
    }
}

/// Holds the lease `service.timers` in turn with the other replicas and
/// is the active one while it does; `progress` follows every term.
async fn take_turns(
    config: Config,
    bus: Bus,
    store: Store,
    progress: watch::Sender<u64>,
    shutdown: CancellationToken,
) {
    let job = |work: CancellationToken| {
        let (config, bus, store, progress) = (&config, &bus, &store, &progress);
        async move { serve_term(config, bus, store, progress, &work).await }
    };
    omnibus_bus::lease::take_turns(&bus, "service.timers", &shutdown, job).await;
}

/// Runs one term until `work` is cancelled, forwarding its progress.
async fn serve_term(
    config: &Config,
    bus: &Bus,
    store: &Store,
    progress: &watch::Sender<u64>,
    work: &CancellationToken,
) {
    let (term_progress, mut term_applied) = watch::channel(*progress.borrow());
    let term = match Term::begin(config, bus, store.clone(), term_progress, work.clone()).await {
        Ok(term) => term,
        Err(err) => {
            tracing::warn!(error = %err, "cannot become the active timers replica");
            work.cancel();
            return;
        }
    };
    tracing::info!("active timers replica: deadlines loaded");
    let forward = async {
        while term_applied.changed().await.is_ok() {
            progress.send_replace(*term_applied.borrow());
        }
    };
    tokio::join!(term.stopped(), forward);
}
