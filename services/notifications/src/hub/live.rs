//! Targeted live fan-out: a committed notification goes only to the
//! streams that may want it.
//!
//! A support floor is many operators, each seeing the conversations
//! assigned to them, and a few supervisors seeing everything. A single ring
//! shared by every stream woke all of them for every notification (1,000
//! wake-ups each at 1,000 subscribers); here a notification addressed to an
//! operator wakes that operator's streams and the streams without an
//! operator filter, and only an unaddressed one wakes everybody.
//!
//! Every stream has its own bounded queue, fed in publish order under one
//! lock, so every stream sees notifications in the order they committed.
//! Publishing never waits: a stream whose queue is full is dropped from the
//! routes and finds out on its next receive ([`Missed::Lagged`]) instead of
//! slowing the others down; the table still has everything it missed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::model::StoredNotification;

/// Where live notifications go; cheap to clone.
#[derive(Clone)]
pub(crate) struct Fanout {
    routes: Arc<Mutex<Routes>>,
    /// Notifications a stream may have queued before it is cut off.
    capacity: usize,
}

/// The open streams, by the operator they are filtered to.
#[derive(Default)]
struct Routes {
    next_id: u64,
    /// Streams without an operator filter: they get every notification.
    everyone: Group,
    /// Streams filtered to one operator: that operator's notifications and
    /// the unaddressed ones.
    by_operator: HashMap<String, Group>,
}

type Group = HashMap<u64, Route>;

/// One stream's queue.
struct Route {
    tx: mpsc::Sender<Arc<StoredNotification>>,
    lagged: Arc<AtomicBool>,
}

impl Route {
    /// Queues `note`; false when the route is to be dropped (the stream is
    /// gone, or fell behind and was told so).
    fn offer(&self, note: &Arc<StoredNotification>) -> bool {
        match self.tx.try_send(note.clone()) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.lagged.store(true, Ordering::Release);
                false
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }
}

/// Offers `note` to every route of `group`, dropping those that refuse it.
fn feed(group: &mut Group, note: &Arc<StoredNotification>) {
    group.retain(|_, route| route.offer(note));
}

impl Fanout {
    /// A fan-out whose streams may fall `capacity` notifications behind.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            routes: Arc::default(),
            capacity: capacity.max(1),
        }
    }

    fn routes(&self) -> MutexGuard<'_, Routes> {
        self.routes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Announces `note` to the streams that may want it.
    pub(crate) fn publish(&self, note: StoredNotification) {
        let note = Arc::new(note);
        let mut routes = self.routes();
        let Routes {
            everyone,
            by_operator,
            ..
        } = &mut *routes;
        feed(everyone, &note);
        if note.operator_id.is_empty() {
            by_operator.retain(|_, group| {
                feed(group, &note);
                !group.is_empty()
            });
        } else if let Some(group) = by_operator.get_mut(&note.operator_id) {
            feed(group, &note);
            if group.is_empty() {
                by_operator.remove(&note.operator_id);
            }
        }
    }

    /// A stream of what is published from now on for `operator_id` (every
    /// notification when empty).
    pub(crate) fn subscribe(&self, operator_id: &str) -> Live {
        let (tx, rx) = mpsc::channel(self.capacity);
        let lagged = Arc::new(AtomicBool::new(false));
        let route = Route {
            tx,
            lagged: lagged.clone(),
        };
        let mut routes = self.routes();
        let id = routes.next_id;
        routes.next_id += 1;
        let group = match operator_id {
            "" => &mut routes.everyone,
            operator => routes.by_operator.entry(operator.to_owned()).or_default(),
        };
        group.insert(id, route);
        drop(routes);
        Live {
            rx,
            lagged,
            route: (operator_id.to_owned(), id),
            fanout: self.clone(),
        }
    }

    /// Drops the route of a stream that ended.
    fn unroute(&self, operator_id: &str, id: u64) {
        let mut routes = self.routes();
        if operator_id.is_empty() {
            routes.everyone.remove(&id);
        } else if let Some(group) = routes.by_operator.get_mut(operator_id) {
            group.remove(&id);
            if group.is_empty() {
                routes.by_operator.remove(operator_id);
            }
        }
    }

    /// Open routes (streams being fed), for tests.
    #[cfg(test)]
    fn open(&self) -> usize {
        let routes = self.routes();
        routes.everyone.len() + routes.by_operator.values().map(HashMap::len).sum::<usize>()
    }
}

/// Why a live stream has nothing more to give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missed {
    /// It fell more than its capacity behind and is no longer fed; what it
    /// missed is in the table.
    Lagged,
    /// The hub is gone (shutdown).
    Closed,
}

/// One stream's live notifications; its route is dropped with it.
pub struct Live {
    rx: mpsc::Receiver<Arc<StoredNotification>>,
    lagged: Arc<AtomicBool>,
    route: (String, u64),
    fanout: Fanout,
}

impl Live {
    /// The next notification, or why there is none. Once it lagged, every
    /// call says so: what is still queued is skipped like the rest.
    pub async fn recv(&mut self) -> Result<Arc<StoredNotification>, Missed> {
        let next = self.rx.recv().await;
        if self.lagged.load(Ordering::Acquire) {
            return Err(Missed::Lagged);
        }
        next.ok_or(Missed::Closed)
    }

    /// The next queued notification without waiting, if any.
    pub fn try_recv(&mut self) -> Option<Arc<StoredNotification>> {
        self.rx.try_recv().ok()
    }

    /// How many notifications it may fall behind before it lags.
    pub fn capacity(&self) -> usize {
        self.fanout.capacity
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let (operator_id, id) = &self.route;
        self.fanout.unroute(operator_id, *id);
    }
}

#[cfg(test)]
mod tests {
    use omnibus_proto::NotificationKind;

    use super::*;

    fn note(ord: i64, operator_id: &str) -> StoredNotification {
        StoredNotification {
            ord,
            kind: NotificationKind::NewMessage,
            conversation_id: "cv_1".into(),
            channel_id: "ch_1".into(),
            message_id: format!("m{ord}"),
            text: String::new(),
            operator_id: operator_id.into(),
            created_at_ms: 1,
        }
    }

    fn drain(live: &mut Live) -> Vec<i64> {
        std::iter::from_fn(|| live.try_recv().map(|n| n.ord)).collect()
    }

    #[test]
    fn a_stream_gets_its_operators_and_unaddressed_notifications_in_order() {
        let fanout = Fanout::new(16);
        let mut ann = fanout.subscribe("op_ann");
        let mut bob = fanout.subscribe("op_bob");
        let mut supervisor = fanout.subscribe("");
        fanout.publish(note(1, "op_ann"));
        fanout.publish(note(2, "op_bob"));
        fanout.publish(note(3, ""));
        fanout.publish(note(4, "op_carol"));
        fanout.publish(note(5, "op_ann"));
        assert_eq!(drain(&mut ann), [1, 3, 5]);
        assert_eq!(drain(&mut bob), [2, 3]);
        assert_eq!(drain(&mut supervisor), [1, 2, 3, 4, 5]);
    }

    #[tokio::test]
    async fn a_stream_that_falls_behind_is_told_and_no_longer_fed() {
        let fanout = Fanout::new(2);
        let mut slow = fanout.subscribe("op_ann");
        let mut other = fanout.subscribe("op_ann");
        for ord in 1..=3 {
            fanout.publish(note(ord, "op_ann"));
            assert_eq!(other.recv().await.map(|n| n.ord), Ok(ord));
        }
        assert_eq!(slow.recv().await.map(|n| n.ord), Err(Missed::Lagged));
        assert_eq!(slow.recv().await.map(|n| n.ord), Err(Missed::Lagged));
        assert_eq!(fanout.open(), 1, "only the fast stream is fed");
        fanout.publish(note(4, ""));
        assert_eq!(other.recv().await.map(|n| n.ord), Ok(4));
    }

    #[test]
    fn a_closed_stream_is_no_longer_routed() {
        let fanout = Fanout::new(4);
        let ann = fanout.subscribe("op_ann");
        let supervisor = fanout.subscribe("");
        let mut bob = fanout.subscribe("op_bob");
        assert_eq!(fanout.open(), 3);
        drop(ann);
        drop(supervisor);
        assert_eq!(fanout.open(), 1);
        assert!(!fanout.routes().by_operator.contains_key("op_ann"));
        fanout.publish(note(1, ""));
        assert_eq!(drain(&mut bob), [1]);
    }
}
