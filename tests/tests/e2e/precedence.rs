//! Projections of one process take turns: while the first one (the
//! conversations view) is far behind, an `AfterFirst` projection waits
//! before each batch, and an `Independent` one does not.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use omnibus_bus::precedence::{CLOSE_ENOUGH, LONGEST_WAIT};
use omnibus_bus::{
    Bus, Delivery, Precedence, Projection, ProjectionError, ProjectionOptions, Rejected,
    run_projection,
};
use omnibus_testkit::{NatsServer, wait_until};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::bus::{bus, event};
use crate::support::PATIENCE;

/// Events on the stream: the first projection, stuck after one batch,
/// stays far more than `CLOSE_ENOUGH` behind.
const BACKLOG: u64 = CLOSE_ENOUGH * 3;
const BATCH: usize = 500;

/// Records when it applied its batches; with `stuck`, never finishes its
/// second one (a first projection that stopped making progress).
#[derive(Clone, Default)]
struct Timed {
    batches: Arc<Mutex<Vec<Instant>>>,
    stuck: bool,
}

impl Projection for Timed {
    fn name(&self) -> &str {
        "timed"
    }

    async fn applied_through(&mut self) -> Result<u64, ProjectionError> {
        Ok(0)
    }

    async fn apply(&mut self, _batch: &[Delivery]) -> Result<Vec<Rejected>, ProjectionError> {
        let seen = {
            let mut batches = self.batches.lock().unwrap();
            batches.push(Instant::now());
            batches.len()
        };
        if self.stuck && seen > 1 {
            std::future::pending::<()>().await;
        }
        Ok(Vec::new())
    }
}

fn start(bus: &Bus, projection: &Timed, precedence: Precedence, shutdown: &CancellationToken) {
    let options = ProjectionOptions {
        filter_subject: bus.subjects().all(),
        batch_size: BATCH,
        shared: false,
        precedence,
    };
    let (progress, _) = watch::channel(0);
    tokio::spawn(run_projection(
        bus.clone(),
        options,
        projection.clone(),
        progress,
        shutdown.clone(),
    ));
}

async fn first_batch(projection: &Timed) -> Instant {
    wait_until("a first batch", PATIENCE, || async {
        projection.batches.lock().unwrap().first().copied()
    })
    .await
}

#[tokio::test]
async fn others_wait_for_a_first_projection_far_behind_independent_ones_do_not() {
    let nats = NatsServer::start().await;
    let bus = bus(&nats).await;
    let subject = bus.subjects().conversation("cv_1");
    for n in 0..BACKLOG {
        let backlog = event(&format!("ev_{n}"), "cv_1");
        bus.send(subject.clone(), &backlog).await.expect("send");
    }
    bus.publish(subject, &event("ev_last", "cv_1"))
        .await
        .expect("the backlog is stored");

    let shutdown = CancellationToken::new();
    let first = Timed {
        stuck: true,
        ..Timed::default()
    };
    start(&bus, &first, Precedence::First, &shutdown);
    // On its second batch, it has reported how far behind the first left it.
    wait_until("the first projection stuck", PATIENCE, || async {
        (first.batches.lock().unwrap().len() >= 2).then_some(())
    })
    .await;

    let (after, independent) = (Timed::default(), Timed::default());
    let started = Instant::now();
    start(&bus, &after, Precedence::AfterFirst, &shutdown);
    start(&bus, &independent, Precedence::Independent, &shutdown);
    let waited = first_batch(&after).await.duration_since(started);
    assert!(
        waited >= LONGEST_WAIT,
        "an AfterFirst projection waits while the first is far behind (waited {waited:?})"
    );
    let independent_at = first_batch(&independent).await.duration_since(started);
    assert!(
        independent_at < waited,
        "an Independent projection does not wait ({independent_at:?} vs {waited:?})"
    );
    shutdown.cancel();
}
