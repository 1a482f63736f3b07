//! [`Hub`]: fans committed notifications out to live subscribers (only to
//! those that may want each, see [`live`]), and keeps operator presence
//! (derived from their open streams).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::model::StoredNotification;

pub mod live;

pub use live::{Live, Missed};

/// Live fan-out of new notifications; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    live: live::Fanout,
    presence: Arc<Mutex<HashMap<String, Presence>>>,
    /// Changes of an operator's shown presence, to be recorded as events.
    changes: mpsc::UnboundedSender<PresenceChange>,
    changes_out: Arc<Mutex<Option<mpsc::UnboundedReceiver<PresenceChange>>>>,
}

/// An operator's shown presence changed.
pub type PresenceChange = (String, omnibus_proto::Presence);

/// What the hub knows about one operator's connections.
#[derive(Debug, Clone, Copy, Default)]
pub struct Presence {
    /// Open `Subscribe` streams with this operator id.
    pub streams: usize,
    /// When the last one closed (unix ms); 0 while connected or never seen.
    pub left_at_ms: i64,
    /// What the operator chose to show while connected (AWAY, OFFLINE).
    pub chosen: Option<omnibus_proto::Presence>,
}

impl Presence {
    /// What routing sees: the choice while connected, AWAY once the last
    /// stream closed (OFFLINE follows by time, see `OperatorApi`).
    fn shown(&self) -> omnibus_proto::Presence {
        use omnibus_proto::Presence as Shown;
        if self.streams > 0 {
            self.chosen.unwrap_or(Shown::Online)
        } else if self.left_at_ms > 0 {
            Shown::Away
        } else {
            Shown::Offline
        }
    }
}

impl Hub {
    /// A hub whose subscribers may fall `capacity` notifications behind.
    pub fn new(capacity: usize) -> Self {
        let (changes, changes_out) = mpsc::unbounded_channel();
        Self {
            live: live::Fanout::new(capacity),
            presence: Arc::default(),
            changes,
            changes_out: Arc::new(Mutex::new(Some(changes_out))),
        }
    }

    /// The presence changes (once): whoever takes them records them.
    pub fn take_presence_changes(&self) -> Option<mpsc::UnboundedReceiver<PresenceChange>> {
        self.changes_out
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// Runs `change` on the operator's entry and reports a change of the
    /// presence it shows.
    fn update(&self, operator_id: &str, change: impl FnOnce(&mut Presence)) {
        let mut map = self.presence.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(operator_id.to_owned()).or_default();
        let before = entry.shown();
        change(entry);
        let after = entry.shown();
        drop(map);
        if before != after {
            let _ = self.changes.send((operator_id.to_owned(), after));
        }
    }

    /// Announces a committed notification to the live subscribers that
    /// may want it.
    pub fn publish(&self, note: StoredNotification) {
        self.live.publish(note);
    }

    /// A receiver of the notifications published from now on for
    /// `operator_id` (its own and the unaddressed ones; every one when empty).
    pub fn subscribe(&self, operator_id: &str) -> Live {
        self.live.subscribe(operator_id)
    }

    /// Marks `operator_id` online until the returned guard drops.
    pub fn connect(&self, operator_id: &str) -> PresenceGuard {
        self.update(operator_id, |entry| {
            entry.streams += 1;
            entry.left_at_ms = 0;
        });
        PresenceGuard {
            hub: self.clone(),
            operator_id: operator_id.to_owned(),
        }
    }

    /// Records the operator's own choice; ONLINE clears it.
    pub fn choose(&self, operator_id: &str, presence: omnibus_proto::Presence) {
        self.update(operator_id, |entry| {
            entry.chosen = (presence != omnibus_proto::Presence::Online).then_some(presence);
        });
    }

    /// Presence of every operator seen since start.
    pub fn presence(&self) -> HashMap<String, Presence> {
        self.presence
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Keeps an operator online while a stream is open.
pub struct PresenceGuard {
    hub: Hub,
    operator_id: String,
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        self.hub.update(&self.operator_id, |entry| {
            entry.streams = entry.streams.saturating_sub(1);
            if entry.streams == 0 {
                entry.left_at_ms = omnibus_core::now_ms();
            }
        });
    }
}
