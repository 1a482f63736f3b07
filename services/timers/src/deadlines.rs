//! The in-memory schedule of armed timers, ordered by due time.

use std::collections::{BTreeMap, HashMap};

use crate::timer::Timer;

/// A change the projection committed, for the firing loop to mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A timer was armed.
    Arm(Timer),
    /// A timer was cancelled, or its fired event came back on the stream.
    Disarm(String),
}

/// Armed timers by (due, id): the earliest is one lookup away, and a
/// cancellation finds its entry through `due_of`.
#[derive(Debug, Default)]
pub struct Deadlines {
    by_due: BTreeMap<(i64, String), Timer>,
    due_of: HashMap<String, i64>,
}

impl Deadlines {
    /// Applies a committed change.
    pub fn apply(&mut self, op: Op) {
        match op {
            Op::Arm(timer) => self.arm(timer),
            Op::Disarm(id) => self.disarm(&id),
        }
    }

    /// Arms `timer`, replacing an entry with the same id.
    pub fn arm(&mut self, timer: Timer) {
        if let Some(old) = self.due_of.insert(timer.event_id.clone(), timer.due_ms) {
            self.by_due.remove(&(old, timer.event_id.clone()));
        }
        self.by_due
            .insert((timer.due_ms, timer.event_id.clone()), timer);
    }

    /// Removes the timer `id` if armed.
    pub fn disarm(&mut self, id: &str) {
        if let Some(due) = self.due_of.remove(id) {
            self.by_due.remove(&(due, id.to_owned()));
        }
    }

    /// When the earliest timer falls due.
    pub fn next_due(&self) -> Option<i64> {
        self.by_due.keys().next().map(|(due, _)| *due)
    }

    /// Removes and returns up to `max` timers due at `now_ms`, earliest first.
    pub fn take_due(&mut self, now_ms: i64, max: usize) -> Vec<Timer> {
        let mut due = Vec::new();
        while due.len() < max {
            let Some(entry) = self.by_due.first_entry() else {
                break;
            };
            if entry.key().0 > now_ms {
                break;
            }
            let timer = entry.remove();
            self.due_of.remove(&timer.event_id);
            due.push(timer);
        }
        due
    }

    /// How many timers are armed.
    pub fn len(&self) -> usize {
        self.by_due.len()
    }

    /// True when nothing is armed.
    pub fn is_empty(&self) -> bool {
        self.by_due.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timer::TimerKind;
    use omnibus_proto::ChannelKind;

    fn timer(id: &str, due_ms: i64) -> Timer {
        Timer {
            event_id: id.into(),
            kind: TimerKind::Close,
            conversation_id: "cv".into(),
            channel_id: "ch".into(),
            channel_kind: ChannelKind::Telegram,
            provider_chat_id: "1".into(),
            text: String::new(),
            due_ms,
        }
    }

    #[test]
    fn earliest_first_and_cancellations_stick() {
        let mut deadlines = Deadlines::default();
        deadlines.apply(Op::Arm(timer("b", 20)));
        deadlines.apply(Op::Arm(timer("a", 10)));
        deadlines.apply(Op::Arm(timer("c", 30)));
        deadlines.apply(Op::Disarm("b".into()));
        assert_eq!(deadlines.next_due(), Some(10));
        let due: Vec<_> = deadlines
            .take_due(25, 10)
            .into_iter()
            .map(|t| t.event_id)
            .collect();
        assert_eq!(due, ["a"]);
        assert_eq!(deadlines.len(), 1);
        // Re-arming the same id moves it instead of doubling it.
        deadlines.arm(timer("c", 5));
        assert_eq!(deadlines.len(), 1);
        assert_eq!(deadlines.take_due(5, 10).len(), 1);
        assert!(deadlines.is_empty());
    }
}
