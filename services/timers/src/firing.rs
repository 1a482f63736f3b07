//! The firing loop: sleeps until the earliest deadline, publishes the due
//! timers' events, and mirrors what the projection arms and disarms.
//!
//! It fires nothing until the projection has caught up with the stream as it
//! was at start: during a replay a timer is armed before the event that fired
//! it long ago comes by, and firing it then would repeat it after JetStream's
//! duplicate window. Overdue timers fire as soon as the catch-up is done.
//!
//! Before each firing it also lets the projection apply what the stream
//! holds at that moment (bounded by [`SETTLE_TIMEOUT`]): an operator's answer
//! or a customer's message stored just before a deadline then cancels or
//! moves it instead of racing it.

use std::sync::Arc;
use std::time::Duration;

use omnibus_bus::Bus;
use omnibus_core::Clock;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::deadlines::{Deadlines, Op};
use crate::timer::Timer;

/// Most timers published before their acknowledgements are awaited.
const FIRE_BATCH: usize = 256;
/// How long a timer whose publish failed waits before the next attempt.
const RETRY_MS: i64 = 1_000;
/// Longest wait for the projection before firing anyway (it may be stuck
/// on an unreachable database; late is better than never).
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(2);

/// Everything the loop owns.
pub struct FiringLoop {
    pub bus: Bus,
    pub clock: Arc<dyn Clock>,
    pub deadlines: Deadlines,
    pub ops: mpsc::UnboundedReceiver<Vec<Op>>,
    /// The projection's applied sequence.
    pub applied: watch::Receiver<u64>,
    /// The stream's last sequence at start: firing waits until it is applied.
    pub caught_up_at: u64,
    pub shutdown: CancellationToken,
}

impl FiringLoop {
    /// Runs until shutdown (or until the projection is gone).
    pub async fn run(mut self) {
        tracing::info!(
            armed = self.deadlines.len(),
            catch_up_to = self.caught_up_at,
            "timers firing loop started"
        );
        self.report_armed();
        loop {
            let ready = *self.applied.borrow() >= self.caught_up_at;
            let wait = self.deadlines.next_due().filter(|_| ready).map(|due| {
                Duration::from_millis(due.saturating_sub(self.clock.now_ms()).max(0) as u64)
            });
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                ops = self.ops.recv() => {
                    let Some(ops) = ops else { return };
                    self.mirror(ops);
                }
                changed = self.applied.changed(), if !ready => {
                    if changed.is_err() {
                        return;
                    }
                }
                () = sleep(wait) => {
                    self.settle().await;
                    self.fire_due().await;
                }
            }
        }
    }

    fn mirror(&mut self, ops: Vec<Op>) {
        for op in ops {
            self.deadlines.apply(op);
        }
        self.report_armed();
    }

    fn report_armed(&self) {
        let armed = i64::try_from(self.deadlines.len()).unwrap_or(i64::MAX);
        omnibus_metrics::armed_timers().set(armed);
    }

    /// Waits until the projection applied the stream as it is now, then
    /// mirrors the resulting changes, so nothing cancelled is fired.
    async fn settle(&mut self) {
        match self.bus.stream_end().await {
            Ok(end) => {
                let mut applied = self.applied.clone();
                let caught_up = applied.wait_for(|applied| *applied >= end);
                if tokio::time::timeout(SETTLE_TIMEOUT, caught_up)
                    .await
                    .is_err()
                {
                    tracing::warn!(end, "the timers projection lags; firing anyway");
                }
            }
            Err(err) => tracing::warn!(error = %err, "cannot read the stream's end; firing anyway"),
        }
        self.drain_ops();
    }

    /// Applies changes already committed.
    fn drain_ops(&mut self) {
        while let Ok(ops) = self.ops.try_recv() {
            self.mirror(ops);
        }
    }

    /// Publishes the due timers, pipelined, and re-arms those that failed.
    async fn fire_due(&mut self) {
        let now = self.clock.now_ms();
        let due = self.deadlines.take_due(now, FIRE_BATCH);
        let mut in_flight = Vec::with_capacity(due.len());
        for timer in due {
            let (subject, event) = timer.fired_event(self.bus.subjects(), now);
            match self.bus.send(subject, &event).await {
                Ok(ack) => in_flight.push((timer, ack)),
                Err(err) => self.retry(timer, &err.to_string()),
            }
        }
        for (timer, ack) in in_flight {
            match ack.await {
                Ok(ack) => fired(&timer, now, ack.duplicate),
                Err(err) => self.retry(timer, &err.to_string()),
            }
        }
    }

    fn retry(&mut self, timer: Timer, error: &str) {
        tracing::warn!(
            conversation_id = %timer.conversation_id,
            timer = %timer.event_id,
            error,
            "firing a timer failed; retrying"
        );
        let due_ms = self.clock.now_ms().saturating_add(RETRY_MS);
        self.deadlines.arm(Timer { due_ms, ..timer });
    }
}

fn fired(timer: &Timer, now: i64, duplicate: bool) {
    tracing::info!(
        conversation_id = %timer.conversation_id,
        channel_id = %timer.channel_id,
        timer = %timer.event_id,
        lateness_ms = now.saturating_sub(timer.due_ms),
        duplicate,
        "timer fired"
    );
}

async fn sleep(wait: Option<Duration>) {
    match wait {
        Some(wait) => tokio::time::sleep(wait).await,
        None => std::future::pending().await,
    }
}
