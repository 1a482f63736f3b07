//! Brief memory of negative answers (an unknown channel id, a proof that
//! did not verify after a fresh read), so a sender repeating them does not
//! cost a stream lookup each time. A channel snapshot forgets everything
//! about its channel, so `CreateChannel` / `UpdateChannel` still take
//! effect at once; a new proof (a changed secret) is never a cached one.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a negative answer is trusted.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(5);

/// Entries kept at most; beyond it the expired ones go, then all.
const MAX_ENTRIES: usize = 10_000;

/// Negative answers by channel id, and by channel id and proof fingerprint.
#[derive(Debug, Default)]
pub(crate) struct NegativeCache {
    unknown: HashMap<String, Instant>,
    refused: HashMap<(String, u64), Instant>,
}

impl NegativeCache {
    /// True when `id` was found missing less than [`NEGATIVE_TTL`] ago.
    pub fn is_unknown(&self, id: &str, now: Instant) -> bool {
        self.unknown.get(id).is_some_and(|at| fresh(*at, now))
    }

    /// `id` is not a channel of this messenger.
    pub fn note_unknown(&mut self, id: &str, now: Instant) {
        self.make_room(now);
        self.unknown.insert(id.to_owned(), now);
    }

    /// True when the proof `fingerprint` failed for `id` after a fresh
    /// read less than [`NEGATIVE_TTL`] ago.
    pub fn is_refused(&self, id: &str, fingerprint: u64, now: Instant) -> bool {
        self.refused
            .get(&(id.to_owned(), fingerprint))
            .is_some_and(|at| fresh(*at, now))
    }

    /// The proof `fingerprint` failed for `id` even after a fresh read.
    pub fn note_refused(&mut self, id: &str, fingerprint: u64, now: Instant) {
        self.make_room(now);
        self.refused.insert((id.to_owned(), fingerprint), now);
    }

    /// A snapshot of `id` arrived: nothing negative about it holds.
    pub fn forget(&mut self, id: &str) {
        self.unknown.remove(id);
        if !self.refused.is_empty() {
            self.refused.retain(|(channel, _), _| channel != id);
        }
    }

    fn make_room(&mut self, now: Instant) {
        if self.unknown.len() + self.refused.len() < MAX_ENTRIES {
            return;
        }
        self.unknown.retain(|_, at| fresh(*at, now));
        self.refused.retain(|_, at| fresh(*at, now));
        if self.unknown.len() + self.refused.len() >= MAX_ENTRIES {
            self.unknown.clear();
            self.refused.clear();
        }
    }
}

fn fresh(at: Instant, now: Instant) -> bool {
    now.saturating_duration_since(at) < NEGATIVE_TTL
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_answers_hold_briefly_and_a_snapshot_clears_them() {
        let mut cache = NegativeCache::default();
        let now = Instant::now();
        cache.note_unknown("ch_1", now);
        cache.note_refused("ch_2", 7, now);
        assert!(cache.is_unknown("ch_1", now + Duration::from_secs(1)));
        assert!(cache.is_refused("ch_2", 7, now + Duration::from_secs(1)));
        assert!(
            !cache.is_refused("ch_2", 8, now),
            "another proof is checked"
        );
        assert!(!cache.is_unknown("ch_1", now + NEGATIVE_TTL), "expired");
        assert!(!cache.is_refused("ch_2", 7, now + NEGATIVE_TTL), "expired");
        cache.forget("ch_1");
        cache.forget("ch_2");
        assert!(!cache.is_unknown("ch_1", now));
        assert!(!cache.is_refused("ch_2", 7, now));
    }

    #[test]
    fn the_cache_stays_bounded() {
        let mut cache = NegativeCache::default();
        let now = Instant::now();
        for i in 0..(MAX_ENTRIES * 2) {
            cache.note_unknown(&format!("ch_{i}"), now);
        }
        assert!(cache.unknown.len() <= MAX_ENTRIES);
    }
}
