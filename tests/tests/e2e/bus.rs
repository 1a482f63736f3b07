//! The event bus on a real nats-server: dedupe, positioning from the
//! projection's own checkpoint, dead letters, retries, trace context.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use omnibus_bus::lease::DEFAULT_TTL;
use omnibus_bus::{
    Bus, BusConfig, Delivery, Precedence, Projection, ProjectionError, ProjectionOptions, Rejected,
    WorkError, WorkerConfig, run_projection, run_worker,
};
use omnibus_proto::{Event, event::Payload};
use omnibus_testkit::{NatsServer, wait_until};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::support::PATIENCE;

/// A bus on `nats` (also for the other bus-level tests).
pub(crate) async fn bus(nats: &NatsServer) -> Bus {
    Bus::connect(&BusConfig {
        nats_url: nats.url(),
        ..BusConfig::default()
    })
    .await
    .expect("connect the bus")
}

/// An event of `conversation` that every projection may ignore.
pub(crate) fn event(id: &str, conversation: &str) -> Event {
    Event {
        id: id.to_owned(),
        conversation_id: conversation.to_owned(),
        payload: Some(Payload::ConversationRead(Default::default())),
        ..Default::default()
    }
}

/// A projection that records what it applied, "checkpoints" in memory, and
/// refuses events whose id starts with `poison` or fails while `failing`.
#[derive(Clone, Default)]
struct Recorder {
    applied: Arc<Mutex<Vec<(u64, String)>>>,
    checkpoint: Arc<Mutex<u64>>,
    failing: Arc<Mutex<u32>>,
}

impl Projection for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }

    async fn applied_through(&mut self) -> Result<u64, ProjectionError> {
        Ok(*self.checkpoint.lock().unwrap())
    }

    async fn apply(&mut self, batch: &[Delivery]) -> Result<Vec<Rejected>, ProjectionError> {
        {
            let mut failing = self.failing.lock().unwrap();
            if *failing > 0 {
                *failing -= 1;
                return Err(ProjectionError("database unavailable".into()));
            }
        }
        let mut rejected = Vec::new();
        for delivery in batch {
            let id = delivery
                .event
                .as_ref()
                .map(|e| e.id.clone())
                .unwrap_or_default();
            if id.starts_with("dlq:") {
                continue; // its own dead letters come back on `omnibus.>`
            }
            if id.starts_with("poison") {
                rejected.push(Rejected {
                    sequence: delivery.sequence,
                    error: format!("cannot apply {id}"),
                });
            } else {
                self.applied.lock().unwrap().push((delivery.sequence, id));
            }
        }
        *self.checkpoint.lock().unwrap() = batch.last().map(|d| d.sequence).unwrap_or_default();
        Ok(rejected)
    }
}

impl Recorder {
    fn ids(&self) -> Vec<String> {
        self.applied
            .lock()
            .unwrap()
            .iter()
            .map(|(_, id)| id.clone())
            .collect()
    }
}

fn start(bus: &Bus, recorder: &Recorder) -> (CancellationToken, watch::Receiver<u64>) {
    let shutdown = CancellationToken::new();
    let (progress, applied) = watch::channel(0);
    let options = ProjectionOptions {
        filter_subject: bus.subjects().all(),
        batch_size: 100,
        shared: false,
        precedence: Precedence::AfterFirst,
    };
    tokio::spawn(run_projection(
        bus.clone(),
        options,
        recorder.clone(),
        progress,
        shutdown.clone(),
    ));
    (shutdown, applied)
}

#[tokio::test]
async fn repeated_ids_are_stored_once() {
    let nats = NatsServer::start().await;
    let bus = bus(&nats).await;
    let subject = bus.subjects().conversation("cv_1");
    let first = bus
        .publish(subject.clone(), &event("e1", "cv_1"))
        .await
        .unwrap();
    let again = bus.publish(subject, &event("e1", "cv_1")).await.unwrap();
    assert!(!first.duplicate);
    assert!(again.duplicate);
    assert_eq!(again.sequence, first.sequence);
}

#[tokio::test]
async fn projections_start_after_their_checkpoint_and_park_what_they_refuse() {
    let nats = NatsServer::start().await;
    let bus = bus(&nats).await;
    for id in ["a", "b", "poison-c", "d"] {
        bus.publish(bus.subjects().conversation("cv_1"), &event(id, "cv_1"))
            .await
            .unwrap();
    }
    let recorder = Recorder::default();
    *recorder.failing.lock().unwrap() = 2; // two transient failures first
    let (shutdown, mut applied) = start(&bus, &recorder);
    applied.wait_for(|seq| *seq >= 4).await.unwrap();
    assert_eq!(
        recorder.ids(),
        ["a", "b", "d"],
        "retried until applied, in order"
    );

    let dead = wait_until("the dead letter", PATIENCE, || async {
        let last = bus
            .last_event(&bus.subjects().dead_letters("recorder"))
            .await
            .unwrap();
        last.map(|(_, event)| event)
    })
    .await;
    let Some(Payload::DeadLetter(letter)) = dead.payload else {
        panic!("not a dead letter");
    };
    assert_eq!(
        (letter.stream_sequence, letter.error.as_str()),
        (3, "cannot apply poison-c")
    );
    shutdown.cancel();

    // A restarted projection resumes after its checkpoint: nothing twice.
    bus.publish(bus.subjects().conversation("cv_1"), &event("e", "cv_1"))
        .await
        .unwrap();
    let (shutdown, _) = start(&bus, &recorder);
    wait_until("the new event", PATIENCE, || async {
        recorder.ids().contains(&"e".to_owned()).then_some(())
    })
    .await;
    assert_eq!(recorder.ids(), ["a", "b", "d", "e"]);

    // An emptied store replays everything from the stream.
    shutdown.cancel();
    let rebuilt = Recorder::default();
    let (shutdown, _) = start(&bus, &rebuilt);
    wait_until("the replay", PATIENCE, || async {
        (rebuilt.ids().len() == 4).then_some(())
    })
    .await;
    assert_eq!(rebuilt.ids(), ["a", "b", "d", "e"]);
    shutdown.cancel();
}

/// Acks are coalesced (one covers every batch before it), yet nothing
/// applied stays unacknowledged: once the stream is quiet, and again on
/// shutdown, the consumer's ack floor is the last applied event, so a
/// restarted projection takes up the same consumer instead of a new one.
#[tokio::test]
async fn applied_events_are_acknowledged_once_quiet_and_on_shutdown() {
    let nats = NatsServer::start().await;
    let bus = bus(&nats).await;
    let subject = bus.subjects().conversation("cv_1");
    let recorder = Recorder::default();
    let (shutdown, mut applied) = start(&bus, &recorder);
    for n in 1..=5u64 {
        bus.publish(subject.clone(), &event(&format!("e{n}"), "cv_1"))
            .await
            .unwrap();
        applied.wait_for(|seq| *seq >= n).await.unwrap();
    }
    let stream = bus
        .jetstream()
        .get_stream(bus.stream_name())
        .await
        .expect("the stream");
    let acked_through = |sequence: u64| {
        let stream = stream.clone();
        async move {
            let info = stream.consumer_info("recorder").await.ok()?;
            (info.ack_floor.stream_sequence == sequence && info.num_ack_pending == 0)
                .then_some(info.created)
        }
    };
    let created = wait_until("acked once quiet", PATIENCE, || acked_through(5)).await;

    bus.publish(subject.clone(), &event("e6", "cv_1"))
        .await
        .unwrap();
    applied.wait_for(|seq| *seq >= 6).await.unwrap();
    shutdown.cancel();
    wait_until("acked on shutdown", PATIENCE, || acked_through(6)).await;

    bus.publish(subject, &event("e7", "cv_1")).await.unwrap();
    let (shutdown, _) = start(&bus, &recorder);
    wait_until("the new event", PATIENCE, || async {
        recorder.ids().contains(&"e7".to_owned()).then_some(())
    })
    .await;
    let again = wait_until("acked after the restart", PATIENCE, || acked_through(7)).await;
    assert_eq!(again, created, "the same consumer, taken up where it was");
    assert_eq!(recorder.ids(), ["e1", "e2", "e3", "e4", "e5", "e6", "e7"]);
    shutdown.cancel();
}

#[tokio::test]
async fn workers_retry_park_and_carry_the_trace_context() {
    omnibus_telemetry::init_for_tests();
    let nats = NatsServer::start().await;
    let bus = bus(&nats).await;
    let seen = Arc::new(Mutex::new(Vec::<(String, i64, bool)>::new()));
    let record = seen.clone();
    let shutdown = CancellationToken::new();
    let config = WorkerConfig {
        durable: "test-worker".into(),
        filter_subject: bus.subjects().sends("test"),
        lanes: 4,
        ack_wait: Duration::from_secs(5),
        max_deliver: 3,
        exclusive: false,
    };
    tokio::spawn(run_worker(
        bus.clone(),
        config,
        move |delivery: Delivery| {
            let record = record.clone();
            async move {
                let id = delivery
                    .event
                    .as_ref()
                    .map(|e| e.id.clone())
                    .unwrap_or_default();
                let traced = delivery
                    .headers
                    .as_ref()
                    .is_some_and(|h| h.get("traceparent").is_some());
                record
                    .lock()
                    .unwrap()
                    .push((id.clone(), delivery.delivered, traced));
                match id.as_str() {
                    "flaky" if delivery.delivered < 2 => Err(WorkError::Retry {
                        delay: Duration::from_millis(50),
                        reason: "try again".into(),
                    }),
                    "never" => Err(WorkError::Reject("this command cannot work".into())),
                    _ => Ok(()),
                }
            }
        },
        shutdown.clone(),
    ));
    let span = tracing::info_span!("publisher");
    let _entered = span.enter();
    for id in ["ok", "flaky", "never"] {
        bus.publish(bus.subjects().send("test", id), &event(id, id))
            .await
            .unwrap();
    }
    drop(_entered);
    wait_until("the parked command", PATIENCE, || async {
        bus.last_event(&bus.subjects().dead_letters("test-worker"))
            .await
            .unwrap()
    })
    .await;
    wait_until("the flaky command's second delivery", PATIENCE, || async {
        seen.lock()
            .unwrap()
            .iter()
            .any(|(id, n, _)| id == "flaky" && *n == 2)
            .then_some(())
    })
    .await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.iter().filter(|(id, ..)| id == "ok").count(),
        1,
        "acked once, done"
    );
    assert_eq!(
        seen.iter().filter(|(id, ..)| id == "never").count(),
        1,
        "rejected, not retried"
    );
    assert!(
        seen.iter().all(|(.., traced)| *traced),
        "traceparent travels in headers"
    );
    shutdown.cancel();
}

/// The exclusive worker's `ack_wait`: longer than a lease takes to run out
/// (6 s), as in production, so the command a killed holder left is not back
/// yet when the new holder starts.
const LEFT_COMMAND_ACK_WAIT: Duration = Duration::from_secs(9);

/// The command ids an exclusive worker ran, in order; the replica named
/// `crashing` never finishes the command `stuck`.
fn exclusive_worker(
    bus: &Bus,
    replica: &'static str,
    ran: Arc<Mutex<Vec<(&'static str, String)>>>,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let config = WorkerConfig {
        durable: "ordered-sends".into(),
        filter_subject: bus.subjects().sends("test"),
        lanes: 2,
        ack_wait: LEFT_COMMAND_ACK_WAIT,
        max_deliver: 5,
        exclusive: true,
    };
    let handler = move |delivery: Delivery| {
        let ran = ran.clone();
        async move {
            let id = delivery.event.map(|e| e.id).unwrap_or_default();
            ran.lock().unwrap().push((replica, id.clone()));
            if replica == "crashing" && id == "stuck" {
                std::future::pending::<()>().await;
            }
            Ok(())
        }
    };
    tokio::spawn(run_worker(bus.clone(), config, handler, shutdown))
}

#[tokio::test]
async fn a_new_lease_holder_runs_what_a_killed_one_left_before_newer_commands() {
    let nats = NatsServer::start().await;
    let ran = Arc::new(Mutex::new(Vec::new()));
    let (first_bus, second_bus) = (bus(&nats).await, bus(&nats).await);
    let first_stop = CancellationToken::new();
    let first = exclusive_worker(&first_bus, "crashing", ran.clone(), first_stop.clone());
    let publish = |id: &'static str| {
        let bus = second_bus.clone();
        async move {
            let subject = bus.subjects().send("test", "conversation-1");
            bus.publish(subject, &event(id, "conversation-1"))
                .await
                .unwrap();
        }
    };
    publish("before").await;
    publish("stuck").await;
    let ran_by = |replica: &'static str, id: &'static str| {
        let ran = ran.clone();
        move || {
            let found = ran.lock().unwrap().contains(&(replica, id.to_owned()));
            std::future::ready(found.then_some(()))
        }
    };
    wait_until(
        "the first holder on `stuck`",
        PATIENCE,
        ran_by("crashing", "stuck"),
    )
    .await;
    // The lease bucket the holders share (open: the first holder made it).
    let leases = omnibus_bus::bucket::open(&second_bus, "leases", "the test's view", DEFAULT_TTL)
        .await
        .unwrap();
    let lease = "worker.ordered-sends";
    let killed_holder = leases.get(lease).await.unwrap().expect("the first holder");
    let second_stop = CancellationToken::new();
    exclusive_worker(&second_bus, "second", ran.clone(), second_stop.clone());

    // Killed: its lanes vanish without an ack or a Nak, its lease is no
    // longer renewed and runs out.
    first.abort();
    let _ = first.await;
    first_stop.cancel();
    drop(first_bus);
    // A newer command once the second holder has taken over (published
    // earlier, it could still reach the killed holder's connection and come
    // back with `stuck`, which would not test the order).
    wait_until(
        "the second holder's lease",
        DEFAULT_TTL + PATIENCE,
        || async {
            let holder = leases.get(lease).await.ok().flatten();
            holder.filter(|holder| *holder != killed_holder).map(|_| ())
        },
    )
    .await;
    publish("after").await;

    wait_until(
        "the second holder on `after`",
        LEFT_COMMAND_ACK_WAIT + PATIENCE,
        ran_by("second", "after"),
    )
    .await;
    let by_second: Vec<String> = ran
        .lock()
        .unwrap()
        .iter()
        .filter(|(replica, _)| *replica == "second")
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(
        by_second,
        ["stuck", "after"],
        "the left command first; every run: {:?}",
        ran.lock().unwrap()
    );
    second_stop.cancel();
}

#[tokio::test]
async fn media_buckets_hold_files_and_follow_a_changed_retention() {
    use omnibus_bus::{MediaBuckets, MediaFile, MediaRetention, Shelf};
    use tokio::io::AsyncReadExt as _;
    let nats = NatsServer::start().await;
    let bus = bus(&nats).await;
    let day = Duration::from_secs(24 * 3600);
    let first = MediaRetention {
        cache: Duration::from_secs(600),
        keep: 30 * day,
    };
    let buckets = MediaBuckets::open(&bus, first).await.expect("buckets");
    // Far above NATS's max_payload per message: the object store chunks it.
    let bytes: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let file = MediaFile {
        bytes: bytes.clone().into(),
        mime_type: "video/mp4".into(),
        file_name: "clip.mp4".into(),
    };
    buckets
        .put(Shelf::Keep, "msg_1/0", &file)
        .await
        .expect("put");
    assert!(!buckets.has(Shelf::Cache, "msg_1/0").await.unwrap());
    let mut stored = buckets
        .get(Shelf::Keep, "msg_1/0")
        .await
        .unwrap()
        .expect("kept");
    assert_eq!(
        (stored.size, stored.mime_type.as_str()),
        (bytes.len() as u64, "video/mp4")
    );
    assert_eq!(stored.file_name, "clip.mp4");
    let mut read = Vec::new();
    stored.object.read_to_end(&mut read).await.unwrap();
    assert_eq!(read, bytes);

    let longer = MediaRetention {
        keep: 365 * day,
        ..first
    };
    MediaBuckets::open(&bus, longer).await.expect("reopened");
    let js = bus.jetstream();
    let mut keep = js.get_stream("OBJ_OMNIBUS_MEDIA_KEEP").await.unwrap();
    assert_eq!(keep.info().await.unwrap().config.max_age, 365 * day);
    assert!(
        buckets.has(Shelf::Keep, "msg_1/0").await.unwrap(),
        "kept across"
    );
}

/// Records the size of each batch; the first one waits for `release`.
#[derive(Clone)]
struct BatchSizes {
    sizes: Arc<Mutex<Vec<usize>>>,
    release: Arc<tokio::sync::Semaphore>,
}

impl Projection for BatchSizes {
    fn name(&self) -> &str {
        "batch-sizes"
    }

    async fn applied_through(&mut self) -> Result<u64, ProjectionError> {
        Ok(0)
    }

    async fn apply(&mut self, batch: &[Delivery]) -> Result<Vec<Rejected>, ProjectionError> {
        let first = {
            let mut sizes = self.sizes.lock().unwrap();
            sizes.push(batch.len());
            sizes.len() == 1
        };
        if first {
            let _ = self.release.acquire().await.expect("open");
        }
        Ok(Vec::new())
    }
}

/// A projection catching up takes every message already in the client, up
/// to its batch size, in one batch: tokio's cooperative budget once cut
/// every batch to 127 events, so a rebuild committed every 127 events.
#[tokio::test]
async fn a_projection_catching_up_applies_what_has_arrived_in_one_batch() {
    const BACKLOG: usize = 1_000;
    let nats = NatsServer::start().await;
    let bus = bus(&nats).await;
    let subject = bus.subjects().conversation("cv_1");
    for n in 1..BACKLOG {
        bus.send(subject.clone(), &event(&format!("ev_{n}"), "cv_1"))
            .await
            .expect("send");
    }
    bus.publish(subject, &event("ev_last", "cv_1"))
        .await
        .expect("the backlog is stored");

    let projection = BatchSizes {
        sizes: Arc::default(),
        release: Arc::new(tokio::sync::Semaphore::new(0)),
    };
    let shutdown = CancellationToken::new();
    let (progress, mut applied) = watch::channel(0);
    let options = ProjectionOptions {
        filter_subject: bus.subjects().all(),
        batch_size: BACKLOG,
        shared: false,
        precedence: Precedence::Independent,
    };
    tokio::spawn(run_projection(
        bus.clone(),
        options,
        projection.clone(),
        progress,
        shutdown.clone(),
    ));
    // While the first batch is held, the server delivers the rest of the
    // one pull; its answer to this request comes after those messages on
    // the same connection, so they are all in the client then.
    let stream = bus
        .jetstream()
        .get_stream(bus.stream_name())
        .await
        .expect("the stream");
    wait_until("the whole backlog delivered", PATIENCE, || {
        let stream = stream.clone();
        async move {
            let info = stream.consumer_info("batch-sizes").await.ok()?;
            (info.num_ack_pending == BACKLOG).then_some(())
        }
    })
    .await;
    projection.release.add_permits(1);
    applied
        .wait_for(|seq| *seq >= BACKLOG as u64)
        .await
        .expect("applied");
    let sizes = projection.sizes.lock().unwrap().clone();
    assert_eq!(sizes.iter().sum::<usize>(), BACKLOG);
    assert!(
        sizes.len() <= 2,
        "the first batch, then all the others had delivered: {sizes:?}"
    );
    shutdown.cancel();
}
